/// The pixel layout written by ``PNGEncoder``: 8 bits per channel, with or without alpha.
public enum PNGColorFormat: Sendable, Hashable, CaseIterable {
    /// Red, green, blue (PNG colour type 2). Alpha is dropped, so use it for opaque images.
    case rgb
    /// Red, green, blue, alpha (PNG colour type 6).
    case rgba

    /// Bytes per pixel: 3 or 4.
    public var bytesPerPixel: Int { self == .rgb ? 3 : 4 }

    /// The PNG colour type code.
    var colorType: UInt8 { self == .rgb ? 2 : 6 }
}
