import Testing
@testable import Attention

/// The `--mask` string syntax: every structured mask round-trips, malformed strings throw.
@Suite struct MaskParsingTests {
    func sameMask(_ a: AttentionMask, _ b: AttentionMask, queries: Int = 40, keys: Int = 40) -> Bool
    {
        MaskFixtures.truth(a, queries, keys) == MaskFixtures.truth(b, queries, keys)
    }

    @Test func everyStructuredKindRoundTrips() throws {
        let masks =
            MaskFixtures.structured(queries: 40, keys: 40)
            + MaskFixtures.combinations(queries: 40, keys: 40, count: 20, seed: 1).filter {
                !$0.description.contains("dense")
            }
        for mask in masks {
            let text = mask.description
            let parsed = try AttentionMask(parsing: text)
            #expect(parsed.description == text)
            #expect(sameMask(parsed, mask), "\(text)")
        }
    }

    @Test func documentedForms() throws {
        let cases: [(String, AttentionMask)] = [
            ("none", .none),
            ("causal", .causal),
            ("causal-bottom-right", .causalFromBottomRight),
            ("window:16", .slidingWindow(left: 8, right: 8)),
            ("window:3,0", .slidingWindow(left: 3, right: 0)),
            ("window-bottom-right:16", .slidingWindowFromBottomRight(left: 8, right: 8)),
            ("window-bottom-right:3,0", .slidingWindowFromBottomRight(left: 3, right: 0)),
            ("strided:8", .strided(stride: 8)),
            ("sparse-strided:4", .sparseTransformerStrided(stride: 4)),
            ("sparse-fixed:block=8,summary=2", .sparseTransformerFixed(blockSize: 8, summary: 2)),
            (
                "bigbird:window=16,global=2,random=3,seed=0",
                .bigBird(window: 16, globalTokens: 2, randomPerRow: 3, seed: 0)
            ),
            (
                "bigbird:window=16,global=2,random=3",
                .bigBird(window: 16, globalTokens: 2, randomPerRow: 3, seed: 0)
            ),
            ("bigbird-blocks:block=64,window=3,global=2,random=3,seed=0", .bigBirdBlocks(seed: 0)),
            ("bigbird-blocks:block=8,seed=5", .bigBirdBlocks(blockSize: 8, seed: 5)),
            ("bigbird-blocks:", .bigBirdBlocks(seed: 0)),
            ("longformer:window=8,global=2", .longformer(window: 8, globalTokens: 2)),
            ("longformer:window=8,global=[3,17]", .longformer(window: 8, globalTokens: [3, 17])),
            ("longformer:window=8", .longformer(window: 8, globalTokens: 0)),
            ("dilated:window=4,dilation=2", .dilatedWindow(window: 4, dilation: 2)),
            ("blocks:30,10", .blockDiagonal(lengths: [30, 10])),
            ("prefix:5", .prefixLM(prefixLength: 5)),
            ("causal+window:128,0", .and(.causal, .slidingWindow(left: 128, right: 0))),
            (" causal + blocks:20,20 ", .and(.causal, .blockDiagonal(lengths: [20, 20]))),
            (
                "prefix:4|strided:5+causal",
                .or(.prefixLM(prefixLength: 4), .and(.strided(stride: 5), .causal))
            ),
            (
                "(prefix:4|strided:5)+causal",
                .and(.or(.prefixLM(prefixLength: 4), .strided(stride: 5)), .causal)
            ),
        ]
        for (text, expected) in cases {
            let parsed = try AttentionMask(parsing: text)
            #expect(parsed.description == expected.description, "\(text)")
            #expect(sameMask(parsed, expected), "\(text)")
        }
        #expect(
            AttentionMask.and(.or(.causal, .none), .strided(stride: 2)).description
                == "(causal|none)+strided:2")
        #expect(
            AttentionMask.longformer(window: 8, globalTokens: [17, 3]).description
                == "longformer:window=8,global=[3,17]")
    }

    @Test(arguments: [
        "", "  ", "causal+", "+causal", "causal|", "(causal", "causal)", "()", "casual", "Causal",
        "causal:1", "none:", "window:", "window:a", "window:1,2,3", "window:-2,3", "window:4,",
        "window-bottom-right:", "window-bottom-right:-1,0", "window-bottom-right:1,2,3",
        "strided:0", "strided:", "strided:2.5", "sparse-strided:-1",
        "sparse-fixed:block=4", "sparse-fixed:block=4,summary=5", "sparse-fixed:4,1",
        "bigbird:window=16", "bigbird:window=16,global=2,random=3,seed=-1",
        "bigbird:window=16,global=2,random=3,foo=1", "bigbird:window=16,window=3,global=2,random=3",
        "bigbird:window=16,global=2,random=x", "bigbird-blocks:window=2", "bigbird-blocks:block=0",
        "longformer:global=2", "longformer:window=8,global=[1,x]", "longformer:window=8,global=-1",
        "longformer:window=8,global=[-1]", "dilated:window=4,dilation=0", "dilated:window=4",
        "blocks:", "blocks:3,-1", "blocks:3,,4", "prefix:-1", "prefix:1,2", "causal++window:3",
    ])
    func malformedStringsThrow(_ text: String) {
        do {
            let mask = try AttentionMask(parsing: text)
            Issue.record("\"\(text)\" parsed as \(mask)")
        } catch let error as AttentionError {
            #expect(error.argument == "--mask")
            #expect(error.description.hasPrefix("--mask: "))
            #expect(error.message.contains("expected \(AttentionMask.syntax)"))
        } catch {
            Issue.record("\"\(text)\" threw \(error)")
        }
    }

    @Test func validationNamesTheMaskAndTheProblem() {
        func message(_ mask: AttentionMask, _ q: Int, _ k: Int) -> String? {
            do {
                try mask.validate(batch: 1, heads: 1, queries: q, keys: k)
                return nil
            } catch let error as AttentionError {
                #expect(error.argument == "mask")
                return error.message
            } catch { return "\(error)" }
        }
        #expect(message(.blockDiagonal(lengths: [100, 28]), 128, 128) == nil)
        #expect(message(.blockDiagonal(lengths: [100, 20]), 128, 128)?.contains("sum") == true)
        #expect(
            message(.blockDiagonal(lengths: [100, 28]), 128, 100)?.contains("queries == keys")
                == true)
        #expect(message(.and(.causal, .blockDiagonal(lengths: [1])), 2, 2) != nil)
        #expect(message(.longformer(window: 4, globalTokens: [70]), 64, 64)?.contains("70") == true)
        #expect(message(.longformer(window: 4, globalTokens: [70]), 64, 80) == nil)
        #expect(message(.prefixLM(prefixLength: 65), 64, 64) != nil)
        #expect(message(.strided(stride: 0), 8, 8)?.contains("stride") == true)
        #expect(message(.bigBirdBlocks(windowBlocks: 2, seed: 0), 8, 8)?.contains("odd") == true)
        #expect(message(.sparseTransformerFixed(blockSize: 4, summary: 5), 8, 8) != nil)
        #expect(message(.or(.none, .dilatedWindow(window: 3, dilation: 0)), 8, 8) != nil)
        for mask in MaskFixtures.structured(queries: 64, keys: 64) {
            #expect(message(mask, 64, 64) == nil, "\(mask)")
        }
    }
}
