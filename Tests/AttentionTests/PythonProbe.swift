import Foundation

/// Runs python3 for the few checks against Python libraries; tests skip (printing a line)
/// when python3 or a module is missing, so the suite never needs Python.
struct PythonProbe {
    let executable: String

    /// A python3 on PATH that can import every module in `modules`, or `nil`.
    static func withModules(_ modules: [String]) -> PythonProbe? {
        let paths = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(
            separator: ":")
        guard
            let exe = paths.map({ "\($0)/python3" }).first(where: {
                FileManager.default.isExecutableFile(atPath: $0)
            })
        else { return nil }
        let probe = PythonProbe(executable: exe)
        let imports = modules.map { "import \($0)" }.joined(separator: "\n")
        return (try? probe.run(imports, arguments: [])) != nil ? probe : nil
    }

    /// Runs `script` with `arguments`; returns stdout, throws when the exit status is not 0.
    func run(_ script: String, arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["-c", script] + arguments
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw CocoaError(.executableLoad)
        }
        return String(decoding: data, as: UTF8.self)
    }
}
