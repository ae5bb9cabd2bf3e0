import ArgumentParser
import Attention
import AttentionModels
import AttentionPlot

extension Figures {
    /// A trained model's attention heads over a sentence: layer `layer`'s softmax weights
    /// `[H, S, S]` over the model's tokens (`[CLS]` … `[SEP]`), in the layout of
    /// ``attentionHeads(tokens:weights:heads:title:colormap:)``.
    /// - Throws: `ValidationError` in flag terms for a `--layer` out of range or a `--text`
    ///   longer than `maxTokens` tokens.
    static func modelHeads(
        _ model: SentenceEmbedder, text: String, layer: Int, maxTokens: Int, maxHeads: Int = 64,
        colormap: Colormap = .blues
    ) throws -> Figure {
        let layers = model.encoder.configuration.layerCount
        guard (0..<layers).contains(layer) else {
            throw ValidationError("--layer expects 0…\(layers - 1) for this model, got \(layer)")
        }
        let heads = model.encoder.configuration.headCount
        guard heads <= maxHeads else {
            throw ValidationError(
                "--model has \(heads) attention heads; at most \(maxHeads) panels fit a figure")
        }
        var tokenizer = model.tokenizer
        tokenizer.maxLength = nil
        let ids = tokenizer.encode(text)
        guard ids.count <= maxTokens else {
            throw ValidationError(
                "--text is \(ids.count) tokens with [CLS] and [SEP]; at most \(maxTokens) fit a figure"
            )
        }
        guard ids.count <= model.encoder.configuration.maxPositions else {
            throw ValidationError(
                "--text is \(ids.count) tokens with [CLS] and [SEP]; this model takes at most \(model.encoder.configuration.maxPositions)"
            )
        }
        let weights = try model.encoder.attentionWeights(ids, layer: layer)
        return attentionHeads(
            tokens: tokenizer.tokenTexts(ids), weights: weights.scalars, heads: heads,
            title: "Layer \(layer) attention weights per head (row = query, column = key)",
            colormap: colormap)
    }
}
