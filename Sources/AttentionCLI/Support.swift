import ArgumentParser
import Attention
import Foundation

/// Parses `--mask` values (the syntax of ``AttentionMask/init(parsing:)``).
enum MaskOption {
    static func parse(_ text: String) throws -> AttentionMask.Name {
        do {
            return AttentionMask.Name(text, mask: try AttentionMask(parsing: text))
        } catch let error as AttentionError {
            throw ValidationError(error.description)
        }
    }
}
