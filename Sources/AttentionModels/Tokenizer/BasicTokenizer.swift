import Foundation

/// BERT's text normalisation and pre-tokenisation, as Hugging Face `tokenizers` runs them
/// (`BertNormalizer` then `BertPreTokenizer`):
///
/// 1. clean: drop U+0000, U+FFFD and control characters (Unicode categories Cc, Cf, Cs, Co,
///    Cn, except tab, newline and carriage return); turn every white space into a space;
/// 2. CJK: put spaces around every CJK ideograph, so each becomes a word;
/// 3. strip accents (when enabled): canonical decomposition (NFD), then drop nonspacing marks
///    (category Mn);
/// 4. lower-case (when enabled), scalar by scalar (Unicode's full lower-case mapping);
/// 5. split on white space, and split off every punctuation character (ASCII punctuation or
///    Unicode categories Pc, Pd, Pe, Pf, Pi, Po, Ps) as a word of its own.
///
/// `strip_accents: null` in `tokenizer_config.json` means "as `lowercase`", as in BERT.
public struct BasicTokenizer: Sendable, Hashable {
    /// Lower-case the text (uncased models).
    public var lowercase: Bool
    /// Remove accents (NFD, then drop nonspacing marks).
    public var stripAccents: Bool
    /// Surround CJK ideographs with spaces.
    public var tokenizeChineseCharacters: Bool

    public init(
        lowercase: Bool = true, stripAccents: Bool? = nil, tokenizeChineseCharacters: Bool = true
    ) {
        self.lowercase = lowercase
        self.stripAccents = stripAccents ?? lowercase
        self.tokenizeChineseCharacters = tokenizeChineseCharacters
    }

    /// The words of `text`, normalised.
    public func words(_ text: String) -> [String] {
        var cleaned = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            if scalar.value == 0 || scalar.value == 0xFFFD || Self.isControl(scalar) { continue }
            if Self.isWhitespace(scalar) {
                cleaned.append(" ")
            } else if tokenizeChineseCharacters && Self.isCJK(scalar) {
                cleaned.append(" ")
                cleaned.append(scalar)
                cleaned.append(" ")
            } else {
                cleaned.append(scalar)
            }
        }
        var scalars = Array(cleaned)
        if stripAccents {
            scalars = String(String.UnicodeScalarView(scalars)).decomposedStringWithCanonicalMapping
                .unicodeScalars.filter { $0.properties.generalCategory != .nonspacingMark }
        }
        if lowercase {
            scalars = scalars.flatMap { $0.properties.lowercaseMapping.unicodeScalars }
        }
        var words: [String] = []
        var current = String.UnicodeScalarView()
        func flush() {
            if !current.isEmpty { words.append(String(current)) }
            current = String.UnicodeScalarView()
        }
        for scalar in scalars {
            if Self.isWhitespace(scalar) {
                flush()
            } else if Self.isPunctuation(scalar) {
                flush()
                words.append(String(scalar))
            } else {
                current.append(scalar)
            }
        }
        flush()
        return words
    }

    /// White space: tab, newline, carriage return or the Unicode `White_Space` property.
    static func isWhitespace(_ c: Unicode.Scalar) -> Bool { c.properties.isWhitespace }

    /// Control characters the cleaning pass drops: "other" categories except `\t\n\r`.
    static func isControl(_ c: Unicode.Scalar) -> Bool {
        if c == "\t" || c == "\n" || c == "\r" { return false }
        switch c.properties.generalCategory {
        case .control, .format, .surrogate, .privateUse, .unassigned: return true
        default: return false
        }
    }

    /// ASCII punctuation (including `$+<=>^`|~`) or a Unicode punctuation category.
    static func isPunctuation(_ c: Unicode.Scalar) -> Bool {
        let v = c.value
        if (33...47).contains(v) || (58...64).contains(v) || (91...96).contains(v)
            || (123...126).contains(v)
        {
            return true
        }
        switch c.properties.generalCategory {
        case .connectorPunctuation, .dashPunctuation, .closePunctuation, .finalPunctuation,
            .initialPunctuation, .otherPunctuation, .openPunctuation:
            return true
        default: return false
        }
    }

    /// The CJK Unified Ideographs blocks BERT treats as words of their own.
    static func isCJK(_ c: Unicode.Scalar) -> Bool {
        switch c.value {
        case 0x4E00...0x9FFF, 0x3400...0x4DBF, 0x20000...0x2A6DF, 0x2A700...0x2B73F,
            0x2B740...0x2B81F, 0x2B920...0x2CEAF, 0xF900...0xFAFF, 0x2F800...0x2FA1F:
            return true
        default: return false
        }
    }
}
