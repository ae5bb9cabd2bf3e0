import Attention
import Foundation

/// The model `attention train` fits: token embedding + learned (or fixed sinusoidal)
/// position embedding, `layers` residual self-attention blocks `x ← x + MHA(x)`, and an
/// output projection to the vocabulary, trained with softmax cross-entropy.
///
/// Gradients come from the library's explicit backward passes
/// (``MultiHeadAttention/valueAndGradient(_:keys:values:mask:isCausal:training:seed:backend:execution:)``,
/// ``Linear/valueAndGradient(_:execution:)``); the embeddings' gradients are sums of the
/// input gradient's rows.
struct SequenceModel {
    let vocabulary: Int, length: Int, dimensions: Int
    let learnedPositions: Bool
    /// `[vocabulary, dimensions]`.
    var embedding: Tensor
    /// `[length, dimensions]`: learned, or the fixed sinusoidal table.
    var positions: Tensor
    var layers: [MultiHeadAttention]
    var head: Linear
    var execution: ExecutionOptions

    init(
        vocabulary: Int, length: Int, dimensions: Int, heads: Int, layers: Int,
        learnedPositions: Bool, seed: UInt64, execution: ExecutionOptions
    ) throws {
        (self.vocabulary, self.length, self.dimensions) = (vocabulary, length, dimensions)
        self.learnedPositions = learnedPositions
        embedding = Tensor.randomNormal([vocabulary, dimensions], seed: seed) * 0.5
        positions =
            learnedPositions
            ? Tensor.randomNormal([length, dimensions], seed: seed &+ 1) * 0.5
            : try SinusoidalPositionalEncoding(dimensions: dimensions, maxLength: length).table
        var blocks: [MultiHeadAttention] = []
        for i in 0..<layers {
            var layer = try MultiHeadAttention(
                dimensions: dimensions, numHeads: heads, seed: seed &+ 100 &* UInt64(i + 1))
            layer.execution = execution
            blocks.append(layer)
        }
        self.layers = blocks
        head = try Linear(dimensions, vocabulary, seed: seed &+ 7)
        self.execution = execution
    }

    /// Every trainable parameter by name (`embedding`, `positions`, `layers.0.query_proj.weight`,
    /// …, `head.weight`, `head.bias`).
    func parameters() -> [String: Tensor] {
        var p = ["embedding": embedding]
        if learnedPositions { p["positions"] = positions }
        for (i, layer) in layers.enumerated() {
            for (name, t) in layer.parameters() { p["layers.\(i).\(name)"] = t }
        }
        for (name, t) in head.parameters() { p["head.\(name)"] = t }
        return p
    }

    mutating func update(parameters p: [String: Tensor]) throws {
        if let e = p["embedding"] { embedding = e }
        if learnedPositions, let t = p["positions"] { positions = t }
        for i in layers.indices {
            let prefix = "layers.\(i)."
            let mine = p.filter { $0.key.hasPrefix(prefix) }
            try layers[i].update(
                parameters: Dictionary(
                    uniqueKeysWithValues: mine.map {
                        (String($0.key.dropFirst(prefix.count)), $0.value)
                    }
                ))
        }
        try head.update(
            parameters: Dictionary(
                uniqueKeysWithValues: p.filter { $0.key.hasPrefix("head.") }.map {
                    (String($0.key.dropFirst("head.".count)), $0.value)
                }))
    }

    /// `[B, L, E]`: token rows plus position rows.
    func embed(_ tokens: [Int], batch: Int) -> Tensor {
        let (e, table, pos) = (dimensions, embedding.scalars, positions.scalars)
        var x = [Float](repeating: 0, count: batch * length * e)
        for r in 0..<batch * length {
            let t = tokens[r], s = r % length
            for c in 0..<e { x[r * e + c] = table[t * e + c] + pos[s * e + c] }
        }
        return try! Tensor(shape: [batch, length, e], scalars: x)
    }

    /// Logits `[B, L, V]` for `tokens` (`B·L` ids, row-major).
    func logits(_ tokens: [Int], batch: Int) throws -> Tensor {
        var x = embed(tokens, batch: batch)
        for layer in layers { x = try x + layer(x) }
        return try head(x, execution: execution)
    }

    /// Mean cross-entropy of `targets` under `logits` `[B, L, V]`, its gradient
    /// `(softmax − one-hot) / (B·L)`, and the fraction of tokens predicted right.
    static func crossEntropy(_ logits: Tensor, targets: [Int]) -> (
        loss: Double, gradient: Tensor, accuracy: Double
    ) {
        let v = logits.shape[logits.rank - 1], rows = targets.count
        let z = logits.scalars
        var grad = [Float](repeating: 0, count: z.count)
        var loss = 0.0, correct = 0
        for r in 0..<rows {
            let row = z[(r * v)..<((r + 1) * v)]
            let m = Double(row.max()!)
            let total = row.reduce(0.0) { $0 + exp(Double($1) - m) }
            loss += m + log(total) - Double(z[r * v + targets[r]])
            if row.firstIndex(of: row.max()!)! - r * v == targets[r] { correct += 1 }
            for c in 0..<v {
                let p = exp(Double(z[r * v + c]) - m) / total
                grad[r * v + c] = Float((p - (c == targets[r] ? 1 : 0)) / Double(rows))
            }
        }
        return (
            loss / Double(rows), try! Tensor(shape: logits.shape, scalars: grad),
            Double(correct) / Double(rows)
        )
    }

    /// Loss, accuracy and every parameter's gradient for one batch.
    func lossAndGradients(tokens: [Int], targets: [Int], batch: Int) throws -> (
        loss: Double, accuracy: Double, gradients: [String: Tensor]
    ) {
        var x = embed(tokens, batch: batch)
        var pullbacks: [MultiHeadAttentionPullback] = []
        for layer in layers {
            let (y, pullback) = try layer.valueAndGradient(x)
            pullbacks.append(pullback)
            x = try x + y
        }
        let (logits, headPullback) = try head.valueAndGradient(x, execution: execution)
        let (loss, dLogits, accuracy) = Self.crossEntropy(logits, targets: targets)
        var grads: [String: Tensor] = [:]
        let h = try headPullback(dLogits)
        for (name, t) in h.parameters { grads["head.\(name)"] = t }
        var dx = h.input
        for i in layers.indices.reversed() {
            let g = try pullbacks[i](dx)
            for (name, t) in g.parameters { grads["layers.\(i).\(name)"] = t }
            dx = try dx + g.queries  // residual: x feeds both the block and the sum
        }
        // Embedding rows: the input gradient summed per token id (and per position).
        let e = dimensions, d = dx.scalars
        var dEmbedding = [Float](repeating: 0, count: vocabulary * e)
        var dPositions = [Float](repeating: 0, count: length * e)
        for r in 0..<batch * length {
            let t = tokens[r], s = r % length
            for c in 0..<e {
                dEmbedding[t * e + c] += d[r * e + c]
                dPositions[s * e + c] += d[r * e + c]
            }
        }
        grads["embedding"] = try Tensor(shape: [vocabulary, e], scalars: dEmbedding)
        if learnedPositions {
            grads["positions"] = try Tensor(shape: [length, e], scalars: dPositions)
        }
        return (loss, accuracy, grads)
    }
}

/// Adam (Kingma & Ba, 2015) over named parameters, with bias correction:
/// `m ← β₁m + (1−β₁)g`, `v ← β₂v + (1−β₂)g²`, `θ ← θ − lr·m̂/(√v̂ + ε)`.
struct Adam {
    var learningRate: Float
    var beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8
    private var m: [String: [Float]] = [:], v: [String: [Float]] = [:]
    private var step = 0

    init(learningRate: Float) { self.learningRate = learningRate }

    /// The parameters after one step along `gradients` (same names and shapes).
    mutating func update(_ parameters: [String: Tensor], gradients: [String: Tensor]) throws
        -> [String: Tensor]
    {
        step += 1
        let c1 = 1 - pow(beta1, Float(step)), c2 = 1 - pow(beta2, Float(step))
        var out: [String: Tensor] = [:]
        for (name, p) in parameters {
            guard let g = gradients[name]?.scalars else { continue }
            var theta = p.scalars
            var mm = m[name] ?? [Float](repeating: 0, count: theta.count)
            var vv = v[name] ?? [Float](repeating: 0, count: theta.count)
            for i in theta.indices {
                mm[i] = beta1 * mm[i] + (1 - beta1) * g[i]
                vv[i] = beta2 * vv[i] + (1 - beta2) * g[i] * g[i]
                theta[i] -= learningRate * (mm[i] / c1) / ((vv[i] / c2).squareRoot() + epsilon)
            }
            (m[name], v[name]) = (mm, vv)
            out[name] = try Tensor(shape: p.shape, scalars: theta)
        }
        return out
    }
}
