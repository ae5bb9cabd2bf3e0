import Attention

/// Seeded stand-in token embeddings for figures: each distinct lowercase token gets one fixed
/// random vector, so repeated words ("The" … "the") share it, and the vector depends only on
/// the token's text and the seed (not on the sentence it appears in).
///
///     e(token) = N(0, 1)^E drawn with seed = seed ⊕ FNV-1a-64(lowercased(token))
///
/// Shapes: `S` tokens, `E` = `dimensions`.
struct TokenEmbedding: Sendable {
    /// Features per token, `E`.
    let dimensions: Int
    /// Seed mixed into every token's vector.
    let seed: UInt64

    /// The vector of one token, `[E]`.
    func vector(for token: String) -> [Float] {
        Tensor.randomNormal([dimensions], seed: seed ^ Self.fnv1a(token.lowercased())).scalars
    }

    /// The embeddings of a token sequence, `[1, S, E]`.
    func callAsFunction(_ tokens: [String]) throws -> Tensor {
        try Tensor(shape: [1, tokens.count, dimensions], scalars: tokens.flatMap(vector(for:)))
    }

    /// FNV-1a, 64-bit, of the UTF-8 bytes: a stable hash (Swift's `Hasher` is reseeded
    /// every process, which would make figures irreproducible).
    static func fnv1a(_ text: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        return hash
    }
}
