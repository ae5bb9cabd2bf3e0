extension SafetensorsFile {
    /// Writes tensors, each stored with its own dtype, to a safetensors file.
    ///
    /// The output is deterministic: tensors are laid out sorted by name (UTF-8 byte order),
    /// `"__metadata__"` comes first with its keys sorted, and the JSON header is padded with
    /// spaces to a multiple of 8 bytes so the data buffer is 8-byte aligned (as the reference
    /// writer does). The file is written to a temporary file in the same directory, synced,
    /// and renamed over `path`; on any error (or SIGINT, SIGTERM, SIGHUP) no partial or
    /// temporary file remains and an existing file at `path` is left untouched. A symbolic
    /// link at `path` is followed (its target is replaced), an existing file keeps its mode,
    /// and a device or FIFO such as `/dev/null` is written directly instead of replaced.
    ///
    /// What each dtype stores: F32 is bit-exact (NaN payloads included); F64 is exact; F16 and
    /// BF16 store a tensor of the same ``Tensor/dtype`` bit for bit and round others to
    /// nearest, ties to even (overflow gives infinity); BOOL stores 1 for every
    /// nonzero value (NaN included), which suits masks; integer types (U8, I8, …, I64) store
    /// values that are integers in the type's range and throw for anything else.
    ///
    /// ```swift
    /// try SafetensorsFile.write(
    ///     [(name: "scores", tensor: scores, dtype: .f32), (name: "mask", tensor: mask, dtype: .bool)],
    ///     metadata: ["format": "pt"], to: "out.safetensors")
    /// ```
    /// - Throws: ``AttentionError``: `.invalidArgument` for duplicate names, the reserved name
    ///   `"__metadata__"` or a value the dtype cannot store; `.invalidFile` if the file cannot
    ///   be written.
    public static func write(
        _ tensors: [(name: String, tensor: Tensor, dtype: SafetensorsDType)],
        metadata: [String: String] = [:],
        to path: String
    ) throws {
        let plan = try Plan(tensors, metadata: metadata, source: path)
        try SafetensorsPOSIX.writeAtomically(toPath: path) { emit in try plan.emit(emit) }
    }

    /// Writes tensors, each stored in its own ``Tensor/dtype`` (F32, BF16 or F16, bit-exact),
    /// to a safetensors file; see `write(_:metadata:to:)` for layout and atomicity.
    public static func write(
        _ tensors: [String: Tensor], metadata: [String: String] = [:], to path: String
    ) throws {
        try write(
            tensors.map { ($0.key, $0.value, $0.value.dtype.safetensorsDType) }, metadata: metadata,
            to: path)
    }

    /// The bytes `write(_:metadata:to:)` would write, as an in-memory file.
    public static func encode(
        _ tensors: [(name: String, tensor: Tensor, dtype: SafetensorsDType)],
        metadata: [String: String] = [:]
    ) throws -> [UInt8] {
        let plan = try Plan(tensors, metadata: metadata, source: "<safetensors data>")
        var bytes: [UInt8] = []
        bytes.reserveCapacity(plan.totalSize)
        try plan.emit { bytes.append(contentsOf: $0) }
        return bytes
    }

    /// The bytes of a file storing each tensor in its own dtype; see `encode(_:metadata:)`.
    public static func encode(_ tensors: [String: Tensor], metadata: [String: String] = [:])
        throws -> [UInt8]
    {
        try encode(
            tensors.map { ($0.key, $0.value, $0.value.dtype.safetensorsDType) }, metadata: metadata)
    }
}
