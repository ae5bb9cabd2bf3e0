import Testing

@testable import Attention

/// Every kind of lying or malformed header is a thrown error that names the problem.
@Suite struct SafetensorsValidationTests {
    typealias S = SafetensorsTestSupport

    /// `{"a": …}` entry text for an F32 tensor.
    private func entry(
        _ name: String, shape: String = "[1]", offsets: String = "[0,4]", dtype: String = "\"F32\""
    ) -> String {
        "\"\(name)\":{\"dtype\":\(dtype),\"shape\":\(shape),\"data_offsets\":\(offsets)}"
    }

    private func header(_ entries: String...) -> String {
        "{" + entries.joined(separator: ",") + "}"
    }

    private let four: [UInt8] = [0, 0, 128, 63]

    @Test func validFileForReference() throws {
        let file = try SafetensorsFile(bytes: S.file(header: header(entry("a")), data: four))
        #expect(try file.tensor(named: "a") == Tensor(shape: [1], scalars: [1]))
    }

    @Test func lengthPrefix() {
        S.expectInvalid([], mentions: ["file is 0 bytes, too short for the 8-byte header length"])
        S.expectInvalid([1, 2, 3], mentions: ["file is 3 bytes"])
        S.expectInvalid(
            S.file(header: "{}", headerLength: 200_000_000),
            mentions: ["header length 200000000 exceeds the limit of 100000000 bytes"])
        S.expectInvalid(
            S.file(header: "{}", headerLength: .max),
            mentions: ["header length 18446744073709551615 exceeds the limit"])
        S.expectInvalid(
            S.file(header: "{}", headerLength: 1000),
            mentions: [
                "header length 1000 exceeds the 2 bytes after the length field (file is 10 bytes)"
            ])
        S.expectInvalid(S.file(header: "{}", headerLength: 1), mentions: ["not valid JSON"])
        S.expectInvalid(
            S.file(header: "", headerLength: 0),
            mentions: ["header must be a JSON object, got the end of the header"])
    }

    @Test func utf8() {
        for bad: [UInt8] in [
            [0xFF], [0xC0, 0x80], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xE2, 0x82],
        ] {
            let text = Array("{\"a".utf8) + bad + Array("\":1}".utf8)
            S.expectInvalid(
                S.le(UInt64(text.count)) + text,
                mentions: ["header is not valid UTF-8 (at byte 3 of the header)"])
        }
    }

    @Test func syntax() {
        let cases: [(String, String)] = [
            ("{\"a\":{\"x\":", "unexpected end of header"),
            ("{\"a\" 1}", "expected ':'"),
            ("{,}", "expected a string key"),
            ("{}x", "unexpected 'x' after the top-level value"),
            ("{}\0\0\0", "unexpected byte 0x0 after the top-level value"),
            ("{\"a\":{\"dtype\":\"F32\",}}", "expected a string key"),
            ("{\"a\":{\"shape\":[1,]}}", "expected a value after ','"),
            ("{\"a\":{\"shape\":[1 2]}}", "expected ',' or ']'"),
            ("{\"a\":{\"dtype\":\"F32\" \"shape\":[]}}", "expected ',' or '}'"),
            ("{\"abc", "unterminated string"),
            ("{\"a\\x\":1}", "invalid escape character 'x' after"),
            ("{\"a\\ud800\":1}", "unpaired UTF-16 surrogate"),
            ("{\"a\\udc00x\":1}", "unpaired UTF-16 surrogate"),
            ("{\"a\\u12\":1}", "invalid hex digit"),
            ("{\"a\tb\":1}", "unescaped control character"),
            ("{\"a\":{\"x\":tru}}", "invalid literal (expected true)"),
            ("{\"a\":{\"x\":01}}", "expected ',' or '}'"),
            ("{\"a\":{\"x\":1.}}", "expected a digit after '.'"),
            ("{\"a\":{\"x\":1e}}", "expected a digit in exponent"),
            ("{\"a\":{\"x\":-}}", "expected a digit"),
            ("{\"a\":{\"x\":+1}}", "unexpected '+'"),
            (
                "{\"a\":{\"x\":" + String(repeating: "[", count: 100_000) + "}}",
                "nesting deeper than 128 levels"
            ),
        ]
        for (text, fragment) in cases {
            S.expectInvalid(S.file(header: text), mentions: ["header is not valid JSON", fragment])
        }
    }

    @Test func headerMustBeAnObject() {
        for (text, kind) in [
            ("[]", "an array"), ("\"x\"", "a string"), ("12", "a number"), ("null", "null"),
            ("true", "a boolean"), ("  ", "the end of the header"),
        ] {
            S.expectInvalid(
                S.file(header: text), mentions: ["header must be a JSON object, got \(kind)"])
        }
    }

    @Test func missingAndIllTypedFields() {
        let cases: [(String, String)] = [
            (
                #"{"a":[]}"#,
                #"tensor "a": expected an object with "dtype", "shape" and "data_offsets", got an array"#
            ),
            (#"{"a":{"shape":[1],"data_offsets":[0,4]}}"#, #"tensor "a": missing "dtype""#),
            (#"{"a":{"dtype":"F32","data_offsets":[0,4]}}"#, #"tensor "a": missing "shape""#),
            (#"{"a":{"dtype":"F32","shape":[1]}}"#, #"tensor "a": missing "data_offsets""#),
            (
                header(entry("a", dtype: "1")),
                #"tensor "a": "dtype" must be a string, got a number"#
            ),
            (
                header(entry("a", dtype: "\"F8_E4M3\"")),
                #"tensor "a": unsupported dtype "F8_E4M3" (supported: F32, F16, BF16"#
            ),
            (header(entry("a", dtype: "\"f32\"")), #"unsupported dtype "f32""#),
            (
                header(entry("a", shape: "\"1\"")),
                #"tensor "a": "shape" must be an array of non-negative integers, got a string"#
            ),
            (
                header(entry("a", shape: "[1,\"2\"]")),
                #""shape" must contain only non-negative integers, got a string"#
            ),
            (header(entry("a", shape: "[null]")), #"got null"#),
            (
                header(entry("a", offsets: "{}")),
                #""data_offsets" must be an array of non-negative integers, got an object"#
            ),
            (
                header(entry("a", offsets: "[0]")),
                #""data_offsets" must be [begin, end], got 1 entries"#
            ),
            (header(entry("a", offsets: "[0,4,4]")), #"got 3 entries"#),
            (
                #"{"a":{"dtype":"F32","dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#,
                #"tensor "a": duplicate "dtype""#
            ),
            (
                #"{"a":{"dtype":"F32","shape":[1],"shape":[1],"data_offsets":[0,4]}}"#,
                #"duplicate "shape""#
            ),
            (
                #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"data_offsets":[0,4]}}"#,
                #"duplicate "data_offsets""#
            ),
        ]
        for (text, fragment) in cases {
            S.expectInvalid(S.file(header: text, data: four), mentions: [fragment])
        }
    }

    @Test func numbersMustBePlainNonNegativeIntegers() {
        let cases: [(String, String)] = [
            ("-1", "-1 is negative"), ("-0", "-0 is negative"), ("2.5", "2.5 is not an integer"),
            ("1.0", "1.0 is not an integer"), ("1e300", "1e300 is not an integer"),
            ("1E2", "1E2 is not an integer"),
            ("99999999999999999999", "99999999999999999999 is too large"),
            ("9223372036854775808", "9223372036854775808 is too large"),
        ]
        for (number, fragment) in cases {
            S.expectInvalid(
                S.file(header: header(entry("a", shape: "[\(number)]")), data: four),
                mentions: [#"tensor "a": "shape" entry "# + fragment])
            S.expectInvalid(
                S.file(header: header(entry("a", offsets: "[0,\(number)]")), data: four),
                mentions: [#"tensor "a": "data_offsets" entry "# + fragment])
        }
    }

    @Test func shapeProductOverflow() {
        let cases = [
            "[4294967296,4294967296]", "[4294967296,4294967296,0]", "[0,4294967296,4294967296]",
            "[2305843009213693952,4]", "[9223372036854775807,2]",
        ]
        for shape in cases {
            S.expectInvalid(
                S.file(header: header(entry("a", shape: shape, offsets: "[0,0]"))),
                mentions: [#"tensor "a": shape ["#, "has too many elements"])
        }
        // A product that fits in Int but not once multiplied by the dtype size.
        S.expectInvalid(
            S.file(header: header(entry("a", shape: "[2305843009213693952]", offsets: "[0,0]"))),
            mentions: ["has too many elements"])
    }

    @Test func offsetsMustMatchShapeAndBuffer() {
        S.expectInvalid(
            S.file(
                header: header(entry("query", shape: "[2,3]", offsets: "[0,100]")),
                data: Array(repeating: 0, count: 100)),
            mentions: [
                #"tensor "query": data_offsets [0, 100] do not match shape [2, 3] × F32 (24 bytes)"#
            ])
        S.expectInvalid(
            S.file(header: header(entry("a", offsets: "[0,1000]")), data: four),
            mentions: [
                #"tensor "a": data_offsets [0, 1000] extend past the end of the data buffer (4 bytes)"#
            ])
        S.expectInvalid(
            S.file(header: header(entry("a", offsets: "[4,0]")), data: four),
            mentions: [#"tensor "a": data_offsets [4, 0] have begin > end"#])
        S.expectInvalid(
            S.file(header: header(entry("a", shape: "[0]", offsets: "[5,5]")), data: four),
            mentions: ["extend past the end"])
        S.expectInvalid(
            S.file(
                header: header(entry("a", shape: "[3]", offsets: "[0,12]", dtype: "\"F16\"")),
                data: Array(repeating: 0, count: 12)),
            mentions: ["do not match shape [3] × F16 (6 bytes)"])
    }

    @Test func tensorsMustTileTheBuffer() {
        let twelve = [UInt8](repeating: 0, count: 12)
        S.expectInvalid(
            S.file(
                header: header(
                    entry("a", shape: "[2]", offsets: "[0,8]"),
                    entry("b", shape: "[2]", offsets: "[4,12]")), data: twelve),
            mentions: [
                #"tensor "b": data_offsets [4, 12] overlap tensor "a" (data_offsets [0, 8])"#
            ])
        S.expectInvalid(
            S.file(
                header: header(
                    entry("a", shape: "[1]", offsets: "[0,4]"),
                    entry("b", shape: "[1]", offsets: "[0,4]")), data: four),
            mentions: ["overlap tensor"])
        S.expectInvalid(
            S.file(
                header: header(
                    entry("a", shape: "[2]", offsets: "[0,8]"),
                    entry("z", shape: "[0]", offsets: "[4,4]")), data: Array(twelve.prefix(8))),
            mentions: [#"tensor "z": data_offsets [4, 4] overlap tensor "a""#])
        S.expectInvalid(
            S.file(
                header: header(entry("a", offsets: "[0,4]"), entry("b", offsets: "[8,12]")),
                data: twelve),
            mentions: [
                #"bytes [4, 8) of the data buffer are not covered by any tensor (hole before tensor "b")"#
            ])
        S.expectInvalid(
            S.file(header: header(entry("b", offsets: "[4,8]")), data: Array(twelve.prefix(8))),
            mentions: ["bytes [0, 4) of the data buffer are not covered"])
        S.expectInvalid(
            S.file(header: header(entry("a")), data: four + [0, 0]),
            mentions: [
                "the data buffer has 6 bytes but the tensors cover only 4 (2 trailing bytes are not covered by any tensor)"
            ])
        S.expectInvalid(
            S.file(header: "{}", data: [0]),
            mentions: ["the data buffer has 1 bytes but the tensors cover only 0"])
    }

    @Test func zeroSizedTensorsAtBoundariesAreFine() throws {
        let text = header(
            entry("e0", shape: "[0]", offsets: "[0,0]"), entry("a"),
            entry("e4", shape: "[2,0]", offsets: "[4,4]"),
            entry("e4b", shape: "[0]", offsets: "[4,4]"), entry("b", offsets: "[4,8]"),
            entry("e8", shape: "[0]", offsets: "[8,8]"))
        let file = try SafetensorsFile(bytes: S.file(header: text, data: four + four))
        #expect(file.names == ["a", "b", "e0", "e4", "e4b", "e8"])
        #expect(try file.tensor(named: "e4").shape == [2, 0])
    }

    @Test func duplicates() {
        S.expectInvalid(
            S.file(header: header(entry("a"), entry("a")), data: four),
            mentions: [#"duplicate tensor name "a""#])
        S.expectInvalid(
            S.file(header: header(entry("a"), entry("\\u0061")), data: four),
            mentions: [#"duplicate tensor name "a""#])
        S.expectInvalid(
            S.file(header: #"{"__metadata__":{},"__metadata__":{}}"#),
            mentions: [#"duplicate "__metadata__" entry"#])
        S.expectInvalid(
            S.file(header: #"{"__metadata__":{"k":"1","k":"2"}}"#),
            mentions: [#"duplicate key "k" in "__metadata__""#])
    }

    @Test func metadataMustMapStringsToStrings() throws {
        S.expectInvalid(
            S.file(header: #"{"__metadata__":{"k":1}}"#),
            mentions: [#""__metadata__" value for "k" must be a string, got a number"#])
        S.expectInvalid(
            S.file(header: #"{"__metadata__":{"k":{"x":"y"}}}"#),
            mentions: ["must be a string, got an object"])
        S.expectInvalid(
            S.file(header: #"{"__metadata__":["k"]}"#),
            mentions: [
                #""__metadata__" must be an object mapping strings to strings, got an array"#
            ])
        let nullMetadata = try SafetensorsFile(bytes: S.file(header: #"{"__metadata__":null}"#))
        #expect(nullMetadata.metadata.isEmpty)
    }

    @Test func lenientWhereTheReferenceIsLenient() throws {
        // Whitespace around tokens and as padding, escapes in names, unknown fields.
        let text =
            " \n{ \"\\u00e9\\ud83d\\ude80\\/\" : { \"extra\": {\"nested\": [1, 2.5e-3, {\"x\": null}, true, \"s\"]}, "
            + "\"dtype\" : \"F32\" , \"shape\" : [ 1 ] , \"data_offsets\" : [ 0 , 4 ] } }\t\r\n     "
        let file = try SafetensorsFile(bytes: S.file(header: text, data: four))
        #expect(file.names == ["é🚀/"])
        #expect(try file.tensor(named: "é🚀/").scalars == [1])
    }

    @Test func utf8ValidatorAgreesWithTheStandardLibrary() {
        var rng = S.RNG(seed: 8)
        let interesting: [UInt8] = [
            0x00, 0x41, 0x7F, 0x80, 0xBF, 0xC0, 0xC1, 0xC2, 0xDF, 0xE0, 0xED, 0xEF, 0xF0, 0xF4,
            0xF5, 0xFF, 0xA0, 0x9F, 0x90, 0x8F,
        ]
        for _ in 0..<20_000 {
            let length = Int.random(in: 0...6, using: &rng)
            let bytes = (0..<length).map { _ in interesting.randomElement(using: &rng)! }
            let valid = String(validating: bytes, as: UTF8.self) != nil
            #expect(
                (SafetensorsJSONParser.firstInvalidUTF8Offset(in: bytes) == nil) == valid,
                "\(bytes)")
        }
    }
}
