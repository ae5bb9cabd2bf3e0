extension Bitmap {
    /// The image encoded as PNG.
    ///
    /// - Parameter encoder: Format and compression settings (RGBA by default).
    public func pngData(encoder: PNGEncoder = PNGEncoder()) throws(PNGError) -> [UInt8] {
        try encoder.encode(self)
    }

    /// Writes the image as a PNG file, atomically: a temporary file in the same directory is
    /// written, flushed and renamed over `path`, so a failure never leaves a partial file.
    ///
    /// - Throws: ``PNGError`` if encoding fails, ``FileIOError`` if the file cannot be
    ///   written.
    public func write(to path: String, encoder: PNGEncoder = PNGEncoder()) throws {
        try AtomicFile.write(encoder.encode(self), to: path)
    }

    /// Decodes PNG data (see ``PNGDecoder``).
    public init(pngData: [UInt8]) throws(PNGError) {
        self = try PNGDecoder.decode(pngData)
    }

    /// Reads and decodes a PNG file (see ``PNGDecoder``).
    ///
    /// - Throws: ``FileIOError`` or ``PNGError``.
    public init(contentsOfPNGFile path: String) throws {
        self = try PNGDecoder.decodeFile(atPath: path)
    }
}
