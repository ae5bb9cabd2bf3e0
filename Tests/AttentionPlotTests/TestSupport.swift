import Foundation

@testable import AttentionPlot

/// A fresh, uniquely named directory under the system temporary directory.
func makeTemporaryDirectory() throws -> String {
    let path = NSTemporaryDirectory() + "AttentionPlotTests-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// Bytes from a hexadecimal string (whitespace ignored).
func bytes(hex: String) -> [UInt8] {
    let digits = Array(hex.filter { !$0.isWhitespace })
    return stride(from: 0, to: digits.count, by: 2).map {
        UInt8(String(digits[$0...$0 + 1]), radix: 16)!
    }
}

/// A deterministic pseudo-random bitmap (xorshift), so failures reproduce.
func noiseBitmap(width: Int, height: Int, seed: UInt64 = 0x9E37_79B9_7F4A_7C15) -> Bitmap {
    var state = seed
    var pixels = [UInt8](repeating: 0, count: width * height * 4)
    for i in pixels.indices {
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        pixels[i] = UInt8(truncatingIfNeeded: state >> 24)
    }
    return Bitmap(width: width, height: height, pixels: pixels)
}

/// Whether a pixel differs clearly from white (used to find text and line ink).
func isInk(_ color: RGBA) -> Bool {
    Int(color.r) + Int(color.g) + Int(color.b) < 3 * 255 - 60
}
