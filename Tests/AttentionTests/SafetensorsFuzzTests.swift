import Foundation
import Testing

@testable import Attention

/// Seeded mutation fuzzing: every mutated file either parses (and then every tensor reads)
/// or throws an ``AttentionError`` — never a crash, a hang or another error type.
@Suite struct SafetensorsFuzzTests {
    typealias S = SafetensorsTestSupport

    static func seeds() throws -> [[UInt8]] {
        let a = try Tensor(shape: [2, 3], scalars: [1, -2, 3.5, .nan, -0.0, .infinity])
        let mixed = try SafetensorsFile.encode(
            [
                (name: "query", tensor: a, dtype: .f32), (name: "half", tensor: a, dtype: .f16),
                (name: "bf", tensor: a, dtype: .bf16), (name: "mask", tensor: a, dtype: .bool),
                (name: "ids", tensor: Tensor(shape: [3], scalars: [0, 7, 255]), dtype: .u8),
                (name: "pos", tensor: Tensor(shape: [2], scalars: [-5, 1_048_576]), dtype: .i64),
                (name: "d", tensor: Tensor(0.25), dtype: .f64),
                (name: "empty", tensor: Tensor.zeros([0, 4]), dtype: .i16),
            ],
            metadata: ["format": "pt", "note": "fuzz \"seed\" ü"])
        let handWritten = S.file(
            header:
                " { \"\\u00e9\" : {\"extra\": [1, {\"x\": null}], \"dtype\": \"I32\", \"shape\": [2], "
                + "\"data_offsets\": [0, 8]}, \"__metadata__\": null, \"u\": {\"dtype\": \"U16\", "
                + "\"shape\": [1, 1], \"data_offsets\": [8, 10]} }  ",
            data: S.le(Int32(-3)) + S.le(Int32(9)) + S.le(UInt16(40000)))
        let empty = try SafetensorsFile.encode([:], metadata: [:])
        let scalars = try SafetensorsFile.encode([
            "a": Tensor(1), "b": Tensor(2), "c": Tensor.zeros([1, 1, 1]),
        ])
        return [mixed, handWritten, empty, scalars]
    }

    /// Byte strings worth splicing into a JSON header.
    static let tokens: [String] = [
        "-1", "1e300", "2.5", "18446744073709551616", "9223372036854775807", "4294967296", "0",
        "\"F32\"", "\"BOOL\"", "\"I64\"", "\"X\"", "null", "true", "[]", "{}", "[0,0]", "[", "]",
        "{",
        "}", ",", ":", "\"", "\\", "\\u", "\\ud800", "\"__metadata__\"", "\"data_offsets\"",
        "\"shape\"", "\"dtype\"", " ", "\u{0}", "é",
    ]

    static func mutate(_ input: [UInt8], using rng: inout S.RNG) -> [UInt8] {
        var bytes = input
        let prefixEnd = min(8, bytes.count)
        let claimed = Int(
            bytes.prefix(8).reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) } & 0xFFFF)
        let headerEnd = max(prefixEnd, min(bytes.count, 8 + claimed))
        func headerPosition() -> Int {
            headerEnd > prefixEnd ? Int.random(in: prefixEnd..<headerEnd, using: &rng) : prefixEnd
        }
        func fixLength(_ delta: Int) {
            guard bytes.count >= 8, Bool.random(using: &rng) else { return }
            let length = UInt64(max(0, headerEnd - 8 + delta))
            bytes.replaceSubrange(0..<8, with: S.le(length))
        }
        switch Int.random(in: 0..<10, using: &rng) {
        case 0:  // bit flip anywhere
            guard !bytes.isEmpty else { break }
            let i = Int.random(in: 0..<bytes.count, using: &rng)
            bytes[i] ^= 1 << UInt8.random(in: 0..<8, using: &rng)
        case 1:  // byte overwrite, biased to the header
            guard !bytes.isEmpty else { break }
            let i =
                Bool.random(using: &rng)
                ? headerPosition() : Int.random(in: 0..<bytes.count, using: &rng)
            if i < bytes.count { bytes[i] = UInt8.random(in: 0...255, using: &rng) }
        case 2:  // truncation
            bytes.removeLast(Int.random(in: 0...bytes.count, using: &rng))
        case 3:  // header length change
            guard bytes.count >= 8 else { break }
            let current = UInt64(headerEnd - 8)
            let choices: [UInt64] = [
                0, 1, current &+ 1, current &- 1, current &+ 8, UInt64(bytes.count),
                UInt64(bytes.count - 8),
                100_000_000, 100_000_001, UInt64.max, UInt64(Int.max), 1 << 32,
                UInt64.random(in: 0...UInt64.max, using: &rng),
            ]
            bytes.replaceSubrange(0..<8, with: S.le(choices.randomElement(using: &rng)!))
        case 4:  // insert a token into the header
            let token = Array(tokens.randomElement(using: &rng)!.utf8)
            bytes.insert(contentsOf: token, at: headerPosition())
            fixLength(token.count)
        case 5:  // delete a run of header bytes
            let i = headerPosition()
            let n = min(Int.random(in: 1...6, using: &rng), max(0, headerEnd - i))
            bytes.removeSubrange(i..<(i + n))
            fixLength(-n)
        case 6:  // replace a number in the header with a hostile one
            let digits = (prefixEnd..<headerEnd).filter { (0x30...0x39).contains(bytes[$0]) }
            guard let i = digits.randomElement(using: &rng) else { break }
            var j = i
            while j < headerEnd && (0x30...0x39).contains(bytes[j]) { j += 1 }
            let token = Array(
                [
                    "-1", "1e300", "2.5", "18446744073709551616", "4611686018427387904", "0", "3",
                    "1000", "-0",
                ].randomElement(using: &rng)!.utf8)
            bytes.replaceSubrange(i..<j, with: token)
            fixLength(token.count - (j - i))
        case 7:  // duplicate a chunk of the header (duplicate keys, nesting)
            let i = headerPosition()
            let n = min(Int.random(in: 1...40, using: &rng), max(0, headerEnd - i))
            let chunk = Array(bytes[i..<(i + n)])
            bytes.insert(contentsOf: chunk, at: i)
            fixLength(n)
        case 8:  // append or remove data bytes
            if Bool.random(using: &rng) {
                bytes += (0..<Int.random(in: 1...16, using: &rng)).map { _ in
                    UInt8.random(in: 0...255, using: &rng)
                }
            } else if bytes.count > headerEnd {
                bytes.removeLast(Int.random(in: 1...(bytes.count - headerEnd), using: &rng))
            }
        default:  // swap a dtype for another of a different size
            let header = String(decoding: bytes[prefixEnd..<headerEnd], as: UTF8.self)
            let names = SafetensorsDType.allCases.map { "\"\($0.rawValue)\"" }
            guard let from = names.filter({ header.contains($0) }).randomElement(using: &rng) else {
                break
            }
            let to = names.randomElement(using: &rng)!
            let replaced = Array(header.replacingOccurrences(of: from, with: to).utf8)
            bytes.replaceSubrange(prefixEnd..<headerEnd, with: replaced)
            fixLength(replaced.count - (headerEnd - 8))
        }
        return bytes
    }

    @Test func mutatedFilesParseOrThrow() throws {
        let seeds = try Self.seeds()
        for seed in seeds { _ = try SafetensorsFile(bytes: seed) }  // the seeds are valid
        var rng = S.RNG(seed: 0x5AFE_7E45)
        var parsed = 0
        var rejected = 0
        let clock = ContinuousClock()
        let start = clock.now
        for iteration in 0..<10_000 {
            var bytes = seeds[iteration % seeds.count]
            for _ in 0..<Int.random(in: 1...3, using: &rng) {
                bytes = Self.mutate(bytes, using: &rng)
            }
            let file: SafetensorsFile
            do {
                file = try SafetensorsFile(bytes: bytes, source: "fuzz-\(iteration)")
            } catch let error as AttentionError {
                rejected += 1
                #expect(error.kind == .invalidFile)
                #expect(error.argument == "fuzz-\(iteration)")
                #expect(!error.message.isEmpty)
                continue
            }
            parsed += 1
            // A file that validates must read completely and consistently.
            for name in file.names {
                let info = try file.info(of: name)
                let tensor = try file.tensor(named: name)
                #expect(tensor.shape == info.shape)
                #expect(tensor.count * info.dtype.byteSize == info.byteCount)
            }
        }
        let elapsed = clock.now - start
        #expect(parsed > 250, "only \(parsed) mutants parsed")
        #expect(rejected > 2500, "only \(rejected) mutants were rejected")
        #expect(elapsed < .seconds(10), "fuzzing took \(elapsed)")
    }

    @Test func randomBytesAndPrefixesThrow() {
        var rng = S.RNG(seed: 42)
        for length in 0..<2000 {
            let bytes = (0..<(length % 64)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            #expect(throws: AttentionError.self) { try SafetensorsFile(bytes: bytes) }
        }
        // Every strict prefix of a valid file is invalid (the buffer must be covered exactly).
        let valid = try! SafetensorsFile.encode(["x": Tensor(shape: [3], scalars: [1, 2, 3])])
        for length in 0..<valid.count {
            #expect(throws: AttentionError.self) {
                try SafetensorsFile(bytes: Array(valid.prefix(length)))
            }
        }
    }
}
