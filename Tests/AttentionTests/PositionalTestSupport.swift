import Foundation
import Testing
@testable import Attention

/// Helpers shared by the Positional*Tests suites.
enum PositionalTestSupport {
    /// The largest |actual − expected| over all elements (counts must match).
    static func maxAbsError(_ actual: [Float], _ expected: [Double]) -> Double {
        precondition(actual.count == expected.count, "\(actual.count) vs \(expected.count)")
        return zip(actual, expected).reduce(0) { Swift.max($0, abs(Double($1.0) - $1.1)) }
    }

    /// The largest |actual − expected| / |expected| over all elements.
    static func maxRelativeError(_ actual: [Float], _ expected: [Double]) -> Double {
        precondition(actual.count == expected.count, "\(actual.count) vs \(expected.count)")
        return zip(actual, expected).reduce(0) {
            Swift.max($0, abs(Double($1.0) - $1.1) / abs($1.1))
        }
    }

    /// Plain RoPE inverse frequencies θ_k = base^(−2k/d), in Double.
    static func plainFrequencies(dimensions d: Int, base: Double) -> [Double] {
        (0..<(d / 2)).map { pow(base, -2 * Double($0) / Double(d)) }
    }

    /// Double reference RoPE for a row-major `[..., S, D]` tensor whose sequence axis is the
    /// second-to-last: each pair (x₁, x₂) is read as the complex number x₁ + i·x₂ and
    /// multiplied by amplitude · e^{i·p·scale·θ_k} with p = offset + s. Features past
    /// `dimensions` are copied.
    static func referenceRoPE(
        _ x: Tensor, dimensions d: Int, traditional: Bool, frequencies: [Double], offset: Int,
        positionScale: Double = 1, amplitude: Double = 1
    ) -> [Double] {
        let features = x.shape[x.rank - 1], length = x.shape[x.rank - 2]
        let input = x.scalars.map(Double.init)
        var out = input
        let half = d / 2
        for row in 0..<(input.count / features) {
            let p = Double(offset + row % length)
            let base = row * features
            for k in 0..<half {
                let i1 = traditional ? base + 2 * k : base + k
                let i2 = traditional ? base + 2 * k + 1 : base + k + half
                let angle = p * positionScale * frequencies[k]
                // (a + ib) · r·(cos φ + i sin φ)
                let (a, b) = (input[i1], input[i2])
                let (c, s) = (amplitude * cos(angle), amplitude * sin(angle))
                out[i1] = a * c - b * s
                out[i2] = a * s + b * c
            }
        }
        return out
    }

    /// Runs `body`, expects an ``AttentionError`` about `argument` whose message starts with
    /// that name.
    static func expectError(
        naming argument: String, sourceLocation: SourceLocation = #_sourceLocation,
        _ body: () throws -> Void
    ) {
        let error = #expect(throws: AttentionError.self, sourceLocation: sourceLocation) {
            try body()
        }
        #expect(error?.argument == argument, sourceLocation: sourceLocation)
        #expect(
            error?.description.hasPrefix("\(argument): ") == true, sourceLocation: sourceLocation)
    }
}
