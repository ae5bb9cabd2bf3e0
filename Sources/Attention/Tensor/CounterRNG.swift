import Foundation

/// A counter-based random number generator: the value at a counter depends only on
/// (seed, counter), so results are the same on every machine and under any thread schedule.
///
/// It hashes `seed` and the counter with two rounds of the SplitMix64 finalizer (a bijective
/// 64-bit mixer), which passes BigCrush when used this way.
public struct CounterRNG: Sendable, Hashable {
    public let seed: UInt64

    public init(seed: UInt64) { self.seed = seed }

    /// 64 random bits for `counter`.
    @inlinable
    public func bits(at counter: UInt64) -> UInt64 {
        CounterRNG.mix(
            CounterRNG.mix(seed &+ 0x9E37_79B9_7F4A_7C15) ^ (counter &* 0xD1B5_4A32_D192_ED03))
    }

    /// A uniform `Float` in [0, 1) with 24 random bits.
    @inlinable
    public func uniform(at counter: UInt64) -> Float {
        Float(bits(at: counter) >> 40) * 0x1p-24
    }

    /// A standard normal `Float` (Box–Muller on the two halves of one 64-bit draw).
    public func normal(at counter: UInt64) -> Float {
        let b = bits(at: counter)
        let u1 = (Double(b >> 32) + 0.5) * 0x1p-32  // (0, 1): log is finite
        let u2 = Double(b & 0xFFFF_FFFF) * 0x1p-32
        return Float((-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2))
    }

    @inlinable
    static func mix(_ x: UInt64) -> UInt64 {
        var z = x &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// A sequential generator (SplitMix64) for code that draws values one after another,
/// e.g. choosing BigBird's random keys. Conforms to `RandomNumberGenerator`.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    public private(set) var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

extension Tensor {
    /// Normally distributed values, reproducible from `seed` on every machine.
    public static func randomNormal(
        _ shape: [Int], mean: Float = 0, standardDeviation: Float = 1, seed: UInt64
    ) -> Tensor {
        let rng = CounterRNG(seed: seed)
        let n = shape.reduce(1, *)
        return Tensor(
            unchecked: shape,
            storage: (0..<n).map { mean + standardDeviation * rng.normal(at: UInt64($0)) })
    }

    /// Uniformly distributed values in `range`, reproducible from `seed` on every machine.
    public static func randomUniform(
        _ shape: [Int], in range: ClosedRange<Float> = 0...1, seed: UInt64
    ) -> Tensor {
        let rng = CounterRNG(seed: seed)
        let n = shape.reduce(1, *)
        let width = range.upperBound - range.lowerBound
        return Tensor(
            unchecked: shape,
            storage: (0..<n).map { range.lowerBound + width * rng.uniform(at: UInt64($0)) })
    }
}
