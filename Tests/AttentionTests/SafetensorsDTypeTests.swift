import Testing

@testable import Attention

/// Reading every dtype from files built byte by byte, and the F16/BF16 conversions.
@Suite struct SafetensorsDTypeTests {
    typealias S = SafetensorsTestSupport

    private func read(_ dtype: String, _ data: [UInt8], count: Int) throws -> [Float] {
        let file = try SafetensorsFile(bytes: S.file(dtype: dtype, shape: [count], data: data))
        #expect(try file.dtype(of: "t").rawValue == dtype)
        #expect(try file.shape(of: "t") == [count])
        return try file.tensor(named: "t").scalars
    }

    @Test func byteSizes() {
        let sizes = Dictionary(
            uniqueKeysWithValues: SafetensorsDType.allCases.map { ($0.rawValue, $0.byteSize) })
        #expect(
            sizes == [
                "F32": 4, "F16": 2, "BF16": 2, "F64": 8, "BOOL": 1, "U8": 1, "I8": 1,
                "I16": 2, "U16": 2, "I32": 4, "U32": 4, "I64": 8, "U64": 8,
            ])
    }

    @Test func f32() throws {
        let values = try read(
            "F32", [0x00, 0x00, 0xC0, 0x3F, 0x00, 0x00, 0x00, 0xC0, 0x01, 0x00, 0x80, 0x7F],
            count: 3)
        #expect(S.bits(values) == [0x3FC0_0000, 0xC000_0000, 0x7F80_0001])  // 1.5, -2, signaling NaN kept
    }

    @Test func f16() throws {
        let halves: [UInt16] = [
            0x3C00, 0xC000, 0x7BFF, 0x0001, 0x03FF, 0x0400, 0x7C00, 0xFC00, 0x8000, 0x3555, 0x8001,
            0x7E00, 0x7E01, 0xFD00,
        ]
        let values = try read("F16", halves.flatMap(S.le), count: halves.count)
        let expected: [Float] = [
            1, -2, 65504, 0x1p-24, 1023 * 0x1p-24, 0x1p-14, .infinity, -.infinity, -0.0,
            0.333251953125, -0x1p-24,
        ]
        #expect(S.bits(Array(values.prefix(11))) == S.bits(expected))
        #expect(values[11].bitPattern == 0x7FC0_0000)  // quiet NaN
        #expect(values[12].bitPattern == 0x7FC0_2000)  // payload kept
        #expect(values[13].bitPattern == 0xFFA0_0000)  // negative signaling NaN, payload kept
    }

    @Test func bf16() throws {
        let raw: [UInt16] = [
            0x3F80, 0xC040, 0x7F80, 0xFF80, 0x0001, 0x7F7F, 0x8000, 0x3EAB, 0x7FC1,
        ]
        let values = try read("BF16", raw.flatMap(S.le), count: raw.count)
        let expected: [Float] = [
            1, -3, .infinity, -.infinity, 0x1p-133, (2 - 0x1p-7) * 0x1p127, -0.0, 0.333984375,
        ]
        #expect(S.bits(Array(values.prefix(8))) == S.bits(expected))
        #expect(values[8].bitPattern == 0x7FC1_0000)
    }

    @Test func f64() throws {
        let doubles: [Double] = [1.0 / 3.0, 1e300, -0.0, 0x1p-149, -.infinity, 0x1p-160]
        let values = try read(
            "F64", doubles.flatMap { S.le($0.bitPattern) } + S.le(Double.nan.bitPattern), count: 7)
        #expect(
            S.bits(Array(values.prefix(6)))
                == S.bits([0.333333343, .infinity, -0.0, 0x1p-149, -.infinity, 0]))
        #expect(values[6].isNaN)
    }

    @Test func boolAndBytes() throws {
        #expect(try read("BOOL", [0, 1, 2, 255], count: 4) == [0, 1, 1, 1])
        #expect(try read("U8", [0, 1, 128, 255], count: 4) == [0, 1, 128, 255])
        #expect(try read("I8", [0x00, 0x7F, 0x80, 0xFF], count: 4) == [0, 127, -128, -1])
    }

    @Test func wideIntegers() throws {
        #expect(
            try read("I16", [0x01, 0x00, 0xFF, 0xFF, 0x00, 0x80, 0xFF, 0x7F], count: 4) == [
                1, -1, -32768, 32767,
            ])
        #expect(try read("U16", [0xFF, 0xFF, 0x34, 0x12], count: 2) == [65535, 0x1234])
        let int32s: [Int32] = [16_777_217, .min, 123_456_789, -7]
        #expect(
            try read("I32", int32s.flatMap(S.le), count: 4) == [
                16_777_216, -2_147_483_648, 123_456_792, -7,
            ])
        #expect(
            try read("U32", S.le(UInt32.max) + S.le(UInt32(5)), count: 2) == [4_294_967_296, 5])
        let int64s: [Int64] = [.min, (1 << 53) + 1, -42]
        #expect(try read("I64", int64s.flatMap(S.le), count: 3) == [-0x1p63, 0x1p53, -42])
        #expect(try read("U64", S.le(UInt64.max) + S.le(UInt64(3)), count: 2) == [0x1p64, 3])
    }

    @Test func scalarAndEmptyShapes() throws {
        let scalar = try SafetensorsFile(
            bytes: S.file(dtype: "F32", shape: [], data: S.le(Float(2.5).bitPattern)))
        #expect(try scalar.tensor(named: "t") == Tensor(2.5))
        let empty = try SafetensorsFile(bytes: S.file(dtype: "I64", shape: [3, 0, 2], data: []))
        #expect(try empty.tensor(named: "t").shape == [3, 0, 2])
        #expect(try empty.tensor(named: "t").scalars.isEmpty)
    }

    // MARK: Conversions

    @Test func halfEncoding() {
        let cases: [(Float, UInt16)] = [
            (1, 0x3C00), (-2, 0xC000), (65504, 0x7BFF), (65519.99, 0x7BFF), (65520, 0x7C00),
            (1e9, 0x7C00), (-1e9, 0xFC00), (.infinity, 0x7C00), (-.infinity, 0xFC00),
            (0, 0x0000), (-0.0, 0x8000), (1e-8, 0x0000), (-1e-8, 0x8000),
            (0x1p-24, 0x0001), (0x1p-25, 0x0000), (0x1.8p-25, 0x0001), (3 * 0x1p-25, 0x0002),
            (1023.5 * 0x1p-24, 0x0400), (1022.5 * 0x1p-24, 0x03FE), (0x1p-14, 0x0400),
            (1 + 0x1p-11, 0x3C00), (1 + 3 * 0x1p-11, 0x3C02), (1 + 0x1p-11 + 0x1p-20, 0x3C01),
            (0.1, 0x2E66), (0x1p-149, 0x0000), (.nan, 0x7E00),
        ]
        for (value, expected) in cases {
            #expect(SafetensorsConversion.half(from: value) == expected, "\(value)")
        }
        #expect(SafetensorsConversion.half(from: Float(bitPattern: 0x7F80_2000)) == 0x7E01)  // quieted, payload kept
    }

    @Test func bfloat16Encoding() {
        let cases: [(Float, UInt16)] = [
            (1, 0x3F80), (1 + 0x1p-8, 0x3F80), (1 + 3 * 0x1p-8, 0x3F82),
            (1 + 0x1p-8 + 0x1p-20, 0x3F81),
            (.greatestFiniteMagnitude, 0x7F80), (-.greatestFiniteMagnitude, 0xFF80), (-0.0, 0x8000),
            (0x1p-133, 0x0001), (0x1p-149, 0x0000), (.nan, 0x7FC0), (-3, 0xC040),
        ]
        for (value, expected) in cases {
            #expect(SafetensorsConversion.bfloat16(from: value) == expected, "\(value)")
        }
    }

    @Test func halfDecodingIsExactForEveryPattern() {
        for bits in UInt16.min...UInt16.max {
            let value = SafetensorsConversion.float(fromHalf: bits)
            // Decoding then encoding gives the pattern back (NaNs come back quiet).
            let isNaN = bits & 0x7C00 == 0x7C00 && bits & 0x03FF != 0
            let back = SafetensorsConversion.half(from: value)
            #expect(back == (isNaN ? bits | 0x0200 : bits), "0x\(String(bits, radix: 16))")
            #expect(value.isNaN == isNaN)
        }
    }

    #if !((os(macOS) || targetEnvironment(macCatalyst)) && arch(x86_64))
        @Test func halfMatchesFloat16() {
            for bits in UInt16.min...UInt16.max {
                let reference = Float(Float16(bitPattern: bits))
                let value = SafetensorsConversion.float(fromHalf: bits)
                if reference.isNaN {
                    #expect(value.isNaN)
                } else {
                    #expect(value.bitPattern == reference.bitPattern)
                }
            }
            var rng = SafetensorsTestSupport.RNG(seed: 16)
            for index in 0..<100_000 {
                // Half of the draws land in or near the binary16 range, to exercise rounding.
                var pattern = UInt32.random(in: 0...UInt32.max, using: &rng)
                if index % 2 == 0 {
                    let exponent = UInt32.random(in: 100...145, using: &rng)
                    pattern = (pattern & 0x807F_FFFF) | exponent << 23
                }
                let value = Float(bitPattern: pattern)
                let expected = Float16(value)
                if expected.isNaN {
                    #expect(SafetensorsConversion.half(from: value) & 0x7E00 == 0x7E00)
                } else {
                    #expect(
                        SafetensorsConversion.half(from: value) == expected.bitPattern, "\(value)")
                }
            }
        }
    #endif
}
