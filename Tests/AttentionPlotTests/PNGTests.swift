import Foundation
import Testing

@testable import AttentionPlot

@Suite("PNG encoding and decoding")
struct PNGTests {
    /// A 1×1 red RGB PNG, built independently of this library.
    static let tinyRedPNG = bytes(
        hex: """
            89504e470d0a1a0a 0000000d 49484452 00000001 00000001 0802000000 907753de
            0000000c 49444154 78da63f8cfc0000003010100 f7034143
            00000000 49454e44 ae426082
            """)

    @Test func crcOfKnownChunks() {
        #expect(CRC32.checksum(Array("IEND".utf8)) == 0xAE42_6082)
        let ihdr = Array(Self.tinyRedPNG[12..<29])  // type + 13 data bytes
        #expect(CRC32.checksum(ihdr) == 0x9077_53DE)
        // Checksumming in two pieces gives the same result.
        let first = CRC32.checksum(ihdr[0..<5])
        #expect(CRC32.checksum(ihdr[5...], continuing: first) == 0x9077_53DE)
    }

    @Test func decodesKnownTinyPNG() throws {
        let image = try PNGDecoder.decode(Self.tinyRedPNG)
        #expect(image.width == 1 && image.height == 1)
        #expect(image[0, 0] == RGBA(255, 0, 0, 255))
    }

    @Test(arguments: PNGFilterStrategy.allCases)
    func rgbaRoundTripIsBitExact(filter: PNGFilterStrategy) throws {
        let original = noiseBitmap(width: 37, height: 23)
        let data = try PNGEncoder(format: .rgba, filter: filter).encode(original)
        let decoded = try PNGDecoder.decode(data)
        #expect(decoded == original)
    }

    @Test(arguments: PNGFilterStrategy.allCases)
    func rgbRoundTripKeepsColourAndMakesOpaque(filter: PNGFilterStrategy) throws {
        let original = noiseBitmap(width: 19, height: 31, seed: 42)
        let data = try PNGEncoder(format: .rgb, filter: filter).encode(original)
        #expect(data[25] == 2)  // IHDR colour type: RGB
        let decoded = try PNGDecoder.decode(data)
        var expected = original
        for y in 0..<original.height {
            for x in 0..<original.width { expected[x, y] = original[x, y].withAlpha(255) }
        }
        #expect(decoded == expected)
    }

    @Test func rawRGBPixelsRoundTrip() throws {
        let pixels: [UInt8] = [1, 2, 3, 250, 251, 252, 7, 8, 9, 100, 0, 255]
        let data = try PNGEncoder(format: .rgb).encode(width: 2, height: 2, pixels: pixels)
        let decoded = try PNGDecoder.decode(data)
        #expect(decoded[1, 1] == RGBA(100, 0, 255))
        #expect(decoded[1, 0] == RGBA(250, 251, 252))
        #expect(throws: PNGError.pixelCountMismatch(expected: 12, actual: 11)) {
            try PNGEncoder(format: .rgb).encode(
                width: 2, height: 2, pixels: Array(pixels.dropLast()))
        }
    }

    @Test func largeImagesSpanSeveralIDATChunks() throws {
        let original = noiseBitmap(width: 300, height: 300, seed: 7)
        let data = try PNGEncoder(compressionLevel: 0).encode(original)
        let idatCount = countChunks("IDAT", in: data)
        #expect(idatCount > 1)
        #expect(try PNGDecoder.decode(data) == original)
    }

    @Test func writesPhysicalResolution() throws {
        let data = try PNGEncoder(pixelsPerInch: 254).encode(Bitmap(width: 1, height: 1))
        #expect(countChunks("pHYs", in: data) == 1)
        #expect(try PNGDecoder.decode(data).width == 1)
    }

    @Test func decodesOtherColourTypesAndDepths() throws {
        // Fixtures written by another encoder (Pillow).
        let palette2bit = try PNGDecoder.decode(
            bytes(
                hex: """
                    89504e470d0a1a0a0000000d4948445200000003000000020203000000e01a8e890000000c504c5445\
                    ff000000ff000000fffffffffb0060f60000000c49444154789c639060780200013000fd56cd1c7300\
                    00000049454e44ae426082
                    """))
        #expect(palette2bit[0, 0] == RGBA(255, 0, 0))
        #expect(palette2bit[2, 0] == RGBA(0, 0, 255))
        #expect(palette2bit[0, 1] == RGBA(255, 255, 255))
        #expect(palette2bit[2, 1] == RGBA(0, 255, 0))

        let gray16 = try PNGDecoder.decode(
            bytes(
                hex: """
                    89504e470d0a1a0a0000000d4948445200000002000000021000000000074d8ebb00000012494441\
                    54789c636060f8ff9f41c8a48101000ee102c5e1ce5a490000000049454e44ae426082
                    """))
        #expect(gray16[0, 0] == .gray(0) && gray16[1, 0] == .gray(255))
        #expect(gray16[0, 1] == .gray(0x12) && gray16[1, 1] == .gray(0x80))

        let grayAlpha = try PNGDecoder.decode(
            bytes(
                hex: """
                    89504e470d0a1a0a0000000d49484452000000020000000108040000005e2bb7010000000d494441\
                    54789c63e01239f11f0002f801e65c90ecab0000000049454e44ae426082
                    """))
        #expect(grayAlpha[0, 0] == RGBA(10, 10, 10, 20))
        #expect(grayAlpha[1, 0] == RGBA(200, 200, 200, 255))
    }

    @Test func corruptedDataThrows() throws {
        let good = try PNGEncoder().encode(noiseBitmap(width: 8, height: 8))
        #expect(throws: PNGError.notPNG) { try PNGDecoder.decode(Array(good.dropFirst())) }
        #expect(throws: PNGError.notPNG) { try PNGDecoder.decode([]) }
        #expect(throws: PNGError.truncated) { try PNGDecoder.decode(Array(good.prefix(40))) }
        #expect(throws: PNGError.truncated) { try PNGDecoder.decode(Array(good.dropLast(12))) }

        // Flip one bit inside every chunk region in turn: each must be rejected.
        for offset in [17, 20, 30, 40, good.count - 20, good.count - 6] {
            var damaged = good
            damaged[offset] ^= 0x04
            #expect(throws: PNGError.self) { try PNGDecoder.decode(damaged) }
        }

        // A flipped IHDR byte is reported as a CRC mismatch of that chunk.
        var badHeader = good
        badHeader[19] ^= 0x01
        #expect {
            try PNGDecoder.decode(badHeader)
        } throws: { error in
            if case .crcMismatch(chunk: "IHDR", _, _)? = error as? PNGError { return true }
            return false
        }
    }

    @Test func randomDamageNeverCrashes() throws {
        let good = try PNGEncoder(filter: .adaptive).encode(noiseBitmap(width: 12, height: 9))
        var state: UInt64 = 12345
        func next() -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int(truncatingIfNeeded: state >> 33)
        }
        var rejected = 0
        for _ in 0..<400 {
            var damaged = good
            for _ in 0...(next() % 3) { damaged[next() % damaged.count] = UInt8(next() & 0xFF) }
            // `decode` throws only PNGError (typed throws); anything else would not compile.
            do {
                _ = try PNGDecoder.decode(damaged)
            } catch {
                rejected += 1
            }
        }
        #expect(rejected > 350)  // only a byte rewritten with its own value goes unnoticed
        for length in 0..<good.count {
            #expect(throws: PNGError.self) { try PNGDecoder.decode(Array(good.prefix(length))) }
        }
    }

    @Test func implausiblyLargeHeaderIsRejectedBeforeAllocating() {
        // Claims 16000 × 16000 RGBA pixels but carries a few bytes of image data.
        let huge = makePNG(header: [0, 0, 0x3E, 0x80, 0, 0, 0x3E, 0x80, 8, 6, 0, 0, 0], raw: [0])
        #expect {
            try PNGDecoder.decode(huge)
        } throws: { error in
            if case .corruptImageData? = error as? PNGError { return true }
            return false
        }
    }

    @Test func structurallyInvalidChunksThrowEvenWithValidCRCs() throws {
        // Invalid filter type 7 on the only row, with correct CRCs and a valid zlib stream.
        let badFilter = makePNG(
            header: [0, 0, 0, 1, 0, 0, 0, 1, 8, 2, 0, 0, 0], raw: [7, 1, 2, 3])
        #expect(throws: PNGError.invalidFilter(7, row: 0)) { try PNGDecoder.decode(badFilter) }

        // Too little image data for the declared size.
        let short = makePNG(header: [0, 0, 0, 2, 0, 0, 0, 1, 8, 2, 0, 0, 0], raw: [0, 1, 2, 3])
        #expect(throws: PNGError.self) { try PNGDecoder.decode(short) }

        // Bit depth 3 is not allowed.
        let badDepth = makePNG(header: [0, 0, 0, 1, 0, 0, 0, 1, 3, 0, 0, 0, 0], raw: [0, 0])
        #expect(throws: PNGError.invalidHeader("bit depth 3 with colour type 0")) {
            try PNGDecoder.decode(badDepth)
        }

        // Zero width.
        let empty = makePNG(header: [0, 0, 0, 0, 0, 0, 0, 1, 8, 2, 0, 0, 0], raw: [0])
        #expect(throws: PNGError.invalidDimensions(width: 0, height: 1)) {
            try PNGDecoder.decode(empty)
        }

        // Interlaced images are reported as unsupported rather than misdecoded.
        let interlaced = makePNG(header: [0, 0, 0, 1, 0, 0, 0, 1, 8, 0, 0, 0, 1], raw: [0, 0])
        #expect(throws: PNGError.unsupported("Adam7 interlacing")) {
            try PNGDecoder.decode(interlaced)
        }
    }

    @Test func writeIsAtomicAndLeavesNoTemporaryFiles() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/image.png"
        let first = noiseBitmap(width: 5, height: 4)
        try first.write(to: path)
        let second = noiseBitmap(width: 6, height: 2, seed: 3)
        try second.write(to: path)  // replaces the file
        #expect(try Bitmap(contentsOfPNGFile: path) == second)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == ["image.png"])

        // A destination whose directory is missing fails cleanly.
        #expect(throws: FileIOError.self) { try first.write(to: directory + "/missing/x.png") }
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == ["image.png"])

        // Renaming over a directory fails after the temporary file was written; it is removed
        // and the directory is untouched.
        try FileManager.default.createDirectory(
            atPath: directory + "/taken.png", withIntermediateDirectories: false)
        try FileManager.default.createDirectory(
            atPath: directory + "/taken.png/child", withIntermediateDirectories: false)
        #expect(throws: FileIOError.self) { try first.write(to: directory + "/taken.png") }
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
                == ["image.png", "taken.png"])
    }

    @Test func readingMissingFileThrowsFileError() {
        #expect(throws: FileIOError.self) {
            try PNGDecoder.decodeFile(atPath: "/nonexistent/AttentionPlot/none.png")
        }
    }

    // MARK: Helpers

    private func countChunks(_ type: String, in png: [UInt8]) -> Int {
        var offset = 8
        var count = 0
        while offset + 8 <= png.count {
            let length =
                Int(png[offset]) << 24 | Int(png[offset + 1]) << 16 | Int(png[offset + 2]) << 8
                | Int(png[offset + 3])
            if String(decoding: png[(offset + 4)..<(offset + 8)], as: UTF8.self) == type {
                count += 1
            }
            offset += 12 + length
        }
        return count
    }

    /// A PNG with the given IHDR payload and uncompressed scanlines, with valid CRCs.
    private func makePNG(header: [UInt8], raw: [UInt8]) -> [UInt8] {
        var png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        func chunk(_ type: String, _ data: [UInt8]) {
            let body = Array(type.utf8) + data
            png += bigEndian(UInt32(data.count)) + body + bigEndian(CRC32.checksum(body))
        }
        chunk("IHDR", header)
        chunk("IDAT", storedZlib(raw))
        chunk("IEND", [])
        return png
    }

    /// A zlib stream holding `data` in one uncompressed ("stored") deflate block.
    private func storedZlib(_ data: [UInt8]) -> [UInt8] {
        let length = UInt16(data.count)
        var a: UInt32 = 1
        var b: UInt32 = 0
        for byte in data {
            a = (a + UInt32(byte)) % 65521
            b = (b + a) % 65521
        }
        return [
            0x78, 0x01, 0x01, UInt8(length & 0xFF), UInt8(length >> 8),
            UInt8(~length & 0xFF), UInt8(~length >> 8),
        ] + data + bigEndian(b << 16 | a)
    }

    private func bigEndian(_ value: UInt32) -> [UInt8] {
        [
            UInt8(value >> 24), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF),
            UInt8(value & 0xFF),
        ]
    }
}
