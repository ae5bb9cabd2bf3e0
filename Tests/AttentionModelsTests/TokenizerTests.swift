import Attention
import Testing

@testable import AttentionModels

/// The WordPiece tokenizer's rules on a small vocabulary (always runs); the real vocabulary
/// is checked against Hugging Face in `MiniLMTests`.
@Suite struct TokenizerTests {
    let tokenizer = try! WordPieceTokenizer(tokens: TinyBERT.vocabulary)

    func texts(_ text: String) -> [String] {
        tokenizer.tokenTexts(tokenizer.encode(text))
    }

    @Test func normalisation() {
        let basic = BasicTokenizer()
        #expect(basic.words("Héllo,  WORLD!!") == ["hello", ",", "world", "!", "!"])
        #expect(basic.words("Ångström naïve") == ["angstrom", "naive"])
        #expect(basic.words("a\tb\nc\u{00A0}d") == ["a", "b", "c", "d"])
        // Controls and format characters vanish (they do not split words).
        #expect(basic.words("ab\u{0007}c\u{200B}d\u{0000}e\u{FFFD}f") == ["abcdef"])
        #expect(basic.words("中文abc") == ["中", "文", "abc"])
        #expect(basic.words("$5+3=8 a_b") == ["$", "5", "+", "3", "=", "8", "a", "_", "b"])
        #expect(basic.words("") == [] && basic.words("   ") == [])
        let cased = BasicTokenizer(lowercase: false)
        #expect(cased.words("Héllo") == ["Héllo"])
        let stripOnly = BasicTokenizer(lowercase: false, stripAccents: true)
        #expect(stripOnly.words("Héllo") == ["Hello"])
    }

    @Test func greedyLongestMatch() {
        #expect(texts("The cats sat!") == ["[CLS]", "the", "cat", "##s", "sat", "!", "[SEP]"])
        #expect(texts("unbelievable") == ["[CLS]", "un", "##believ", "##able", "[SEP]"])
        // Greedy, not best: "ably" is "##a" "##b" "##ly", though "##able" exists.
        #expect(
            texts("unbelievably") == ["[CLS]", "un", "##believ", "##a", "##b", "##ly", "[SEP]"])
        // One unmatched part makes the whole word unknown.
        #expect(texts("catz dog") == ["[CLS]", "[UNK]", "dog", "[SEP]"])
        #expect(texts("Café") == ["[CLS]", "cafe", "[SEP]"])
        #expect(texts("") == ["[CLS]", "[SEP]"])
        #expect(texts("bab") == ["[CLS]", "b", "##a", "##b", "[SEP]"])
    }

    @Test func longWordsBecomeUnknown() {
        let hundred = "b" + String(repeating: "b", count: 99).map { _ in "b" }.joined()
        #expect(hundred.count == 100)
        // "##b" matches every b after the first, so 100 characters split into 100 pieces …
        #expect(tokenizer.pieces(hundred).count == 100)
        // … and 101 characters are one [UNK].
        #expect(texts(hundred + "b") == ["[CLS]", "[UNK]", "[SEP]"])
    }

    @Test func truncation() throws {
        var t = tokenizer
        t.maxLength = 5
        #expect(
            t.tokenTexts(t.encode("the cat sat on the mat")) == [
                "[CLS]", "the", "cat", "sat", "[SEP]",
            ])
        t.maxLength = 2
        #expect(t.encode("the cat") == [t.classifierID, t.separatorID])
        #expect(throws: AttentionError.self) { try WordPieceTokenizer(tokens: ["a"]) }
        #expect(throws: AttentionError.self) {
            try WordPieceTokenizer(tokens: TinyBERT.vocabulary, maxLength: 1)
        }
    }
}
