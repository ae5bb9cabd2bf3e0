import ArgumentParser
import Attention
import AttentionModels
import Foundation
import Testing

@testable import AttentionCLI

/// `attention embed` and `attention plot heads --model`: parsing and validation without the
/// model; a real run when all-MiniLM-L6-v2 is in its cache folder.
@Suite("attention embed")
struct EmbedCommandTests {
    func failure(_ arguments: [String]) -> String? {
        do {
            _ = try AttentionCommand.parseAsRoot(arguments)
            return nil
        } catch {
            return AttentionCommand.message(for: error)
        }
    }

    @Test("sentences come from arguments and --input; bad input names the flag")
    func parsing() throws {
        let command = try #require(
            try AttentionCommand.parseAsRoot(["embed", "a b", "c", "--similarity"])
                as? EmbedCommand)
        #expect(try command.allSentences() == ["a b", "c"] && command.similarity)
        let file = FileManager.default.temporaryDirectory.appendingPathComponent(
            "embed-\(UUID().uuidString).txt")
        try Data("one\n\n  \ntwo\r\nthree".utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let fromFile = try #require(
            try AttentionCommand.parseAsRoot(["embed", "zero", "--input", file.path])
                as? EmbedCommand)
        #expect(try fromFile.allSentences() == ["zero", "one", "two", "three"])

        #expect(failure(["embed"])?.contains("--input") == true)
        #expect(failure(["embed", "--input", "/no/such/file"])?.contains("--input") == true)
        #expect(
            failure(["embed", "x", "--output", "/no/such/dir/e.safetensors"])?.contains("--output")
                == true)
        #expect(failure(["embed", "x", "--repeats", "0"])?.contains("--repeats") == true)
        #expect(failure(["embed", "x", "--threads", "0"])?.contains("--threads") == true)
    }

    @Test("plot heads: --layer needs --model; --heads, --d-model, --tokens do not go with it")
    func headsFlags() {
        #expect(failure(["plot", "heads", "--layer", "2"])?.contains("--model") == true)
        for flag in [["--heads", "4"], ["--d-model", "32"], ["--tokens", "a,b"]] {
            #expect(
                failure(["plot", "heads", "--model", "/tmp", "--layer", "1"] + flag)?
                    .contains(flag[0]) == true)
        }
        #expect(
            failure(["plot", "heads", "--model", "/tmp", "--layer", "-1"])?.contains("--layer")
                == true)
    }

    @Test("a folder without model files is one Error line naming --model")
    func missingModel() throws {
        let outcome = try CLIProcess.run(["embed", "--model", "/nonexistent/model", "hello"])
        #expect(outcome.status != 0 && !outcome.signaled)
        #expect(outcome.errorLine?.hasPrefix("--model /nonexistent/model") == true)
        let heads = try CLIProcess.run(["plot", "heads", "--model", "/nonexistent/model"])
        #expect(heads.errorLine?.hasPrefix("--model /nonexistent/model") == true)
    }

    @Test(
        "--output writes embeddings [N, 384] F32 equal to the library's, unit length",
        .enabled(if: SentenceEmbedder.isModelDirectory(SentenceEmbedder.defaultDirectory)))
    func writesEmbeddings() throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent(
            "embed-\(UUID().uuidString).safetensors")
        defer { try? FileManager.default.removeItem(at: out) }
        let sentences = ["A man is eating food.", "Ein Mann isst.", "日本語"]
        let outcome = try CLIProcess.run(["embed", "--output", out.path] + sentences)
        #expect(outcome.status == 0, "\(outcome.stderr)")
        let file = try SafetensorsFile(contentsOf: out.path)
        #expect(try file.dtype(of: "embeddings") == .f32)
        let e = try file.tensor(named: "embeddings")
        #expect(e.shape == [3, 384])
        let model = try SentenceEmbedder(directory: SentenceEmbedder.defaultDirectory)
        #expect(e.maxAbsDifference(try model.embed(sentences)) <= 1e-6)
        for i in 0..<3 {
            let norm = (0..<384).reduce(0.0) { $0 + Double(e[i, $1] * e[i, $1]) }.squareRoot()
            #expect(abs(norm - 1) <= 1e-5)
        }
        let similarity = try CLIProcess.run(["embed", "--similarity"] + sentences)
        #expect(similarity.stdout.split(separator: "\n").count == 4)
    }
}
