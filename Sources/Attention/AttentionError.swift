/// The error every public entry point of the package throws for bad input.
///
/// The message names the argument, what was expected and what was given, e.g.
/// `key: expected shape [2, 4, 17, 64] (batch and head dim of query), got [2, 4, 17, 32]`.
public struct AttentionError: Error, Equatable, CustomStringConvertible, Sendable {
    /// What kind of problem this is.
    public enum Kind: String, Sendable {
        case invalidShape
        case invalidArgument
        case outOfMemoryBudget
        case invalidFile
    }

    public let kind: Kind
    /// The argument (or file) the problem is about.
    public let argument: String
    /// A human-readable explanation.
    public let message: String

    public init(_ kind: Kind, argument: String, _ message: String) {
        self.kind = kind
        self.argument = argument
        self.message = message
    }

    public var description: String { "\(argument): \(message)" }

    static func shape(_ argument: String, expected: String, actual: [Int]) -> AttentionError {
        AttentionError(.invalidShape, argument: argument, "expected \(expected), got \(actual)")
    }

    static func argument(_ argument: String, _ message: String) -> AttentionError {
        AttentionError(.invalidArgument, argument: argument, message)
    }
}
