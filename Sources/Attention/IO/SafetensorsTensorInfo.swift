/// What a safetensors header says about one tensor: element type, shape and where its bytes
/// lie in the data buffer.
///
/// Values returned by ``SafetensorsFile/info(of:)`` have been validated: ``byteCount`` equals
/// `count × dtype.byteSize` and the range lies inside the data buffer.
public struct SafetensorsTensorInfo: Sendable, Hashable {
    /// The element type.
    public let dtype: SafetensorsDType
    /// Extent of each axis (row-major); `[]` for a scalar.
    public let shape: [Int]
    /// The tensor's bytes, relative to the first byte after the header (`data_offsets`).
    public let dataOffsets: Range<Int>

    /// Creates an info value; no validation is done here.
    public init(dtype: SafetensorsDType, shape: [Int], dataOffsets: Range<Int>) {
        self.dtype = dtype
        self.shape = shape
        self.dataOffsets = dataOffsets
    }

    /// Number of elements (product of ``shape``).
    public var count: Int { shape.reduce(1, *) }

    /// Number of bytes in the data buffer (`dataOffsets.count`).
    public var byteCount: Int { dataOffsets.count }
}
