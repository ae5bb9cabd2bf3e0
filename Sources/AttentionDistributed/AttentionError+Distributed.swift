import Attention

extension AttentionError {
    static func shape(_ argument: String, expected: String, actual: [Int]) -> AttentionError {
        AttentionError(.invalidShape, argument: argument, "expected \(expected), got \(actual)")
    }

    static func argument(_ argument: String, _ message: String) -> AttentionError {
        AttentionError(.invalidArgument, argument: argument, message)
    }
}
