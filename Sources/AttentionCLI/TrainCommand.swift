import ArgumentParser
import Attention
import Foundation

/// `attention train`: fits a small attention model to copy or reverse random sequences,
/// with the library's backward passes and Adam, printing the loss as it falls.
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a small attention model on a synthetic copy or reverse task.",
        discussion: """
            The model: token + position embeddings, --layers residual self-attention blocks \
            (x + MultiHeadAttention(x)), a linear output over the vocabulary; softmax \
            cross-entropy, Adam. Every batch is LENGTH random tokens in 0..<VOCAB; the target \
            is the same sequence (copy) or the sequence backwards (reverse). Seeded: the same \
            flags print the same numbers.
            """)

    @Option(help: "Task: copy or reverse.") var task = "reverse"
    @Option(parsing: .unconditional, help: "Optimizer steps, 1…100000.") var steps = 400
    @Option(parsing: .unconditional, help: "Sequences per step, 1…4096.") var batch = 32
    @Option(parsing: .unconditional, help: "Tokens per sequence, 2…512.") var length = 16
    @Option(parsing: .unconditional, help: "Vocabulary size, 2…1000.") var vocab = 32
    @Option(parsing: .unconditional, help: "Model width E, 2…1024 (a multiple of --heads).")
    var dim = 32
    @Option(parsing: .unconditional, help: "Attention heads, 1…64.") var heads = 4
    @Option(parsing: .unconditional, help: "Attention layers, 1…8.") var layers = 2
    @Option(help: "Position encoding: learned or sinusoidal.") var positions = "learned"
    @Option(parsing: .unconditional, help: "Adam learning rate, in (0, 1].")
    var learningRate: Float = 0.003
    @Option(parsing: .unconditional, help: "Seed for the weights and the data.") var seed: UInt64 =
        0
    @Option(parsing: .unconditional, help: "Print the loss every N steps, 1…100000.")
    var logEvery = 50
    @OptionGroup var execution: ExecutionFlags

    static let tasks = ["copy", "reverse"]

    func validate() throws {
        guard Self.tasks.contains(task) else {
            throw ValidationError("--task expects copy or reverse, got '\(task)'")
        }
        try CLIRange.check(steps, in: 1...100_000, flag: "--steps")
        try CLIRange.check(batch, in: 1...4096, flag: "--batch")
        try CLIRange.check(length, in: 2...512, flag: "--length")
        try CLIRange.check(vocab, in: 2...1000, flag: "--vocab")
        try CLIRange.check(dim, in: 2...1024, flag: "--dim")
        try CLIRange.check(heads, in: 1...64, flag: "--heads")
        try CLIRange.check(layers, in: 1...8, flag: "--layers")
        try CLIRange.check(logEvery, in: 1...100_000, flag: "--log-every")
        guard dim % heads == 0 else {
            throw ValidationError("--dim (\(dim)) must be a multiple of --heads (\(heads))")
        }
        guard ["learned", "sinusoidal"].contains(positions) else {
            throw ValidationError("--positions expects learned or sinusoidal, got '\(positions)'")
        }
        guard learningRate.isFinite, learningRate > 0, learningRate <= 1 else {
            throw ValidationError("--learning-rate expects a number in (0, 1], got \(learningRate)")
        }
    }

    /// One batch of `(tokens, targets)`, `batch·length` ids each, drawn from `rng`.
    static func sample(
        task: String, batch: Int, length: Int, vocabulary: Int, rng: inout SplitMix64
    ) -> (tokens: [Int], targets: [Int]) {
        let tokens = (0..<batch * length).map { _ in Int(rng.next() % UInt64(vocabulary)) }
        let targets = (0..<batch * length).map { r in
            let (b, s) = (r / length, r % length)
            return tokens[b * length + (task == "reverse" ? length - 1 - s : s)]
        }
        return (tokens, targets)
    }

    /// Trains and returns the per-step losses and the accuracy on a held-out batch; prints
    /// progress through `log`.
    func train(log: (String) -> Void) throws -> (losses: [Double], heldOutAccuracy: Double) {
        var model = try SequenceModel(
            vocabulary: vocab, length: length, dimensions: dim, heads: heads, layers: layers,
            learnedPositions: positions == "learned", seed: seed, execution: execution.options)
        var adam = Adam(learningRate: learningRate)
        var rng = SplitMix64(seed: seed)
        var losses: [Double] = []
        let start = Date()
        for step in 1...steps {
            let (tokens, targets) = Self.sample(
                task: task, batch: batch, length: length, vocabulary: vocab, rng: &rng)
            let r = try model.lossAndGradients(tokens: tokens, targets: targets, batch: batch)
            try model.update(
                parameters: try adam.update(model.parameters(), gradients: r.gradients))
            losses.append(r.loss)
            if step % logEvery == 0 || step == 1 || step == steps {
                log(
                    "step \(step)/\(steps)  loss \(String(format: "%.4f", r.loss))  accuracy \(String(format: "%.1f", 100 * r.accuracy))%"
                )
            }
        }
        var heldOut = SplitMix64(seed: ~seed)
        let (tokens, targets) = Self.sample(
            task: task, batch: batch, length: length, vocabulary: vocab, rng: &heldOut)
        let logits = try model.logits(tokens, batch: batch)
        let accuracy = SequenceModel.crossEntropy(logits, targets: targets).accuracy
        log(
            "held-out batch: token accuracy \(String(format: "%.1f", 100 * accuracy))% (chance \(String(format: "%.1f", 100 / Double(vocab)))%), \(String(format: "%.1f", Date().timeIntervalSince(start))) s"
        )
        return (losses, accuracy)
    }

    func run() throws {
        let parameterCount = try SequenceModel(
            vocabulary: vocab, length: length, dimensions: dim, heads: heads, layers: layers,
            learnedPositions: positions == "learned", seed: seed, execution: execution.options
        ).parameters().values.reduce(0) { $0 + $1.count }
        print(
            "\(task) task: length \(length), vocabulary \(vocab); \(layers) layer(s), E = \(dim), \(heads) heads, \(positions) positions, \(parameterCount) parameters; Adam lr \(learningRate), batch \(batch), seed \(seed)"
        )
        _ = try train { print($0) }
    }
}
