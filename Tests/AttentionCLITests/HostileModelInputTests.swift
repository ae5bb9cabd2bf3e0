import Attention
import Foundation
import Testing

@testable import AttentionCLI

/// `attention embed`, `plot heads --model` and `ring` against hostile input, each run in a
/// child process: one `Error: …` line naming the flag, a non-zero status, no crash.
@Suite("hostile input: models, embed, ring")
struct HostileModelInputTests {
    /// A one-layer BERT folder with all-zero weights: `heads` heads of width 1, 8 positions,
    /// the five special tokens plus "a".
    static func modelFolder(heads: Int) throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "hostile-model-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let (e, f, vocabulary) = (heads, 4, ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a"])
        var shapes: [String: [Int]] = [
            "embeddings.word_embeddings.weight": [vocabulary.count, e],
            "embeddings.position_embeddings.weight": [8, e],
            "embeddings.token_type_embeddings.weight": [2, e],
            "embeddings.LayerNorm.weight": [e], "embeddings.LayerNorm.bias": [e],
        ]
        let prefix = "encoder.layer.0."
        for name in ["query", "key", "value"] {
            shapes[prefix + "attention.self.\(name).weight"] = [e, e]
            shapes[prefix + "attention.self.\(name).bias"] = [e]
        }
        for (name, shape) in [
            ("attention.output.dense", [e, e]), ("intermediate.dense", [f, e]),
            ("output.dense", [e, f]),
        ] {
            shapes[prefix + name + ".weight"] = shape
            shapes[prefix + name + ".bias"] = [shape[0]]
        }
        for norm in ["attention.output.LayerNorm", "output.LayerNorm"] {
            shapes[prefix + norm + ".weight"] = [e]
            shapes[prefix + norm + ".bias"] = [e]
        }
        try SafetensorsFile.write(
            shapes.map { (name: $0.key, tensor: Tensor.zeros($0.value), dtype: .f32) },
            to: directory.appendingPathComponent("model.safetensors").path)
        let config = """
            {"hidden_size": \(e), "intermediate_size": \(f), "max_position_embeddings": 8,
             "num_attention_heads": \(heads), "num_hidden_layers": 1, "vocab_size": \(vocabulary.count)}
            """
        try Data(config.utf8).write(to: directory.appendingPathComponent("config.json"))
        try Data(vocabulary.joined(separator: "\n").utf8).write(
            to: directory.appendingPathComponent("vocab.txt"))
        return directory
    }

    /// `plot heads --model` with more heads than panels fit (a 128-head model would draw a
    /// figure hundreds of megapixels tall) or a --text longer than the position table
    /// (the library's "sequences: …" used to surface) names the flag.
    @Test func headsFigureLimits() throws {
        let many = try Self.modelFolder(heads: 128)
        defer { try? FileManager.default.removeItem(at: many) }
        let output = many.appendingPathComponent("heads.png").path
        let tooMany = try CLIProcess.run(
            ["plot", "heads", "--model", many.path, "--text", "a", "--output", output])
        #expect(tooMany.status != 0 && !tooMany.signaled)
        #expect(
            tooMany.errorLine == "--model has 128 attention heads; at most 64 panels fit a figure",
            "\(tooMany.stderr)")
        let few = try Self.modelFolder(heads: 4)
        defer { try? FileManager.default.removeItem(at: few) }
        let long = try CLIProcess.run(
            ["plot", "heads", "--model", few.path, "--text", "a a a a a a a", "--output", output])
        #expect(
            long.errorLine == "--text is 9 tokens with [CLS] and [SEP]; this model takes at most 8",
            "\(long.stderr)")
        let fits = try CLIProcess.run(
            ["plot", "heads", "--model", few.path, "--text", "a a a a a a", "--output", output])
        #expect(fits.status == 0, "\(fits.stderr)")
        #expect(FileManager.default.fileExists(atPath: output))
        #expect(!FileManager.default.fileExists(atPath: many.appendingPathComponent("x").path))
    }

    /// `--input` is read up to 64 MiB: /dev/zero (endless) and a directory are one error
    /// line, not an out-of-memory kill or a Foundation error.
    @Test func inputIsBounded() throws {
        let zero = try CLIProcess.run(
            ["embed", "--input", "/dev/zero", "--model", "/nonexistent"], addressSpaceKB: 2_000_000)
        #expect(zero.status != 0 && !zero.signaled)
        #expect(
            zero.errorLine
                == "--input /dev/zero: is larger than 64 MiB; split it into several runs",
            "\(zero.stderr)")
        let folder = try CLIProcess.run(["embed", "--input", NSTemporaryDirectory()])
        #expect(folder.status != 0 && !folder.signaled)
        #expect(folder.errorLine?.hasPrefix("--input ") == true, "\(folder.stderr)")
    }

    /// 30 million one-letter lines (60 MB, under the 64 MiB limit) are refused after the
    /// 100001st sentence, in bounded memory (they used to become 30 million strings, 1.6 GB).
    @Test func tooManyLinesStopEarly() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent(
            "lines-\(UUID().uuidString).txt")
        defer { try? FileManager.default.removeItem(at: file) }
        try Data(String(repeating: "a\n", count: 30_000_000).utf8).write(to: file)
        let outcome = try CLIProcess.run(
            ["embed", "--input", file.path, "--model", "/nonexistent"], addressSpaceKB: 1_000_000)
        #expect(outcome.status != 0 && !outcome.signaled)
        #expect(
            outcome.errorLine
                == "at most 100000 sentences per run; split the input into several runs",
            "\(outcome.stderr)")
        // One sentence fewer than the limit passes validation (and fails on the model).
        try Data(String(repeating: "a\n", count: 100_000).utf8).write(to: file)
        let fits = try CLIProcess.run(["embed", "--input", file.path, "--model", "/nonexistent"])
        #expect(fits.errorLine?.hasPrefix("--model /nonexistent") == true, "\(fits.stderr)")
    }

    /// A model folder whose vocab.txt outgrows the embedding table fails at load, naming
    /// --model and vocab.txt (it used to fail only for some sentences, as "sequences: …").
    @Test func vocabularyOutgrowingTheModel() throws {
        let folder = try Self.modelFolder(heads: 4)
        defer { try? FileManager.default.removeItem(at: folder) }
        try Data("[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\na\nb\n".utf8).write(
            to: folder.appendingPathComponent("vocab.txt"))
        let outcome = try CLIProcess.run(["embed", "--model", folder.path, "b"])
        #expect(outcome.status != 0 && !outcome.signaled)
        #expect(
            outcome.errorLine?.hasPrefix("--model \(folder.path): ") == true
                && outcome.errorLine?.contains("vocab.txt: has 7 tokens") == true,
            "\(outcome.stderr)")
    }

    /// `demo --model` with a broken folder fails before any work (it used to fail in
    /// section [8], after minutes of benchmarks and three figures written).
    @Test func demoChecksTheModelFirst() throws {
        let folder = try Self.modelFolder(heads: 4)
        defer { try? FileManager.default.removeItem(at: folder) }
        try Data(#"{"hidden_size": 4, "num_hidden_layers": 1}"#.utf8).write(
            to: folder.appendingPathComponent("config.json"))
        let figures = folder.appendingPathComponent("figures")
        let outcome = try CLIProcess.run(
            ["demo", "--model", folder.path, "--output-dir", figures.path], timeout: 30)
        #expect(outcome.status != 0 && !outcome.signaled)
        #expect(
            outcome.errorLine?.hasPrefix("--model \(folder.path): ") == true
                && outcome.errorLine?.contains("config.json") == true, "\(outcome.stderr)")
        let written = (try? FileManager.default.contentsOfDirectory(atPath: figures.path)) ?? []
        #expect(written.isEmpty, "\(written)")
    }

    /// `embed --repeats` prints only the timing, so with --output (nothing written) or
    /// --similarity (nothing printed) it is refused.
    @Test func repeatsExcludesOutputs() throws {
        for flag in [["--output", "/tmp/never.safetensors"], ["--similarity"]] {
            let outcome = try CLIProcess.run(["embed", "a", "--repeats", "2"] + flag)
            #expect(outcome.status != 0 && !outcome.signaled)
            #expect(
                outcome.errorLine
                    == "--repeats only times the embedding; drop \(flag[0]) or --repeats",
                "\(outcome.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: "/tmp/never.safetensors"))
    }

    #if MPI
        /// Ranks on one machine share its memory budget: the count mpirun exports, if any.
        @Test func ranksSharingTheMachine() {
            #expect(RingCommand.ranksOnThisMachine(["OMPI_COMM_WORLD_LOCAL_SIZE": "4"]) == 4)
            #expect(RingCommand.ranksOnThisMachine(["MPI_LOCALNRANKS": "3"]) == 3)
            #expect(RingCommand.ranksOnThisMachine(["OMPI_COMM_WORLD_LOCAL_SIZE": "0"]) == nil)
            #expect(RingCommand.ranksOnThisMachine(["OMPI_COMM_WORLD_LOCAL_SIZE": "x"]) == nil)
            #expect(RingCommand.ranksOnThisMachine([:]) == nil)
        }
    #endif

    #if !MPI
        /// Without the MPI trait, `ring` (with any flags) says how to get it, instead of
        /// "Unknown option '--seq-len'".
        @Test func ringWithoutMPI() throws {
            let outcome = try CLIProcess.run(["ring", "--seq-len", "1024", "--causal"])
            #expect(outcome.status != 0 && !outcome.signaled)
            #expect(
                outcome.errorLine?.hasPrefix("ring needs a build with the MPI trait") == true,
                "\(outcome.stderr)")
        }
    #endif
}
