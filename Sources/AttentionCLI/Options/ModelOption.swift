import ArgumentParser
import Attention
import AttentionModels
import Foundation

/// `--model DIR`: a sentence-transformers model folder (all-MiniLM-L6-v2 by default, from the
/// cache folder `scripts/fetch-minilm.sh` fills).
struct ModelOption: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "Model folder (config.json, model.safetensors, vocab.txt, …).",
            discussion:
                "Default: \(SentenceEmbedder.defaultDirectory) ($SWIFT_ATTENTION_MINILM or the cache folder scripts/fetch-minilm.sh fills)."
        ))
    var model: String?

    /// `--model`, or the default folder.
    var directory: String { model ?? SentenceEmbedder.defaultDirectory }

    /// The model, or a `ValidationError` in flag terms (`--model DIR: …`).
    func load() throws -> SentenceEmbedder {
        try Self.load(directory, flag: model == nil ? "the default model folder" : "--model")
    }

    static func load(_ directory: String, flag: String) throws -> SentenceEmbedder {
        guard SentenceEmbedder.isModelDirectory(directory) else {
            throw ValidationError(
                "\(flag) \(directory): no model files there (config.json, model.safetensors, vocab.txt); run scripts/fetch-minilm.sh or pass --model DIR"
            )
        }
        do {
            return try SentenceEmbedder(directory: directory)
        } catch let error as AttentionError {
            throw ValidationError("\(flag) \(directory): \(error.description)")
        }
    }
}
