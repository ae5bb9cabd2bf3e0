import Foundation

/// The fixed sine/cosine position encoding of the original Transformer ("Attention Is All
/// You Need", §3.5), added to the token embeddings.
///
/// For position `p` and feature pair `i`:
///
///     PE[p, 2i]     = sin(p / base^(2i/d))
///     PE[p, 2i + 1] = cos(p / base^(2i/d))
///
/// with `d = dimensions`. When `d` is odd the last column is a sine without its cosine.
/// The table is computed in Double and rounded once to Float.
///
/// Shapes: `B` batch, `S` sequence length, `E` = `dimensions` features; ``table`` is
/// `[maxLength, dimensions]`.
///
/// ```swift
/// let pe = try SinusoidalPositionalEncoding(dimensions: 64, maxLength: 512)
/// let y = try pe(x)               // x: [B, S, 64], positions 0..<S
/// let z = try pe(next, offset: 7) // next: [B, 1, 64] at position 7
/// ```
public struct SinusoidalPositionalEncoding: Sendable {
    /// Features per position (`d`, the model dimension).
    public let dimensions: Int
    /// Number of positions in ``table``; positions `0..<maxLength` can be encoded.
    public let maxLength: Int
    /// The wavelength base (10000 in the paper).
    public let base: Float
    /// The encodings, `[maxLength, dimensions]`; row `p` encodes position `p`.
    public let table: Tensor

    /// Builds the table for positions `0..<maxLength`.
    ///
    /// - Parameters:
    ///   - dimensions: features per position, `d` (odd values allowed).
    ///   - maxLength: number of positions in the table.
    ///   - base: the wavelength base; wavelengths grow geometrically from 2π to 2π·base.
    /// - Throws: ``AttentionError`` naming `dimensions`, `maxLength` or `base` when it is not
    ///   positive (and `base` finite).
    public init(dimensions: Int, maxLength: Int, base: Float = 10_000) throws {
        guard dimensions > 0 else {
            throw AttentionError.argument("dimensions", "must be > 0, got \(dimensions)")
        }
        guard maxLength > 0 else {
            throw AttentionError.argument("maxLength", "must be > 0, got \(maxLength)")
        }
        try Tensor.validate(shape: [maxLength, dimensions], argument: "maxLength")
        guard base.isFinite, base > 0 else {
            throw AttentionError.argument("base", "must be finite and > 0, got \(base)")
        }
        self.dimensions = dimensions
        self.maxLength = maxLength
        self.base = base
        let d = Double(dimensions), b = Double(base)
        // 1 / base^(2i/d) for each pair i (the even column index 2i).
        let frequencies = stride(from: 0, to: dimensions, by: 2).map { 1 / pow(b, Double($0) / d) }
        var values = [Float](repeating: 0, count: maxLength * dimensions)
        for p in 0..<maxLength {
            let row = p * dimensions
            for (i, frequency) in frequencies.enumerated() {
                let angle = Double(p) * frequency
                values[row + 2 * i] = Float(sin(angle))
                if 2 * i + 1 < dimensions { values[row + 2 * i + 1] = Float(cos(angle)) }
            }
        }
        table = Tensor(unchecked: [maxLength, dimensions], storage: values)
    }

    /// Adds the encodings of positions `offset..<offset + S` to `x`.
    ///
    ///     y[b, s, e] = x[b, s, e] + PE[offset + s, e]
    ///
    /// - Parameters:
    ///   - x: `[B, S, E]` or `[S, E]` (any number of leading axes), `E = dimensions`.
    ///   - offset: position of the first row (e.g. the number of tokens already in a cache).
    /// - Returns: a contiguous tensor of the shape of `x`.
    /// - Throws: ``AttentionError`` naming `input` when its rank is below 2 or `E` differs
    ///   from `dimensions`, or when the positions run past `maxLength` (named `offset`
    ///   when `offset > 0`); naming `offset` when it is negative.
    public func callAsFunction(_ x: Tensor, offset: Int = 0) throws -> Tensor {
        try x.addingPositionRows(of: table, offset: offset)
    }
}
