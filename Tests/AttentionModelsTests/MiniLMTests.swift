import Attention
import Foundation
import Testing

@testable import AttentionModels

/// all-MiniLM-L6-v2 against Hugging Face `tokenizers` and sentence-transformers, through the
/// fixtures `scripts/make_minilm_fixtures.py` wrote. Runs when the model folder exists
/// (`scripts/fetch-minilm.sh`; `$SWIFT_ATTENTION_MINILM` or the cache location), and is
/// reported as skipped otherwise.
/// Where the real model's files are, and whether they are there.
enum MiniLMFiles {
    static let directory = SentenceEmbedder.defaultDirectory
    static let present: Bool = {
        let present = SentenceEmbedder.isModelDirectory(directory)
        if !present { print("MiniLMTests skipped: \(note)") }
        return present
    }()
    static let note: Comment =
        "no all-MiniLM-L6-v2 files at \(directory) (run scripts/fetch-minilm.sh)"
}

@Suite(.enabled(if: MiniLMFiles.present, MiniLMFiles.note))
struct MiniLMTests {
    static let directory = MiniLMFiles.directory

    static func fixture(_ name: String) throws -> [String: Any] {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Fixtures/\(name)")
        return try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
    }

    /// Every tricky string gives exactly the ids of the fast Hugging Face tokenizer, without
    /// truncation and truncated at 256.
    @Test func tokenIdsMatchHuggingFace() throws {
        var tokenizer = try WordPieceTokenizer(directory: Self.directory)
        #expect(tokenizer.maxLength == 256)
        let cases = try Self.fixture("minilm_tokens.json")["cases"] as! [[String: Any]]
        #expect(cases.count >= 20)
        for c in cases {
            let text = c["text"] as! String
            tokenizer.maxLength = 256
            #expect(tokenizer.encode(text) == c["ids_256"] as! [Int], "\(text.debugDescription)")
            tokenizer.maxLength = nil
            #expect(tokenizer.encode(text) == c["ids"] as! [Int], "\(text.debugDescription)")
        }
    }

    /// Sentence embeddings equal sentence-transformers': cosine ≥ 0.99999 and every component
    /// within 1e-5.
    @Test func embeddingsMatchSentenceTransformers() throws {
        let model = try SentenceEmbedder(directory: Self.directory)
        let fixture = try Self.fixture("minilm_embeddings.json")
        let sentences = fixture["sentences"] as! [String]
        let expected = (fixture["embeddings"] as! [[Double]])
        #expect(sentences.count >= 10)
        #expect(sentences.map(model.tokenizer.encode) == fixture["ids"] as! [[Int]])
        let got = try model.embed(sentences, execution: ExecutionOptions(threads: 2))
        #expect(got.shape == [sentences.count, 384])
        for (s, want) in expected.enumerated() {
            let row = (0..<384).map { Double(got[s, $0]) }
            let dot = zip(row, want).reduce(0) { $0 + $1.0 * $1.1 }
            let norms =
                row.reduce(0) { $0 + $1 * $1 }.squareRoot()
                * want.reduce(0) { $0 + $1 * $1 }.squareRoot()
            let worst = zip(row, want).map { abs($0 - $1) }.max()!
            #expect(dot / norms >= 0.99999, "sentence \(s): cosine \(dot / norms)")
            #expect(worst <= 1e-5, "sentence \(s): max abs difference \(worst)")
        }
    }

    /// Every layer's hidden states equal transformers' (the first 8 components of every token
    /// of two sentences, after the embeddings and after each of the 6 blocks). Hidden states
    /// are O(1)–O(10) before pooling; float32 rounding in a different summation order gives
    /// ~1e-6 of them, the bound is 1e-4.
    @Test func hiddenStatesMatchTransformers() throws {
        let model = try SentenceEmbedder(directory: Self.directory)
        let fixture = try Self.fixture("minilm_embeddings.json")
        let sentences = fixture["sentences"] as! [String]
        let expected = fixture["hidden_states"] as! [[[[Double]]]]
        let ids = sentences.prefix(expected.count).map(model.tokenizer.encode)
        let output = try model.encoder(Array(ids), hiddenStates: true)
        #expect(output.hiddenStates.count == 7 && expected.allSatisfy { $0.count == 7 })
        var worst = 0.0
        for (s, layers) in expected.enumerated() {
            for (layer, tokens) in layers.enumerated() {
                let got = try output.sequence(s, of: output.hiddenStates[layer])
                #expect(got.shape[0] == tokens.count)
                for (t, want) in tokens.enumerated() {
                    for (d, w) in want.enumerated() {
                        worst = max(worst, abs(Double(got[t, d]) - w))
                    }
                }
            }
        }
        #expect(worst <= 1e-4, "hidden states differ from transformers' by \(worst)")
    }
}
