import Foundation
import Testing

@testable import Attention

/// Helpers shared by the Safetensors test suites.
enum SafetensorsTestSupport {
    /// SplitMix64: a small seeded generator, so fuzz runs are reproducible.
    struct RNG: RandomNumberGenerator {
        var state: UInt64
        init(seed: UInt64) { state = seed }
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    /// Little-endian bytes of an integer.
    static func le<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
        withUnsafeBytes(of: value.littleEndian) { Array($0) }
    }

    /// A file built by hand: length prefix (the true header length unless overridden), the
    /// header text, then `data`.
    static func file(header: String, data: [UInt8] = [], headerLength: UInt64? = nil) -> [UInt8] {
        let headerBytes = Array(header.utf8)
        return le(headerLength ?? UInt64(headerBytes.count)) + headerBytes + data
    }

    /// A one-tensor file with the given dtype, shape and data (offsets [0, data.count]).
    static func file(dtype: String, shape: [Int], data: [UInt8]) -> [UInt8] {
        let shapeText = shape.map(String.init).joined(separator: ",")
        return file(
            header:
                "{\"t\":{\"dtype\":\"\(dtype)\",\"shape\":[\(shapeText)],\"data_offsets\":[0,\(data.count)]}}",
            data: data)
    }

    /// A fresh empty directory under the system temporary directory.
    static func temporaryDirectory() throws -> String {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("safetensors-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url.path
    }

    /// Requires that parsing `bytes` throws an `.invalidFile` error naming the source and
    /// whose message contains every fragment.
    static func expectInvalid(
        _ bytes: [UInt8], mentions fragments: [String],
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let error = #expect(throws: AttentionError.self, sourceLocation: sourceLocation) {
            _ = try SafetensorsFile(bytes: bytes, source: "model.safetensors")
        }
        guard let error else { return }
        #expect(error.kind == .invalidFile, sourceLocation: sourceLocation)
        #expect(error.argument == "model.safetensors", sourceLocation: sourceLocation)
        for fragment in fragments {
            #expect(
                error.message.contains(fragment),
                "\(error) should mention \(fragment.debugDescription)",
                sourceLocation: sourceLocation)
        }
    }

    /// Bit patterns, so NaN payloads and signed zeros compare exactly.
    static func bits(_ values: [Float]) -> [UInt32] { values.map(\.bitPattern) }
}
