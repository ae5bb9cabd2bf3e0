/// An 8-bit-per-channel sRGB colour with straight (non-premultiplied) alpha.
///
/// ```swift
/// let blue = RGBA(hex: "#1f77b4")!
/// let translucent = blue.withAlpha(128)
/// ```
public struct RGBA: Sendable, Hashable, CustomStringConvertible {
    /// Red channel, 0–255.
    public var r: UInt8
    /// Green channel, 0–255.
    public var g: UInt8
    /// Blue channel, 0–255.
    public var b: UInt8
    /// Alpha channel, 0 (transparent) to 255 (opaque).
    public var a: UInt8

    /// Creates a colour from its four channels.
    public init(_ r: UInt8, _ g: UInt8, _ b: UInt8, _ a: UInt8 = 255) {
        self.r = r
        self.g = g
        self.b = b
        self.a = a
    }

    /// Creates a colour from channel values in `0...1`; values outside are clamped.
    public init(red: Double, green: Double, blue: Double, alpha: Double = 1) {
        self.init(
            RGBA.byte(fromUnit: red), RGBA.byte(fromUnit: green),
            RGBA.byte(fromUnit: blue), RGBA.byte(fromUnit: alpha))
    }

    /// Parses `"rrggbb"` or `"rrggbbaa"`, with or without a leading `#`, in either case.
    ///
    /// Returns `nil` for any other length or a non-hexadecimal digit.
    public init?(hex: String) {
        var digits = Substring(hex)
        if digits.hasPrefix("#") { digits = digits.dropFirst() }
        guard digits.count == 6 || digits.count == 8,
            let value = UInt32(digits, radix: 16)
        else { return nil }
        if digits.count == 6 {
            self.init(UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF))
        } else {
            self.init(
                UInt8(value >> 24), UInt8(value >> 16 & 0xFF),
                UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF))
        }
    }

    /// An opaque grey with all three colour channels equal to `level`.
    public static func gray(_ level: UInt8) -> RGBA { RGBA(level, level, level) }

    /// Opaque white.
    public static let white = RGBA(255, 255, 255)
    /// Opaque black.
    public static let black = RGBA(0, 0, 0)
    /// Fully transparent black.
    public static let transparent = RGBA(0, 0, 0, 0)

    /// matplotlib's default colour cycle (`tab10`), used for line series without an explicit colour.
    public static let tab10: [RGBA] = [
        RGBA(0x1F, 0x77, 0xB4), RGBA(0xFF, 0x7F, 0x0E), RGBA(0x2C, 0xA0, 0x2C),
        RGBA(0xD6, 0x27, 0x28), RGBA(0x94, 0x67, 0xBD), RGBA(0x8C, 0x56, 0x4B),
        RGBA(0xE3, 0x77, 0xC2), RGBA(0x7F, 0x7F, 0x7F), RGBA(0xBC, 0xBD, 0x22),
        RGBA(0x17, 0xBE, 0xCF),
    ]

    /// The same colour with a different alpha.
    public func withAlpha(_ alpha: UInt8) -> RGBA { RGBA(r, g, b, alpha) }

    /// Linear interpolation towards `other` in sRGB space; `fraction` is clamped to `0...1`.
    public func interpolated(to other: RGBA, fraction: Double) -> RGBA {
        let t = min(max(fraction, 0), 1)
        func mix(_ x: UInt8, _ y: UInt8) -> UInt8 {
            UInt8((Double(x) + (Double(y) - Double(x)) * t).rounded())
        }
        return RGBA(mix(r, other.r), mix(g, other.g), mix(b, other.b), mix(a, other.a))
    }

    /// `"#rrggbbaa"`.
    public var description: String {
        let value = UInt32(r) << 24 | UInt32(g) << 16 | UInt32(b) << 8 | UInt32(a)
        let digits = String(value, radix: 16)
        return "#" + String(repeating: "0", count: 8 - digits.count) + digits
    }

    static func byte(fromUnit value: Double) -> UInt8 {
        guard value.isFinite else { return value > 0 ? 255 : 0 }
        return UInt8((min(max(value, 0), 1) * 255).rounded())
    }
}
