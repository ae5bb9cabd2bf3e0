import Foundation
import Attention

/// Rewrites the library's error messages in the CLI's terms: API names become flags
/// (`.reference` → `--backend reference`, `returnWeights` → `--return-weights`), so a CLI user
/// never reads a Swift identifier.
enum LibraryWording {
    static let replacements: [(String, String)] = [
        (
            "use .reference or .automatic with returnWeights",
            "use --backend reference or auto with --return-weights"
        ),
        ("backend .reference", "--backend reference"), ("backend .fused", "--backend fused"),
        ("use the fused backend", "use --backend fused"),
        (".reference", "--backend reference"), (".fused", "--backend fused"),
        (".automatic", "--backend auto"), ("returnWeights", "--return-weights"),
        ("returnLogSumExp", "--return-lse"), ("dropoutSeed", "--seed"),
    ]
    /// Library argument names and the flags that set them.
    static let arguments: [String: String] = [
        "backend": "--backend", "mask": "--mask", "dropout": "--dropout", "scale": "--scale",
        "alibi": "--alibi", "scaling": "--rope-scaling", "base": "--rope-base",
    ]

    static func translate(_ text: String) -> String {
        replacements.reduce(text) { $0.replacingOccurrences(of: $1.0, with: $1.1) }
    }

    /// The message for `error`, in flag terms.
    static func message(for error: AttentionError) -> String {
        let argument = arguments[error.argument] ?? error.argument
        return "\(argument): \(translate(error.message))"
    }
}
