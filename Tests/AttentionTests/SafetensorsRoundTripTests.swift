import Foundation
import Testing

@testable import Attention

/// Writing then reading: bit-exactness, layout, metadata, dtypes on write, atomicity.
@Suite struct SafetensorsRoundTripTests {
    typealias S = SafetensorsTestSupport

    static let specialFloats: [Float] = [
        0, -0.0, 1, -1, .infinity, -.infinity, .nan, -.nan,
        Float(bitPattern: 0x7FC1_2345),  // quiet NaN with payload
        Float(bitPattern: 0x7F80_0001),  // signaling NaN
        Float(bitPattern: 0xFFBF_FFFF),  // negative signaling NaN, full payload
        .leastNonzeroMagnitude, -.leastNonzeroMagnitude, Float(bitPattern: 0x007F_FFFF),
        .leastNormalMagnitude, .greatestFiniteMagnitude, -.greatestFiniteMagnitude, .pi, 0.1,
    ]

    @Test func f32IsBitExactThroughAFile() throws {
        let directory = try S.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/special.safetensors"
        var rng = S.RNG(seed: 7)
        let random = (0..<1000).map { _ in
            Float(bitPattern: UInt32.random(in: 0...UInt32.max, using: &rng))
        }
        let special = try Tensor(shape: [Self.specialFloats.count], scalars: Self.specialFloats)
        let noise = try Tensor(shape: [10, 100], scalars: random)
        try SafetensorsFile.write(["special": special, "noise": noise], to: path)

        let file = try SafetensorsFile(contentsOf: path)
        #expect(file.names == ["noise", "special"])
        #expect(file.metadata.isEmpty)
        #expect(try file.dtype(of: "special") == .f32)
        #expect(try S.bits(file.tensor(named: "special").scalars) == S.bits(Self.specialFloats))
        #expect(try file.shape(of: "noise") == [10, 100])
        #expect(try S.bits(file.tensor(named: "noise").scalars) == S.bits(random))
        #expect(try file.tensors().keys.sorted() == ["noise", "special"])
    }

    @Test func exactBytesOfASmallFile() throws {
        let a = try Tensor(shape: [2], scalars: [1, -2])
        let bytes = try SafetensorsFile.encode([
            (name: "b", tensor: Tensor(0.5), dtype: .f32), (name: "a", tensor: a, dtype: .f32),
        ])
        let header =
            #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"#
            + #""b":{"dtype":"F32","shape":[],"data_offsets":[8,12]}}"#
        let padded = header + String(repeating: " ", count: (8 - header.utf8.count % 8) % 8)
        let expected =
            S.le(UInt64(padded.utf8.count)) + Array(padded.utf8)
            + S.le(Float(1).bitPattern) + S.le(Float(-2).bitPattern) + S.le(Float(0.5).bitPattern)
        #expect(bytes == expected)
        #expect(padded.utf8.count % 8 == 0)
    }

    @Test func outputIsDeterministic() throws {
        var tensors: [String: Tensor] = [:]
        for i in 0..<20 {
            tensors["t\(i)"] = try Tensor(
                shape: [i % 3 + 1], scalars: (0...(i % 3)).map(Float.init))
        }
        let first = try SafetensorsFile.encode(tensors, metadata: ["x": "1", "y": "2", "a": "3"])
        var reordered: [String: Tensor] = [:]
        for (key, value) in tensors.shuffled() { reordered[key] = value }
        let second = try SafetensorsFile.encode(
            reordered, metadata: ["a": "3", "y": "2", "x": "1"])
        #expect(first == second)
        let length = (0..<8).reduce(0) { $0 | Int(first[$1]) << (8 * $1) }
        #expect(length % 8 == 0)
        #expect(
            String(decoding: first[8..<(8 + length)], as: UTF8.self).hasPrefix(
                #"{"__metadata__":{"a":"3","x":"1","y":"2"},"t0":"#))
    }

    @Test func metadataRoundTrip() throws {
        let metadata = [
            "format": "pt", "empty": "", "quote\"back\\slash": "line\nbreak\ttab\u{1}\u{7F}",
            "ünïcødé 🚀": "値", "/": "\u{2028}",
        ]
        let bytes = try SafetensorsFile.encode(["x": Tensor(1)], metadata: metadata)
        let file = try SafetensorsFile(bytes: bytes)
        #expect(file.metadata == metadata)
        #expect(file.names == ["x"])
        // No tensors at all is a valid file too.
        let empty = try SafetensorsFile(bytes: SafetensorsFile.encode([:], metadata: ["k": "v"]))
        #expect(empty.names.isEmpty)
        #expect(empty.metadata == ["k": "v"])
    }

    @Test func namesAreEscapedAndSortedByBytes() throws {
        let names = ["b", "a\"q", "a\\", "ä", "Z", "a.b/c", "\u{0}"]
        var entries: [(name: String, tensor: Tensor, dtype: SafetensorsDType)] = []
        for (i, name) in names.enumerated() { entries.append((name, Tensor(Float(i)), .f32)) }
        let file = try SafetensorsFile(bytes: SafetensorsFile.encode(entries))
        #expect(file.names == names.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) })
        for (i, name) in names.enumerated() {
            #expect(try file.tensor(named: name) == Tensor(Float(i)))
        }
    }

    @Test func viewsAreWrittenRowMajor() throws {
        let x = try Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])
        let file = try SafetensorsFile(bytes: SafetensorsFile.encode(["t": x.transposed(0, 1)]))
        #expect(try file.tensor(named: "t") == Tensor(shape: [3, 2], scalars: [1, 4, 2, 5, 3, 6]))
        let zero = try SafetensorsFile(bytes: SafetensorsFile.encode(["z": Tensor.zeros([4, 0])]))
        #expect(try zero.tensor(named: "z").shape == [4, 0])
    }

    @Test func everyDTypeOnWrite() throws {
        let values: [Float] = [0, 1, -0.0, 3, 100]
        let t = try Tensor(shape: [5], scalars: values)
        for dtype in SafetensorsDType.allCases {
            let input =
                dtype.rawValue.hasPrefix("U") || dtype == .bool
                ? t : try Tensor(shape: [5], scalars: values.map { -$0 })
            let file = try SafetensorsFile(
                bytes: SafetensorsFile.encode([(name: "t", tensor: input, dtype: dtype)]))
            #expect(try file.dtype(of: "t") == dtype)
            let back = try file.tensor(named: "t").scalars
            if dtype == .bool {
                #expect(back == [0, 1, 0, 1, 1])
            } else {
                #expect(back == input.scalars, "\(dtype)")
            }
        }
    }

    @Test func masksAndRounding() throws {
        let mask = try Tensor(shape: [6], scalars: [0, 1, -3, 0.5, .nan, -0.0])
        let file = try SafetensorsFile(
            bytes: SafetensorsFile.encode([(name: "m", tensor: mask, dtype: .bool)]))
        #expect(try file.tensor(named: "m").scalars == [0, 1, 1, 1, 1, 0])

        let halfish = try Tensor(shape: [4], scalars: [1 + 0x1p-11, 65520, 0.1, .nan])
        let encoded = try SafetensorsFile(
            bytes: SafetensorsFile.encode([
                (name: "h", tensor: halfish, dtype: .f16),
                (name: "b", tensor: halfish, dtype: .bf16),
            ]))
        let h = try encoded.tensor(named: "h").scalars
        #expect(Array(h.prefix(3)) == [1, .infinity, 0.0999755859375])
        #expect(h[3].isNaN)
        let b = try encoded.tensor(named: "b").scalars
        #expect(Array(b.prefix(3)) == [1, 65536, 0.10009765625])
        #expect(b[3].isNaN)
    }

    @Test func integerDTypesRejectValuesTheyCannotHold() throws {
        let cases: [(Float, SafetensorsDType, String)] = [
            (2.5, .u8, "0...255"), (256, .u8, "0...255"), (-1, .u8, "0...255"),
            (.nan, .u8, "0...255"),
            (128, .i8, "-128...127"),
            (.infinity, .i64, "-9223372036854775808...9223372036854775807"),
            (0x1p64, .u64, "0...18446744073709551615"),
        ]
        for (value, dtype, range) in cases {
            let t = try Tensor(shape: [2], scalars: [0, value])
            let error = #expect(throws: AttentionError.self) {
                try SafetensorsFile.encode([(name: "mask", tensor: t, dtype: dtype)])
            }
            #expect(error?.kind == .invalidArgument)
            #expect(
                error?.message.contains(
                    "tensor \"mask\": element 1 is \(value), which \(dtype.rawValue) cannot store")
                    == true, "\(String(describing: error))")
            #expect(error?.message.contains(range) == true)
        }
    }

    @Test func writerRejectsBadNames() throws {
        let duplicate = #expect(throws: AttentionError.self) {
            try SafetensorsFile.encode([
                (name: "a", tensor: Tensor(1), dtype: .f32),
                (name: "a", tensor: Tensor(2), dtype: .u8),
            ])
        }
        #expect(duplicate?.message.contains("duplicate tensor name \"a\"") == true)
        let reserved = #expect(throws: AttentionError.self) {
            try SafetensorsFile.encode(["__metadata__": Tensor(1)])
        }
        #expect(reserved?.message.contains("reserved") == true)
    }

    @Test func writesAreAtomic() throws {
        let directory = try S.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/model.safetensors"
        try SafetensorsFile.write(["x": Tensor(1)], to: path)
        let before = try Data(contentsOf: URL(fileURLWithPath: path))

        // A failure mid-write (the second tensor cannot be stored as U8) leaves the old file.
        let bad = try Tensor(shape: [2], scalars: [1, 2.5])
        let error = #expect(throws: AttentionError.self) {
            try SafetensorsFile.write(
                [
                    (name: "a", tensor: Tensor.ones([1000]), dtype: .f32),
                    (name: "b", tensor: bad, dtype: .u8),
                ],
                to: path)
        }
        #expect(error?.argument == path)
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == before)
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: directory) == ["model.safetensors"])

        // Overwriting succeeds and leaves no temporary file behind.
        try SafetensorsFile.write(["y": Tensor(2)], metadata: ["v": "2"], to: path)
        #expect(try SafetensorsFile(contentsOf: path).names == ["y"])
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: directory) == ["model.safetensors"])

        // Unwritable destinations throw and create nothing.
        let missing = #expect(throws: AttentionError.self) {
            try SafetensorsFile.write(
                ["x": Tensor(1)], to: directory + "/no/such/dir/x.safetensors")
        }
        #expect(missing?.kind == .invalidFile)
        #expect(missing?.message.contains("cannot create temporary file") == true)
        let onDirectory = #expect(throws: AttentionError.self) {
            try SafetensorsFile.write(["x": Tensor(1)], to: directory)
        }
        #expect(onDirectory != nil)
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: directory) == ["model.safetensors"])
    }

    @Test func readingMissingFilesAndNames() throws {
        let missing = #expect(throws: AttentionError.self) {
            try SafetensorsFile(contentsOf: "/nonexistent/dir/model.safetensors")
        }
        #expect(missing?.kind == .invalidFile)
        #expect(
            missing?.description
                == "/nonexistent/dir/model.safetensors: cannot read: No such file or directory")

        let file = try SafetensorsFile(
            bytes: SafetensorsFile.encode(["a": Tensor(1), "b": Tensor(2)]), source: "w.safetensors"
        )
        let noName = #expect(throws: AttentionError.self) { try file.tensor(named: "c") }
        #expect(noName?.kind == .invalidArgument)
        #expect(
            noName?.description
                == "w.safetensors: no tensor named \"c\" (the file has 2 tensors: \"a\", \"b\")")
        #expect(throws: AttentionError.self) { try file.shape(of: "c") }
        #expect(throws: AttentionError.self) { try file.dtype(of: "c") }
        #expect(
            try file.info(of: "b")
                == SafetensorsTensorInfo(dtype: .f32, shape: [], dataOffsets: 4..<8))
    }

    @Test func largeFileReadsQuickly() throws {
        let directory = try S.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/big.safetensors"
        let count = 25_000_000  // 100 MB of F32
        let big = try Tensor(shape: [count], repeating: 0.25)
        try SafetensorsFile.write(["big": big], to: path)
        let clock = ContinuousClock()
        var tensor: Tensor?
        let elapsed = try clock.measure {
            tensor = try SafetensorsFile(contentsOf: path).tensor(named: "big")
        }
        #expect(tensor?.count == count)
        #expect(tensor?.scalars.last == 0.25)
        #expect(elapsed < .seconds(5), "reading 100 MB took \(elapsed)")
    }
}
