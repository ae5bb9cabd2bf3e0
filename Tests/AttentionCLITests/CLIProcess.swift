import Foundation
import Testing

/// Runs the built `attention` executable in a child process, so a crash, a hang or an
/// out-of-memory kill shows up as a status instead of taking the test runner down.
struct CLIProcess {
    struct Outcome {
        var status: Int32
        /// Whether the process was killed by a signal (a trap, a crash, SIGKILL).
        var signaled: Bool
        var stdout: String
        var stderr: String
        /// The one `Error: …` line, if the process failed cleanly.
        var errorLine: String? {
            let lines = stderr.split(separator: "\n").filter { $0.hasPrefix("Error: ") }
            return lines.count == 1 ? String(lines[0].dropFirst("Error: ".count)) : nil
        }
    }

    /// `attention` next to the test bundle (`.build/<config>/`).
    static var executable: String {
        let bundle = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        return bundle.appendingPathComponent("attention").path
    }

    /// Starts `attention arguments…` with SIGINT/SIGTERM/SIGHUP at their default action and
    /// unblocked (a test runner may block or ignore them, and children inherit that), output
    /// discarded. Returns the process id for `kill` and `waitpid`.
    static func spawnWithDefaultSignals(_ arguments: [String]) throws -> pid_t {
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t(), defaults = sigset_t()
        sigemptyset(&empty)
        sigemptyset(&defaults)
        for signal in [SIGINT, SIGTERM, SIGHUP] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigmask(&attributes, &empty)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(
            &attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, executable, &actions, &attributes, argv, environ)
        guard result == 0 else { throw POSIXError(POSIXErrorCode(rawValue: result) ?? .EINVAL) }
        return pid
    }

    /// Runs `attention arguments…`, optionally under `ulimit -v kilobytes` and with extra
    /// environment variables, and waits.
    static func run(
        _ arguments: [String], addressSpaceKB: Int? = nil, timeout: Double = 60,
        environment: [String: String] = [:]
    ) throws -> Outcome {
        let process = Process()
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        if let addressSpaceKB {
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            process.arguments =
                ["-c", "ulimit -v \(addressSpaceKB) && exec \"$0\" \"$@\"", executable] + arguments
        } else {
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = arguments
        }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        // Read both pipes while the child runs (a full pipe would block it).
        nonisolated(unsafe) var outData = Data(), errData = Data()
        let group = DispatchGroup()
        DispatchQueue.global().async(group: group) {
            outData = out.fileHandleForReading.readDataToEndOfFile()
        }
        DispatchQueue.global().async(group: group) {
            errData = err.fileHandleForReading.readDataToEndOfFile()
        }
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        // SIGKILL: a runner may have left SIGTERM blocked, and children inherit that.
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        group.wait()
        return Outcome(
            status: process.terminationStatus,
            signaled: process.terminationReason == .uncaughtSignal,
            stdout: String(decoding: outData, as: UTF8.self),
            stderr: String(decoding: errData, as: UTF8.self))
    }
}
