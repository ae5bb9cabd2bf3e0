import ArgumentParser
import Foundation
import Testing

@testable import AttentionCLI

/// `attention train`: the loss falls, the run is reproducible, bad flags are refused.
@Suite struct TrainCommandTests {
    /// A small reverse task (8 tokens of 10) with a 2-layer model: the loss starts near
    /// ln 10 ≈ 2.30 and falls below 0.1 within 80 Adam steps (it reaches ~0.002 by step 50
    /// with seed 0); the held-out accuracy is then ≥ 95% (chance: 10%). A few seconds in debug.
    @Test func lossFallsOnTheReverseTask() throws {
        let command = try TrainCommand.parse([
            "--task", "reverse", "--length", "8", "--vocab", "10", "--dim", "32", "--heads", "4",
            "--layers", "2", "--steps", "80", "--batch", "32", "--learning-rate", "0.01",
            "--threads", "2",
        ])
        var lines: [String] = []
        let (losses, accuracy) = try command.train { lines.append($0) }
        #expect(losses.count == 80)
        #expect(abs(losses[0] - log(10)) < 0.5, "first loss \(losses[0])")
        #expect(losses.last! < 0.1, "final loss \(losses.last!)")
        #expect(accuracy >= 0.95, "held-out accuracy \(accuracy)")
        #expect(lines.first?.hasPrefix("step 1/80  loss ") == true)
        // Seeded: a second run prints the same numbers.
        var again: [String] = []
        _ = try command.train { again.append($0) }
        #expect(
            again.dropLast() == lines.dropLast(), "the same seed gives the same losses")
    }

    @Test func badFlagsAreRefused() {
        for (arguments, wording) in [
            (["--task", "sort"], "--task expects copy or reverse"),
            (["--steps", "0"], "--steps expects 1…100000, got 0"),
            (["--dim", "30", "--heads", "4"], "--dim (30) must be a multiple of --heads (4)"),
            (["--learning-rate", "-1"], "--learning-rate expects a number in (0, 1]"),
            (["--positions", "rotary"], "--positions expects learned or sinusoidal"),
            (["--length", "1"], "--length expects 2…512, got 1"),
        ] {
            let message = thrownMessage { _ = try TrainCommand.parse(arguments) }
            #expect(message?.contains(wording) == true, "\(arguments): \(message ?? "no error")")
        }
    }

    /// The message argument-parser prints for the error `body` throws, or `nil`.
    func thrownMessage(_ body: () throws -> Void) -> String? {
        do { try body() } catch { return TrainCommand.message(for: error) }
        return nil
    }
}
