import Foundation
import ArgumentParser

/// Range checks and list parsing for numeric flags, with one wording everywhere:
/// "--batch expects 1…4096, got 0".
enum CLIRange {
    /// Timed repetitions per configuration (`--repeats` in bench, demo and plot complexity).
    static let repeats = 1...1000

    static func check<T: Comparable>(_ value: T, in range: ClosedRange<T>, flag: String) throws {
        guard range.contains(value) else {
            throw ValidationError(
                "\(flag) expects \(range.lowerBound)…\(range.upperBound), got \(value)")
        }
    }

    /// A comma-separated list of integers in `range`, at most `maxCount` of them.
    static func integers(
        _ text: String, flag: String, range: ClosedRange<Int>, maxCount: Int
    ) throws -> [Int] {
        let fields = text.split(separator: ",", omittingEmptySubsequences: false).map {
            $0.trimmingCharacters(in: .whitespaces)
        }
        let values = fields.map { Int($0) }
        guard !text.isEmpty, values.allSatisfy({ $0.map(range.contains) ?? false }) else {
            throw ValidationError(
                "\(flag) expects integers in \(range.lowerBound)…\(range.upperBound) separated by commas, got '\(text)'"
            )
        }
        guard values.count <= maxCount else {
            throw ValidationError("\(flag) expects at most \(maxCount) values, got \(values.count)")
        }
        return values.map { $0! }
    }

    /// A finite number (`--scale nan` or `--rope-base inf` are refused).
    static func checkFinite(_ value: Float, flag: String) throws {
        guard value.isFinite else {
            throw ValidationError("\(flag) expects a finite number, got \(value)")
        }
    }
}
