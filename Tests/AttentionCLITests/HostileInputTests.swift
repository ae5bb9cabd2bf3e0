import Attention
import Foundation
import Testing

@testable import AttentionCLI

/// Hostile command lines, run through the real executable: each must end with one clear
/// `Error: …` line and a non-zero status — never a trap, a hang, an out-of-memory kill or a
/// leftover file.
@Suite(.serialized) struct HostileInputTests {
    let folder: String = {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent(
            "hostile-\(UUID())"
        ).path
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }()

    func entries() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).sorted()
    }

    /// Runs `arguments` and checks the process failed cleanly; returns the error line.
    @discardableResult
    func expectError(
        _ arguments: [String], contains expected: String, addressSpaceKB: Int? = nil,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> String? {
        let outcome = try CLIProcess.run(arguments, addressSpaceKB: addressSpaceKB)
        #expect(
            !outcome.signaled, "killed: \(outcome.stderr.prefix(300))",
            sourceLocation: sourceLocation)
        #expect(outcome.status != 0, sourceLocation: sourceLocation)
        let line = outcome.errorLine
        #expect(
            line?.contains(expected) == true, "\(arguments): \(outcome.stderr.prefix(400))",
            sourceLocation: sourceLocation)
        return line
    }

    // MARK: 1. Integer overflow from user numbers

    static let huge = "9223372036854775807"  // Int.max

    @Test(arguments: [
        "window:\(huge),\(huge)", "window:\(huge)", "window:0,\(huge)",
        "dilated:window=\(huge),dilation=\(huge)", "dilated:window=4000000,dilation=4000000",
        "bigbird-blocks:block=\(huge)", "bigbird-blocks:block=64,global=\(huge)",
        "bigbird:window=\(huge),global=1,random=1", "strided:\(huge)", "sparse-strided:\(huge)",
        "sparse-fixed:block=\(huge),summary=1", "blocks:\(huge),\(huge)", "prefix:\(huge)",
        "longformer:window=\(huge)", "longformer:window=2,global=[\(huge)]",
        "window:99999999999999999999999,1",
    ])
    func maskParametersNearIntMax(mask: String) throws {
        try expectError(
            ["plot", "masks", "--size", "8", "--output", folder + "/m.png", "--mask", mask],
            contains: "--mask")
        #expect(entries().isEmpty)
    }

    @Test(arguments: [
        ["--batch", huge], ["--heads", "4611686018427387904", "--batch", "4"],
        ["--head-dim", huge], ["--seq-lens", huge],
        [
            "--batch", "1048576", "--heads", "1048576", "--head-dim", "1048576", "--seq-lens",
            "16777216",
        ],
        ["--layer", "--heads", "1048576", "--head-dim", "1048576"],
    ])
    func benchSizesNearIntMax(sizes: [String]) throws {
        try expectError(["bench", "--no-gemm", "--repeats", "1"] + sizes, contains: "--")
    }

    // MARK: 2. Longformer globals validated before anything is built

    @Test func longformerHugeGlobalIsRefusedAtOnce() throws {
        let start = Date()
        try expectError(
            ["plot", "masks", "--size", "8", "--mask", "longformer:window=4,global=1099511627776"],
            contains: "longformer needs global ≤ max(queries, keys) (8)")
        try expectError(
            [
                "bench", "--no-gemm", "--seq-lens", "64", "--mask",
                "longformer:window=4,global=100000000",
            ],
            contains: "global")
        #expect(Date().timeIntervalSince(start) < 20)
    }

    // MARK: 3. Refusing instead of running out of memory

    @Test func benchRefusesSizesThatCannotFit() throws {
        let line = try expectError(
            [
                "bench", "--layer", "--batch", "1000", "--heads", "64", "--head-dim", "1024",
                "--seq-lens", "4096", "--no-gemm",
            ], contains: "needs about")
        #expect(line?.contains("memory budget") == true)
        try expectError(["bench", "--seq-lens", "100000000", "--no-gemm"], contains: "needs about")
    }

    @Test func benchRespectsUlimit() throws {
        // 4.3 GB of inputs and output: fits in half of a 16 GB machine, not under ulimit -v 3 GB.
        try expectError(
            [
                "bench", "--batch", "8", "--heads", "8", "--head-dim", "64", "--seq-lens", "65536",
                "--backends", "fused", "--no-gemm", "--repeats", "1",
            ], contains: "ulimit -v", addressSpaceKB: 3_000_000)
    }

    /// Under mpirun every rank parses the same arguments: only rank 0 prints the error, and
    /// every rank exits non-zero.
    @Test func mpiRanksOtherThanZeroFailQuietly() throws {
        let arguments = ["run", "--input", "/nonexistent/in.safetensors"]
        for (variable, rank, lines) in [
            ("OMPI_COMM_WORLD_RANK", "1", 0), ("PMI_RANK", "3", 0),
            ("OMPI_COMM_WORLD_RANK", "0", 1),
        ] {
            let outcome = try CLIProcess.run(arguments, environment: [variable: rank])
            #expect(outcome.status != 0 && !outcome.signaled, "\(variable)=\(rank)")
            let errors = outcome.stderr.split(separator: "\n").filter { $0.hasPrefix("Error: ") }
            #expect(errors.count == lines, "\(variable)=\(rank): \(outcome.stderr)")
        }
    }

    // MARK: 4. Bounded figures and repetitions

    @Test func unboundedFiguresAndRepeatsAreCapped() throws {
        try expectError(
            ["plot", "masks"] + Array(repeating: ["--mask", "causal"], count: 17).flatMap { $0 },
            contains: "--mask can be given at most 16 times")
        try expectError(
            ["plot", "complexity", "--seq-lens", "1048576"], contains: "--seq-lens expects")
        try expectError(
            ["bench", "--repeats", "2000000000"], contains: "--repeats expects 1…1000")
        try expectError(["demo", "--repeats", "5000"], contains: "--repeats expects 1…1000")
        try expectError(
            ["plot", "complexity", "--repeats", "1000000000"], contains: "--repeats expects 1…10")
        try expectError(
            [
                "plot", "masks", "--size", "4096", "--mask", "causal", "--mask", "causal", "--mask",
                "causal", "--mask", "causal", "--mask", "causal",
            ],
            contains: "more than 67108864")
    }

    // MARK: 5. Files and paths

    @Test func devNullStaysADevice() throws {
        let outcome = try CLIProcess.run(["plot", "encodings", "--output", "/dev/null"])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        var status = stat()
        #expect(lstat("/dev/null", &status) == 0)
        #expect(status.st_mode & S_IFMT == S_IFCHR)
    }

    @Test func longOutputNameWorks() throws {
        let name = String(repeating: "n", count: 236) + ".png"
        let outcome = try CLIProcess.run(["plot", "encodings", "--output", folder + "/" + name])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        #expect(entries() == [name])
    }

    @Test func streamsAreNotRegularFiles() throws {
        let fifo = folder + "/in.fifo"
        #expect(mkfifo(fifo, 0o600) == 0)
        let start = Date()
        try expectError(
            ["run", "--input", fifo, "--output", folder + "/out.safetensors"],
            contains: "not a regular file")
        try expectError(
            ["run", "--input", "/dev/stdin", "--output", folder + "/out.safetensors"],
            contains: "not a regular file")
        #expect(Date().timeIntervalSince(start) < 20)
    }

    /// A sparse 1 TiB file: refused from its size, not by an allocation failure.
    @Test func hugeInputIsRefusedBeforeAllocating() throws {
        let path = folder + "/huge.safetensors"
        #expect(FileManager.default.createFile(atPath: path, contents: Data()))
        #expect(truncate(path, 1 << 40) == 0)
        try expectError(
            ["run", "--input", path, "--output", folder + "/o.safetensors"],
            contains: "more than the")
    }

    @Test func symlinkIsFollowedAndModeKept() throws {
        let target = folder + "/figure.png", link = folder + "/link.png"
        #expect(FileManager.default.createFile(atPath: target, contents: Data([1])))
        #expect(chmod(target, 0o600) == 0)
        #expect(symlink(target, link) == 0)
        let outcome = try CLIProcess.run(["plot", "encodings", "--output", link])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        var status = stat()
        #expect(lstat(link, &status) == 0 && status.st_mode & S_IFMT == S_IFLNK)
        #expect(stat(target, &status) == 0 && status.st_mode & 0o777 == 0o600)
        #expect(status.st_size > 1000)
        #expect(entries() == ["figure.png", "link.png"])
    }

    @Test func outputPathsAreCheckedBeforeTheWork() throws {
        #expect(FileManager.default.createFile(atPath: folder + "/file", contents: Data()))
        let json = folder + "/missing/x.json"
        try expectError(
            ["bench", "--json", json, "--seq-lens", "16", "--repeats", "1"],
            contains: "--json: cannot create \(json): directory \(folder)/missing does not exist")
        try expectError(
            ["demo", "--output-dir", folder + "/file/sub"],
            contains: "--output-dir: cannot create \(folder)/file/sub: a file is in the way")
        try expectError(
            ["plot", "complexity", "--output", folder], contains: "it is a directory")
        try expectError(
            ["run", "--input", "x", "--output", folder + "/file/y"],
            contains: "a file is in the way")
        let outcome = try CLIProcess.run(["demo", "--output-dir", folder + "/file"])
        #expect(!outcome.stdout.contains("[1]"))
        #expect(outcome.errorLine?.contains("NSCocoaErrorDomain") == false)
    }

    /// SIGTERM while a large output is being written: the hidden temporary file goes too.
    @Test func terminatedWriteLeavesNoTemporaryFile() throws {
        let input = folder + "/in.safetensors"
        let q = Tensor.randomNormal([1, 8, 2048, 8], seed: 1)
        try SafetensorsFile.write(["query": q, "key": q, "value": q], to: input)
        let pid = try CLIProcess.spawnWithDefaultSignals([
            "run", "--input", input, "--output", folder + "/out.safetensors", "--backend",
            "reference", "--return-weights",
        ])
        var sawTemporary = false
        let deadline = Date().addingTimeInterval(60)
        var status: Int32 = 0
        while Date() < deadline && waitpid(pid, &status, WNOHANG) == 0 {
            if entries().contains(where: { $0.hasPrefix(".") && $0.hasSuffix(".tmp") }) {
                sawTemporary = true
                kill(pid, SIGTERM)
                break
            }
            usleep(200)
        }
        if sawTemporary { waitpid(pid, &status, 0) }
        #expect(sawTemporary, "the write finished before the test could interrupt it")
        #expect(status & 0x7f == SIGTERM)  // killed by SIGTERM, the signal re-raised
        #expect(entries() == ["in.safetensors"])
    }

    // MARK: 6. Error wording in flag terms

    @Test func negativeNumbersGetRangeErrors() throws {
        try expectError(["bench", "--threads", "-1"], contains: "--threads expects 1…1024, got -1")
        try expectError(["bench", "--threads=-1"], contains: "--threads expects 1…1024, got -1")
        try expectError(["bench", "--batch", "-3"], contains: "--batch expects 1…1048576, got -3")
        try expectError(
            ["plot", "masks", "--size", "-1"], contains: "--size expects 1…4096, got -1")
        try expectError(["demo", "--threads", "0"], contains: "--threads expects 1…1024, got 0")
    }

    @Test func ignoredOrEmptyFlagsAreErrors() throws {
        let out = folder + "/o.safetensors"
        try expectError(
            ["run", "--input", "x", "--output", out, "--rope-scaling", "linear:2"],
            contains: "--rope-scaling needs --rope")
        try expectError(
            ["run", "--input", "x", "--output", out, "--rope-base", "500"],
            contains: "--rope-base needs --rope")
        try expectError(
            ["run", "--input", "x", "--output", out, "--seed", "3"],
            contains: "--seed only applies with --dropout")
        try expectError(["bench", "--backends", ""], contains: "--backends expects")
        try expectError(["bench", "--backends", "fused,"], contains: "--backends expects")
        try expectError(
            ["bench", "--causal", "true", "--mask", "window:4,4"],
            contains: "--causal and --mask cannot be used together")
        try expectError(
            ["bench", "--layer", "--kv-heads", "2"],
            contains: "--kv-heads cannot be used with --layer")
        try expectError(
            ["run", "--input", "x", "--output", out, "--scale", "nan"],
            contains: "--scale expects a finite number")
    }

    @Test func libraryNamesBecomeFlags() throws {
        try expectError(
            [
                "run", "--input", "x", "--output", folder + "/o", "--backend", "fused",
                "--return-weights",
            ],
            contains: "--return-weights needs --backend reference or auto")
        // The library's own message, as the CLI prints it.
        let q = Tensor.randomNormal([1, 1, 2, 4], seed: 1)
        let error = #expect(throws: AttentionError.self) {
            _ = try scaledDotProductAttention(
                query: q, key: q, value: q,
                options: AttentionOptions(backend: .fused, returnWeights: true))
        }
        let message = try #require(error.map(LibraryWording.message(for:)))
        #expect(!message.contains(".reference") && !message.contains("returnWeights"))
        #expect(message.contains("--backend reference") && message.contains("--return-weights"))
    }
}
