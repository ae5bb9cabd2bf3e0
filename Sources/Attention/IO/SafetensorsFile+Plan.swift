extension SafetensorsFile {
    /// The layout of a file about to be written: header bytes and the tensors in data order.
    struct Plan {
        let source: String
        let header: [UInt8]
        let entries: [(name: String, tensor: Tensor, dtype: SafetensorsDType)]
        let totalSize: Int

        init(
            _ tensors: [(name: String, tensor: Tensor, dtype: SafetensorsDType)],
            metadata: [String: String], source: String
        ) throws {
            self.source = source
            var seen = Set<String>()
            for entry in tensors {
                guard entry.name != SafetensorsHeader.metadataKey else {
                    throw AttentionError(
                        .invalidArgument, argument: source,
                        "\"\(SafetensorsHeader.metadataKey)\" is reserved and cannot name a tensor")
                }
                guard seen.insert(entry.name).inserted else {
                    throw AttentionError(
                        .invalidArgument, argument: source,
                        "duplicate tensor name \(SafetensorsHeader.quoted(entry.name))")
                }
            }
            let ordered = tensors.sorted { $0.name.utf8.lexicographicallyPrecedes($1.name.utf8) }

            var json = "{"
            var needsComma = false
            if !metadata.isEmpty {
                json += Self.quote(SafetensorsHeader.metadataKey) + ":{"
                let keys = metadata.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
                json += keys.map { Self.quote($0) + ":" + Self.quote(metadata[$0]!) }
                    .joined(separator: ",")
                json += "}"
                needsComma = true
            }
            var offset = 0
            for entry in ordered {
                let (byteCount, overflow) = entry.tensor.count.multipliedReportingOverflow(
                    by: entry.dtype.byteSize)
                let (end, overflow2) = offset.addingReportingOverflow(byteCount)
                guard !overflow && !overflow2 else {
                    throw AttentionError(
                        .invalidArgument, argument: source, "total tensor size overflows Int")
                }
                if needsComma { json += "," }
                needsComma = true
                json += Self.quote(entry.name)
                json += ":{\"dtype\":\"\(entry.dtype.rawValue)\",\"shape\":["
                json += entry.tensor.shape.map(String.init).joined(separator: ",")
                json += "],\"data_offsets\":[\(offset),\(end)]}"
                offset = end
            }
            json += "}"
            var header = Array(json.utf8)
            header.append(
                contentsOf: repeatElement(UInt8(ascii: " "), count: (8 - header.count % 8) % 8))
            self.header = header
            self.entries = ordered
            self.totalSize = 8 + header.count + offset
        }

        /// Emits the whole file: length, header, then each tensor's bytes.
        func emit(_ sink: (UnsafeRawBufferPointer) throws -> Void) throws {
            let length = UInt64(header.count).littleEndian
            try withUnsafeBytes(of: length) { try sink($0) }
            try header.withUnsafeBytes { try sink($0) }
            for entry in entries where entry.tensor.count > 0 {
                if entry.tensor.dtype != .f32, entry.dtype == entry.tensor.dtype.safetensorsDType,
                    let bits = entry.tensor.bits
                {  // bf16/f16 stored as they are: bit for bit
                    try bits.map(\.littleEndian).withUnsafeBytes { try sink($0) }
                    continue
                }
                try SafetensorsConversion.withEncodedBytes(
                    entry.tensor.scalars, as: entry.dtype, tensorName: entry.name, source: source,
                    sink)
            }
        }

        /// `text` as a JSON string literal (non-ASCII characters are kept as UTF-8).
        static func quote(_ text: String) -> String {
            var out = [UInt8(ascii: "\"")]
            for byte in text.utf8 {
                switch byte {
                case UInt8(ascii: "\""): out += [UInt8(ascii: "\\"), UInt8(ascii: "\"")]
                case UInt8(ascii: "\\"): out += [UInt8(ascii: "\\"), UInt8(ascii: "\\")]
                case 0x0A: out += [UInt8(ascii: "\\"), UInt8(ascii: "n")]
                case 0x0D: out += [UInt8(ascii: "\\"), UInt8(ascii: "r")]
                case 0x09: out += [UInt8(ascii: "\\"), UInt8(ascii: "t")]
                case 0..<0x20:
                    let hex = String(byte, radix: 16)
                    out += Array("\\u00\(hex.count == 1 ? "0" : "")\(hex)".utf8)
                default: out.append(byte)
                }
            }
            out.append(UInt8(ascii: "\""))
            return String(decoding: out, as: UTF8.self)
        }
    }
}
