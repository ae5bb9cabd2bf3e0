import Foundation
import Testing

@testable import AttentionCLI

/// Progress output: redrawn in place only on a terminal; plain lines when piped.
@Suite struct OutputEtiquetteTests {
    /// Collects what a ``ProgressLine`` writes.
    final class Capture: @unchecked Sendable {
        private let lock = NSLock()
        private var chunks: [String] = []
        func append(_ text: String) { lock.withLock { chunks.append(text) } }
        var text: String { lock.withLock { chunks.joined() } }
    }

    @Test(
        "piped: plain lines, nothing for an empty message; terminal: one line redrawn in place",
        arguments: [
            (false, "[1/2] fused, S = 64\n[2/2] reference, S = 64\n"),
            (true, "\r\u{1B}[K[1/2] fused, S = 64\r\u{1B}[K[2/2] reference, S = 64\r\u{1B}[K"),
        ])
    func progressLines(isTerminal: Bool, expected: String) {
        let capture = Capture()
        let line = ProgressLine(isTerminal: isTerminal, sink: capture.append)
        line("[1/2] fused, S = 64")
        line("[2/2] reference, S = 64")
        line("")
        #expect(capture.text == expected)
    }

    /// The `attention` executable next to the test bundle, if it was built.
    static let executable: URL? = {
        let directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        let candidates = [directory, directory.deletingLastPathComponent()].map {
            $0.appendingPathComponent("attention")
        }
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) }
    }()

    /// Runs the executable with stdout and stderr sent to separate files (neither a
    /// terminal) in `folder`.
    static func run(_ arguments: [String], in folder: URL) throws -> (
        status: Int32, out: [UInt8], err: [UInt8]
    ) {
        let outURL = folder.appendingPathComponent("stdout"),
            errURL = folder.appendingPathComponent("stderr")
        for url in [outURL, errURL] {
            #expect(FileManager.default.createFile(atPath: url.path, contents: nil))
        }
        let out = try FileHandle(forWritingTo: outURL), err = try FileHandle(forWritingTo: errURL)
        let binary = try #require(Self.executable)
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        process.standardOutput = out
        process.standardError = err
        try process.run()
        process.waitUntilExit()
        try out.close()
        try err.close()
        return (
            process.terminationStatus, Array(try Data(contentsOf: outURL)),
            Array(try Data(contentsOf: errURL))
        )
    }

    @Test(
        "plot complexity and bench write no carriage returns or escape codes to files",
        .enabled(if: executable != nil, "the attention executable is built with the tests"))
    func pipedCommandsStayPlain() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
            "etiquette-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let png = folder.appendingPathComponent("complexity.png").path
        for arguments in [
            [
                "plot", "complexity", "--seq-lens", "16,32", "--window", "4", "--repeats", "1",
                "--output", png,
            ],
            [
                "bench", "--batch", "1", "--heads", "1", "--head-dim", "8", "--seq-lens", "16,32",
                "--repeats", "1", "--no-gemm",
            ],
        ] {
            let result = try Self.run(arguments, in: folder)
            #expect(
                result.status == 0, "\(arguments): \(String(decoding: result.err, as: UTF8.self))")
            for (name, bytes) in [("stdout", result.out), ("stderr", result.err)] {
                #expect(!bytes.contains(0x0D), "\(arguments[0]) \(name) has a carriage return")
                #expect(!bytes.contains(0x1B), "\(arguments[0]) \(name) has an escape code")
            }
            // Progress came as whole lines.
            let progress = String(decoding: result.err, as: UTF8.self)
            #expect(progress.hasPrefix("[1/") && progress.hasSuffix("\n"), "\(progress)")
            #expect(progress.split(separator: "\n").allSatisfy { $0.hasPrefix("[") })
        }
    }
}

/// The seed's complexity table, as `attention demo` section [3] prints it.
@Suite struct SeedComplexityTableTests {
    @Test func dashIsRefusedNotWrittenAsAFile() throws {
        let error = #expect(throws: (any Error).self) {
            try OutputPath.check("-", flag: "--output")
        }
        #expect("\(error!)".hasPrefix("--output: '-' (standard output) is not supported"))
        try OutputPath.check("./-", flag: "--output")  // a file named '-' can still be asked for
    }

    @Test func matchesTheSeedsFormula() {
        let lines = Demo.seedComplexityTable(
            seqLens: [128, 256, 512, 1024, 2048, 4096], dModel: 512, numHeads: 8)
        // time_ops = n²·512 / 1e6 (2 decimals); memory_gb = n²·8·4 / 1024³ (4 decimals),
        // worked out by hand: 128² · 512 = 8 388 608, 128² · 32 / 2³⁰ = 0.000488…
        #expect(
            lines == [
                "Sequence Length | Time Ops (M) | Memory (GB)",
                String(repeating: "-", count: 44),
                "            128 |         8.39 |      0.0005",
                "            256 |        33.55 |      0.0020",
                "            512 |       134.22 |      0.0078",
                "           1024 |       536.87 |      0.0312",
                "           2048 |      2147.48 |      0.1250",
                "           4096 |      8589.93 |      0.5000",
            ])
    }
}
