/// A strict, pull-style JSON (RFC 8259) reader for safetensors headers.
///
/// It never builds a generic tree: the caller asks for the shape it expects (an object's keys,
/// an array's elements, a string, a number) and skips everything else with ``skipValue()``,
/// so memory use stays proportional to what the caller keeps, and nesting is limited to
/// ``maxDepth`` so hostile input cannot exhaust the stack. The input must already be valid
/// UTF-8 (see ``firstInvalidUTF8Offset(in:)``). Every failure throws an ``AttentionError`` of
/// kind `.invalidFile` naming `source` and the header byte offset.
struct SafetensorsJSONParser {
    /// Deepest nesting accepted by ``skipValue()``.
    static let maxDepth = 128

    let bytes: [UInt8]
    let source: String
    private(set) var position = 0

    init(bytes: [UInt8], source: String) {
        self.bytes = bytes
        self.source = source
    }

    // MARK: Errors

    /// A syntax error at the current position.
    func syntaxError(_ message: String) -> AttentionError {
        AttentionError(
            .invalidFile, argument: source,
            "header is not valid JSON: \(message) at byte \(position) of the header")
    }

    /// What the next value looks like, for "expected X, got Y" messages.
    mutating func describeNextValue() -> String {
        skipWhitespace()
        guard let byte = peek() else { return "the end of the header" }
        switch byte {
        case UInt8(ascii: "{"): return "an object"
        case UInt8(ascii: "["): return "an array"
        case UInt8(ascii: "\""): return "a string"
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return "a number"
        case UInt8(ascii: "t"), UInt8(ascii: "f"): return "a boolean"
        case UInt8(ascii: "n"): return "null"
        default: return "invalid JSON"
        }
    }

    // MARK: Scanning

    func peek() -> UInt8? { position < bytes.count ? bytes[position] : nil }

    mutating func skipWhitespace() {
        while position < bytes.count {
            switch bytes[position] {
            case 0x20, 0x09, 0x0A, 0x0D: position += 1
            default: return
            }
        }
    }

    /// Skips whitespace and reports whether the next byte is `byte` (without consuming it).
    mutating func nextIs(_ byte: UInt8) -> Bool {
        skipWhitespace()
        return peek() == byte
    }

    mutating func expect(_ byte: UInt8) throws {
        skipWhitespace()
        guard peek() == byte else {
            let got = peek().map { Self.describe(byte: $0) } ?? "the end of the header"
            throw syntaxError("expected '\(Character(Unicode.Scalar(byte)))', got \(got)")
        }
        position += 1
    }

    /// Requires that only whitespace remains.
    mutating func expectEnd() throws {
        skipWhitespace()
        if let byte = peek() {
            throw syntaxError("unexpected \(Self.describe(byte: byte)) after the top-level value")
        }
    }

    private static func describe(byte: UInt8) -> String {
        if byte >= 0x21 && byte < 0x7F { return "'\(Character(Unicode.Scalar(byte)))'" }
        return "byte 0x" + String(byte, radix: 16, uppercase: true)
    }

    // MARK: Containers

    /// Consumes `{`. Follow with ``nextKey(isFirst:)`` until it returns `nil`.
    mutating func openObject() throws { try expect(UInt8(ascii: "{")) }

    /// Returns the next key of the current object (consuming it and its `:`), or `nil` after
    /// consuming the closing `}`. Start with `isFirst = true`.
    mutating func nextKey(isFirst: inout Bool) throws -> String? {
        skipWhitespace()
        if peek() == UInt8(ascii: "}") && isFirst {
            position += 1
            return nil
        }
        if !isFirst {
            skipWhitespace()
            if peek() == UInt8(ascii: "}") {
                position += 1
                return nil
            }
            guard peek() == UInt8(ascii: ",") else {
                throw syntaxError("expected ',' or '}' in object")
            }
            position += 1
            skipWhitespace()
        }
        isFirst = false
        guard peek() == UInt8(ascii: "\"") else { throw syntaxError("expected a string key") }
        let key = try parseString()
        try expect(UInt8(ascii: ":"))
        return key
    }

    /// Consumes `[`. Follow with ``nextElement(isFirst:)`` until it returns `false`.
    mutating func openArray() throws { try expect(UInt8(ascii: "[")) }

    /// Returns `true` if another element follows (consuming the `,` before it), or `false`
    /// after consuming the closing `]`. Start with `isFirst = true`.
    mutating func nextElement(isFirst: inout Bool) throws -> Bool {
        skipWhitespace()
        if peek() == UInt8(ascii: "]") {
            position += 1
            return false
        }
        if !isFirst {
            guard peek() == UInt8(ascii: ",") else {
                throw syntaxError("expected ',' or ']' in array")
            }
            position += 1
            skipWhitespace()
            if peek() == UInt8(ascii: "]") { throw syntaxError("expected a value after ','") }
        }
        isFirst = false
        return true
    }

    // MARK: Scalars

    /// Parses a string value, resolving escapes.
    mutating func parseString() throws -> String {
        try expect(UInt8(ascii: "\""))
        let start = position
        // Fast path: no escapes.
        while position < bytes.count {
            let byte = bytes[position]
            if byte == UInt8(ascii: "\"") {
                position += 1
                return String(decoding: bytes[start..<(position - 1)], as: UTF8.self)
            }
            if byte == UInt8(ascii: "\\") { break }
            if byte < 0x20 { throw syntaxError("unescaped control character in string") }
            position += 1
        }
        var utf8 = Array(bytes[start..<position])
        while position < bytes.count {
            let byte = bytes[position]
            if byte == UInt8(ascii: "\"") {
                position += 1
                return String(decoding: utf8, as: UTF8.self)
            }
            if byte < 0x20 { throw syntaxError("unescaped control character in string") }
            position += 1
            if byte != UInt8(ascii: "\\") {
                utf8.append(byte)
                continue
            }
            guard position < bytes.count else { break }
            let escape = bytes[position]
            position += 1
            switch escape {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): utf8.append(escape)
            case UInt8(ascii: "b"): utf8.append(0x08)
            case UInt8(ascii: "f"): utf8.append(0x0C)
            case UInt8(ascii: "n"): utf8.append(0x0A)
            case UInt8(ascii: "r"): utf8.append(0x0D)
            case UInt8(ascii: "t"): utf8.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = try parseHex4()
                if (0xD800...0xDBFF).contains(scalar) {
                    guard position + 1 < bytes.count, bytes[position] == UInt8(ascii: "\\"),
                        bytes[position + 1] == UInt8(ascii: "u")
                    else { throw syntaxError("unpaired UTF-16 surrogate in \\u escape") }
                    position += 2
                    let low = try parseHex4()
                    guard (0xDC00...0xDFFF).contains(low) else {
                        throw syntaxError("unpaired UTF-16 surrogate in \\u escape")
                    }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                } else if (0xDC00...0xDFFF).contains(scalar) {
                    throw syntaxError("unpaired UTF-16 surrogate in \\u escape")
                }
                utf8.append(contentsOf: UTF8.encode(Unicode.Scalar(scalar)!)!)
            default:
                position -= 1
                throw syntaxError(
                    "invalid escape character \(Self.describe(byte: escape)) after '\\'")
            }
        }
        throw syntaxError("unterminated string")
    }

    private mutating func parseHex4() throws -> UInt32 {
        guard position + 4 <= bytes.count else { throw syntaxError("truncated \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[position]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw syntaxError("invalid hex digit in \\u escape")
            }
            value = value << 4 | UInt32(digit)
            position += 1
        }
        return value
    }

    /// Parses a number and returns its text exactly as written (grammar-checked).
    mutating func parseNumberText() throws -> String {
        skipWhitespace()
        let start = position
        func digit() -> Bool {
            position < bytes.count
                && (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[position])
        }
        if peek() == UInt8(ascii: "-") { position += 1 }
        guard digit() else { throw syntaxError("expected a digit") }
        if bytes[position] == UInt8(ascii: "0") {
            position += 1
        } else {
            while digit() { position += 1 }
        }
        if peek() == UInt8(ascii: ".") {
            position += 1
            guard digit() else { throw syntaxError("expected a digit after '.'") }
            while digit() { position += 1 }
        }
        if peek() == UInt8(ascii: "e") || peek() == UInt8(ascii: "E") {
            position += 1
            if peek() == UInt8(ascii: "+") || peek() == UInt8(ascii: "-") { position += 1 }
            guard digit() else { throw syntaxError("expected a digit in exponent") }
            while digit() { position += 1 }
        }
        return String(decoding: bytes[start..<position], as: UTF8.self)
    }

    /// The value of number text that is a plain non-negative integer fitting in `Int`
    /// (no sign, fraction or exponent), else `nil`.
    static func nonNegativeInteger(_ text: String) -> Int? {
        guard !text.isEmpty, text.utf8.allSatisfy({ (0x30...0x39).contains($0) }) else {
            return nil
        }
        return Int(text)
    }

    /// Skips one value of any type, checking its syntax.
    mutating func skipValue() throws { try skipValue(depth: 0) }

    private mutating func skipValue(depth: Int) throws {
        guard depth < Self.maxDepth else {
            throw syntaxError("nesting deeper than \(Self.maxDepth) levels")
        }
        skipWhitespace()
        guard let byte = peek() else { throw syntaxError("unexpected end of header") }
        switch byte {
        case UInt8(ascii: "{"):
            try openObject()
            var first = true
            while try nextKey(isFirst: &first) != nil { try skipValue(depth: depth + 1) }
        case UInt8(ascii: "["):
            try openArray()
            var first = true
            while try nextElement(isFirst: &first) { try skipValue(depth: depth + 1) }
        case UInt8(ascii: "\""):
            _ = try parseString()
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            _ = try parseNumberText()
        case UInt8(ascii: "t"): try literal("true")
        case UInt8(ascii: "f"): try literal("false")
        case UInt8(ascii: "n"): try literal("null")
        default:
            throw syntaxError("unexpected \(Self.describe(byte: byte))")
        }
    }

    /// Consumes the literal `true`, `false` or `null`.
    mutating func literal(_ word: String) throws {
        skipWhitespace()
        let utf8 = Array(word.utf8)
        guard position + utf8.count <= bytes.count,
            bytes[position..<(position + utf8.count)].elementsEqual(utf8)
        else { throw syntaxError("invalid literal (expected \(word))") }
        position += utf8.count
    }

    // MARK: UTF-8

    /// The offset of the first byte that does not start a well-formed UTF-8 sequence
    /// (overlong forms, surrogates and code points above U+10FFFF are ill-formed), or `nil`.
    static func firstInvalidUTF8Offset(in bytes: [UInt8]) -> Int? {
        let n = bytes.count
        var i = 0
        while i < n {
            let lead = bytes[i]
            if lead < 0x80 {
                i += 1
                continue
            }
            let length: Int
            var scalar: UInt32
            let minimum: UInt32
            switch lead {
            case 0xC0...0xDF: (length, scalar, minimum) = (2, UInt32(lead & 0x1F), 0x80)
            case 0xE0...0xEF: (length, scalar, minimum) = (3, UInt32(lead & 0x0F), 0x800)
            case 0xF0...0xF7: (length, scalar, minimum) = (4, UInt32(lead & 0x07), 0x10000)
            default: return i
            }
            guard i + length <= n else { return i }
            for k in 1..<length {
                let byte = bytes[i + k]
                guard byte & 0xC0 == 0x80 else { return i }
                scalar = scalar << 6 | UInt32(byte & 0x3F)
            }
            if scalar < minimum || scalar > 0x10FFFF || (0xD800...0xDFFF).contains(scalar) {
                return i
            }
            i += length
        }
        return nil
    }
}
