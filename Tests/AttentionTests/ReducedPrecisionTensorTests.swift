import Foundation
import Testing

@testable import Attention

/// bf16/f16 tensors: conversions against independent references (exact Double arithmetic,
/// Swift's `Float16`), views, and safetensors round trips.
@Suite struct ReducedPrecisionTensorTests {
    /// The bf16 nearest to `x` by exact Double arithmetic: the two neighbours by truncation,
    /// ties to the even one.
    static func referenceBFloat16(_ x: Float) -> UInt16 {
        let down = UInt16(truncatingIfNeeded: x.bitPattern >> 16)
        if x.isInfinite { return down }
        let lo = Double(Float(bitPattern: UInt32(down) << 16))
        let hi = Double(Float(bitPattern: UInt32(down &+ 1) << 16))  // next away from zero
        let (dl, dh) = (abs(Double(x) - lo), abs(hi - Double(x)))
        if dl < dh || (dl == dh && down & 1 == 0) { return down }
        return down &+ 1
    }

    static func sampleFloats() -> [Float] {
        var rng = SplitMix64(seed: 7)
        var values: [Float] = [
            0, -0.0, 1, -1, 0.1, 1 + 0x1p-8, 1 + 0x1p-8 + 0x1p-20, 1 + 3 * 0x1p-8, 65504, 65520,
            65519.99, 0x1p-14, 0x1p-24, 0x1p-25, 0x1.8p-25, 0x1p-26,
            Float(1e-40 as Double), Float(-3e-39 as Double),  // binary32 subnormals
            .greatestFiniteMagnitude, -.greatestFiniteMagnitude, .infinity, -.infinity,
        ]
        for _ in 0..<20000 {
            values.append(Float(bitPattern: UInt32.random(in: 0...UInt32.max, using: &rng)))
        }
        return values.filter { !$0.isNaN }
    }

    @Test func bfloat16RoundsToNearestEven() throws {
        let values = Self.sampleFloats().filter { abs($0) < 0x1.fefp127 || $0.isInfinite }
        let t = try Tensor(shape: [values.count], scalars: values, dtype: .bf16)
        #expect(t.dtype == .bf16)
        let bits = try #require(t.bits)
        let wrong = zip(values, bits).filter { $0.1 != Self.referenceBFloat16($0.0) }
        #expect(wrong.isEmpty, "\(wrong.prefix(4).map { ($0.0.bitPattern, $0.1) })")
        // Widening is exact: the bits shifted into the top half.
        #expect(
            t.converted(to: .f32).scalars.map { $0.bitPattern } == bits.map { UInt32($0) << 16 })
    }

    @Test func nanStaysNaN() throws {
        let nans: [Float] = [
            .nan, -.nan, Float(bitPattern: 0x7F80_0001), Float(bitPattern: 0xFFC1_2345),
        ]
        for dtype in [DType.bf16, .f16] {
            let t = try Tensor(shape: [4], scalars: nans, dtype: dtype)
            #expect(t.scalars.allSatisfy { $0.isNaN })
            #expect(t.scalars.map { $0.sign } == nans.map { $0.sign })
        }
        // bf16 keeps the top 7 payload bits.
        let b = try Tensor(shape: [1], scalars: [Float(bitPattern: 0x7FC1_2345)], dtype: .bf16)
        #expect(b.bits == [0x7FC1])
    }

    #if !((os(macOS) || targetEnvironment(macCatalyst)) && arch(x86_64))
        @Test func float16MatchesSwiftFloat16() throws {
            // Narrowing: every sample, subnormals and overflow included.
            let values = Self.sampleFloats()
            for isa in [InstructionSet.portable, AttentionConfiguration.detectedInstructionSet] {
                let table = try #require(HalfKernelTable(.portable, instructionSet: isa))
                var out = [UInt16](repeating: 0, count: values.count)
                HalfConversion.narrow(values, to: .f16, into: &out, using: table.c)
                #expect(out == values.map { Float16($0).bitPattern }, "\(isa)")
                // Widening: all 65536 patterns (NaNs compared as NaN).
                let all = (0...UInt16.max).map { $0 }
                var wide = [Float](repeating: 0, count: all.count)
                HalfConversion.widen(all, from: .f16, into: &wide, using: table.c)
                let expected = all.map { Float(Float16(bitPattern: $0)) }
                #expect(
                    zip(wide, expected).allSatisfy {
                        $0.bitPattern == $1.bitPattern || ($0.isNaN && $1.isNaN)
                    }, "\(isa)")
            }
        }
    #endif

    @Test func portableAndVectorConversionsAgree() throws {
        let values = Self.sampleFloats() + [.nan, Float(bitPattern: 0xFFC1_2345)]
        for dtype in [DType.bf16, .f16] {
            for isa in InstructionSet.supported {
                let table = try #require(HalfKernelTable(.portable, instructionSet: isa))
                var out = [UInt16](repeating: 0, count: values.count)
                HalfConversion.narrow(values, to: dtype, into: &out, using: table.c)
                // and the Swift scalar conversion of the safetensors reader
                #expect(out == values.map { dtype.bits($0) }, "\(dtype) \(isa)")
            }
        }
        // Widening every 2-byte pattern gives the same bits on every instruction set, signalling
        // NaNs included (vcvtph2ps quiets them; the F16C code restores the quiet bit).
        let all = (0...UInt16.max).map { $0 }
        for dtype in [DType.bf16, .f16] {
            let portable = try #require(HalfKernelTable(.portable, instructionSet: .portable))
            var expected = [Float](repeating: 0, count: all.count)
            HalfConversion.widen(all, from: dtype, into: &expected, using: portable.c)
            #expect(expected[0x7D00].bitPattern == (dtype == .f16 ? 0x7FA0_0000 : 0x7D00_0000))
            for isa in InstructionSet.supported {
                let table = try #require(HalfKernelTable(.portable, instructionSet: isa))
                var wide = [Float](repeating: 0, count: all.count)
                HalfConversion.widen(all, from: dtype, into: &wide, using: table.c)
                let mismatches = zip(wide, expected).filter { $0.bitPattern != $1.bitPattern }.count
                #expect(mismatches == 0, "\(dtype) \(isa)")
            }
        }
    }

    @Test func viewsSubscriptsAndMath() throws {
        let x = try Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6.01], dtype: .bf16)
        let t = x.transposed(0, 1)
        #expect(t.dtype == .bf16)
        #expect(t[2, 1] == 6.0)  // 6.01 rounds to 6 in bf16
        #expect(t.contiguous().bits == [0x3F80, 0x4080, 0x4000, 0x40A0, 0x4040, 0x40C0])
        var y = x
        y[0, 0] = 1 + 0x1p-9  // a tie: rounds to the even 1
        #expect(y[0, 0] == 1 && x[0, 0] == 1 && y.dtype == .bf16)
        #expect((x * 2).dtype == .bf16)
        #expect(try (x + x.converted(to: .f32)).dtype == .f32)
        #expect(try x.reshaped([3, 2]).sliced(axis: 0, range: 1..<3).scalars == [3, 4, 5, 6])
        #expect(x.converted(to: .f16).converted(to: .bf16) == x)
        #expect(x != x.converted(to: .f32))
        #expect(throws: AttentionError.self) { try Tensor(shape: [2], bits: [1], dtype: .bf16) }
        #expect(throws: AttentionError.self) { try Tensor(shape: [1], bits: [1], dtype: .f32) }
    }

    @Test func safetensorsRoundTripIsBitExact() throws {
        var rng = SplitMix64(seed: 3)
        let patterns =
            (0..<4096).map { _ in UInt16.random(in: 0...UInt16.max, using: &rng) }
            + [0x0001, 0x8001, 0x7F80, 0x7FC1, 0xFFFF, 0x7C00, 0x03FF, 0]
        for dtype in [DType.bf16, .f16] {
            let t = try Tensor(shape: [patterns.count], bits: patterns, dtype: dtype)
            let view = try t.reshaped([patterns.count / 8, 8]).transposed(0, 1)
            let bytes = try SafetensorsFile.encode(["t": t, "v": view])
            let file = try SafetensorsFile(bytes: bytes)
            #expect(try file.dtype(of: "t") == dtype.safetensorsDType)
            let back = try file.tensor(named: "t")
            #expect(back.dtype == dtype && back.bits == patterns)
            #expect(try file.tensor(named: "v").bits == view.bits)
            // Explicit dtype entries store the same bytes.
            let explicit = try SafetensorsFile.encode([
                (name: "t", tensor: t, dtype: dtype.safetensorsDType),
                (name: "v", tensor: view, dtype: dtype.safetensorsDType),
            ])
            #expect(explicit == bytes)
            #expect(try file.tensor(named: "t", as: .f32).dtype == .f32)
        }
    }

    /// A file we write loads in Python's `safetensors` (skipped when python3 or the module
    /// is missing: the tests never need Python).
    @Test func pythonSafetensorsReadsOurFile() throws {
        guard let python = PythonProbe.withModules(["safetensors", "torch"]) else {
            print("skipped: python3 with safetensors and torch not found")
            return
        }
        let b = try Tensor(
            shape: [2, 3], scalars: [1, -2.5, 0.1, 65504, 1e-3, -0.0], dtype: .bf16)
        let h = try Tensor(shape: [3], scalars: [1, 0x1p-24, 65504], dtype: .f16)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent(
            "bf16-\(getpid()).safetensors"
        ).path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try SafetensorsFile.write(["b": b, "h": h], to: path)
        let script = """
            import sys, torch
            from safetensors.torch import load_file
            t = load_file(sys.argv[1])
            for name in ("b", "h"):
                x = t[name]
                bits = x.contiguous().view(torch.int16).flatten().tolist()
                print(name, x.dtype, list(x.shape), ",".join(str(v & 0xFFFF) for v in bits))
            """
        let output = try python.run(script, arguments: [path])
        let lines = output.split(separator: "\n").map(String.init)
        func bits(_ t: Tensor) -> String { t.bits!.map(String.init).joined(separator: ",") }
        #expect(lines == ["b torch.bfloat16 [2, 3] \(bits(b))", "h torch.float16 [3] \(bits(h))"])
    }
}

extension ReducedPrecisionTensorTests {
    /// `withUnsafeElements` on 2-byte views widens only the span the view reaches; every
    /// element read through the pointer and the strides equals the view's own value.
    @Test func widenedViewsReadTheirOwnElements() throws {
        let x = Tensor.randomNormal([4, 5, 6], seed: 50).converted(to: .bf16)
        let column = try x.sliced(axis: 2, range: 3..<4)
        let views: [(String, Tensor)] = [
            ("whole", x),
            ("slice", try x.sliced(axis: 1, range: 2..<4)),
            ("last rows", try x.sliced(axis: 0, range: 3..<4)),
            ("permuted", try x.permuted([2, 0, 1]).sliced(axis: 0, range: 1..<3)),
            ("broadcast", try column.expanded(to: [4, 5, 6])),
            ("empty", try x.sliced(axis: 1, range: 5..<5)),
        ]
        for (label, view) in views {
            let read: [Float] = view.withUnsafeElements { p in
                var out: [Float] = []
                func walk(_ axis: Int, _ at: Int) {
                    if axis == view.rank { out.append(p[at]); return }
                    for i in 0..<view.shape[axis] { walk(axis + 1, at + i * view.strides[axis]) }
                }
                walk(0, 0)
                return out
            }
            #expect(read == view.scalars, "\(label)")
        }
    }
}
