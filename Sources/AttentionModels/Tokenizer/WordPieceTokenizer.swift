import Attention
import Foundation

/// BERT's WordPiece tokenizer: text to token ids, as Hugging Face's `BertTokenizerFast`
/// encodes a single sequence.
///
/// ```
/// "Héllo, worldwide!" → words (BasicTokenizer)    hello , worldwide !
///                     → sub-words (greedy, ##)     hello , world ##wide !
///                     → [CLS] … [SEP], truncated   [101, 7592, 1010, 2088, 22517, 999, 102]
/// ```
///
/// Each word is split greedily from the left into the longest vocabulary entries, pieces
/// after the first spelled with the `##` prefix; a word with a part no entry matches, or
/// longer than ``maxCharactersPerWord`` characters (Unicode scalars), becomes `[UNK]` as a
/// whole. With ``maxLength`` set, the word pieces are cut so that the sequence with `[CLS]`
/// and `[SEP]` has at most `maxLength` tokens.
public struct WordPieceTokenizer: Sendable {
    /// Token ids by token text.
    public let vocabulary: [String: Int]
    /// Token text by id.
    public let tokens: [String]
    /// Normalisation and word splitting.
    public var basic: BasicTokenizer
    /// The longest sequence ``encode(_:)`` returns, special tokens included (`nil`: no limit).
    public var maxLength: Int?
    /// Longer words become `[UNK]`.
    public var maxCharactersPerWord = 100
    public let unknownID: Int, classifierID: Int, separatorID: Int, paddingID: Int

    /// A tokenizer over `tokens` (line `i` of `vocab.txt` is token `i`).
    /// - Throws: ``AttentionError`` naming `vocabulary` when `[UNK]`, `[CLS]`, `[SEP]` or
    ///   `[PAD]` is missing, or `maxLength` when it is below 2.
    public init(tokens: [String], basic: BasicTokenizer = BasicTokenizer(), maxLength: Int? = nil)
        throws
    {
        var vocabulary: [String: Int] = [:]
        vocabulary.reserveCapacity(tokens.count)
        // The first occurrence wins, as in `tokenizers`' vocab loading.
        for (id, token) in tokens.enumerated() where vocabulary[token] == nil {
            vocabulary[token] = id
        }
        func id(_ token: String) throws -> Int {
            guard let id = vocabulary[token] else {
                throw AttentionError(
                    .invalidArgument, argument: "vocabulary", "has no \(token) token")
            }
            return id
        }
        if let maxLength, maxLength < 2 {
            throw AttentionError(
                .invalidArgument, argument: "maxLength",
                "expected ≥ 2 (room for [CLS] and [SEP]), got \(maxLength)")
        }
        self.vocabulary = vocabulary
        self.tokens = tokens
        self.basic = basic
        self.maxLength = maxLength
        unknownID = try id("[UNK]")
        classifierID = try id("[CLS]")
        separatorID = try id("[SEP]")
        paddingID = try id("[PAD]")
    }

    /// The tokenizer of a Hugging Face model folder: `vocab.txt`, the options of
    /// `tokenizer_config.json` (`do_lower_case`, `strip_accents`, `tokenize_chinese_chars`,
    /// `model_max_length`) and, when present, sentence-transformers' `max_seq_length` from
    /// `sentence_bert_config.json` (which wins over `model_max_length`, as it does there).
    /// - Throws: ``AttentionError`` (`.invalidFile`) naming the file that is missing or invalid.
    public init(directory: String) throws {
        let folder = URL(fileURLWithPath: directory)
        let vocabPath = folder.appendingPathComponent("vocab.txt").path
        let text = try ModelFiles.readText(vocabPath)
        var lines = text.components(separatedBy: "\n")
        if lines.last == "" { lines.removeLast() }
        lines = lines.map { $0.hasSuffix("\r") ? String($0.dropLast()) : $0 }
        let config =
            try ModelFiles.readJSONObject(
                folder.appendingPathComponent("tokenizer_config.json").path, optional: true) ?? [:]
        let lowercase = config["do_lower_case"] as? Bool ?? true
        let basic = BasicTokenizer(
            lowercase: lowercase, stripAccents: config["strip_accents"] as? Bool,
            tokenizeChineseCharacters: config["tokenize_chinese_chars"] as? Bool ?? true)
        // `model_max_length` is a huge sentinel (1e30) when a model sets no limit.
        var maxLength = try ModelFiles.lengthLimit(
            config["model_max_length"], key: "model_max_length",
            path: folder.appendingPathComponent("tokenizer_config.json").path)
        let sentencePath = folder.appendingPathComponent("sentence_bert_config.json").path
        if let sentence = try ModelFiles.readJSONObject(sentencePath, optional: true),
            let length = try ModelFiles.lengthLimit(
                sentence["max_seq_length"], key: "max_seq_length", path: sentencePath)
        {
            maxLength = length
        }
        do {
            try self.init(tokens: lines, basic: basic, maxLength: maxLength)
        } catch let error as AttentionError {
            throw AttentionError(.invalidFile, argument: vocabPath, error.message)
        }
    }

    /// The sub-word pieces of `text` (no special tokens, no truncation).
    public func pieces(_ text: String) -> [Int] {
        var ids: [Int] = []
        for word in basic.words(text) { appendPieces(of: word, to: &ids) }
        return ids
    }

    /// The first pieces of `text`, at least `limit` of them when there are that many (then
    /// maybe a few more). The text goes through in chunks of about 4096 Unicode scalars that
    /// end at a space (U+0020, a word boundary under every normalisation step, so the pieces
    /// are those of ``pieces(_:)``), and tokenizing stops once `limit` pieces are there: a
    /// 100 MB line costs what its first words cost.
    func pieces(_ text: String, limit: Int) -> [Int] {
        var ids: [Int] = []
        var chunk = String.UnicodeScalarView()
        var length = 0
        for scalar in text.unicodeScalars {
            chunk.append(scalar)
            length += 1
            if length >= 4096 && scalar == " " {
                for word in basic.words(String(chunk)) { appendPieces(of: word, to: &ids) }
                if ids.count >= limit { return ids }
                chunk = String.UnicodeScalarView()
                length = 0
            }
        }
        for word in basic.words(String(chunk)) { appendPieces(of: word, to: &ids) }
        return ids
    }

    /// `[CLS]`, the pieces of `text` (cut to fit ``maxLength``), `[SEP]`.
    public func encode(_ text: String) -> [Int] {
        var body = maxLength.map { pieces(text, limit: $0 - 2) } ?? pieces(text)
        if let maxLength, body.count > maxLength - 2 { body.removeSubrange((maxLength - 2)...) }
        return [classifierID] + body + [separatorID]
    }

    /// The text of each id (`"[UNK]"` style names for special tokens); ids outside the
    /// vocabulary print as `"<id>"`.
    public func tokenTexts(_ ids: [Int]) -> [String] {
        ids.map { tokens.indices.contains($0) ? tokens[$0] : "<\($0)>" }
    }

    /// Greedy longest-match-first split of one word.
    private func appendPieces(of word: String, to ids: inout [Int]) {
        let scalars = Array(word.unicodeScalars)
        if scalars.count > maxCharactersPerWord {
            ids.append(unknownID)
            return
        }
        var found: [Int] = []
        var start = 0
        while start < scalars.count {
            var end = scalars.count
            var match: Int?
            while end > start {
                var piece = start > 0 ? "##" : ""
                piece.unicodeScalars.append(contentsOf: scalars[start..<end])
                if let id = vocabulary[piece] {
                    match = id
                    break
                }
                end -= 1
            }
            guard let match else {
                ids.append(unknownID)
                return
            }
            found.append(match)
            start = end
        }
        ids += found
    }
}
