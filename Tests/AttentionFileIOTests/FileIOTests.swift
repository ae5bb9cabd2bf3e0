import Foundation
import Testing
import _AttentionSignals

@testable import _AttentionFileIO

/// The one file writer/reader: devices, FIFOs, long names, links, modes, signals, early checks.
@Suite(.serialized) struct FileIOTests {
    let folder: String = {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent(
            "fileio-tests-\(UUID())"
        ).path
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }()

    func entries() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).sorted()
    }

    func fileType(_ path: String) -> mode_t {
        var status = stat()
        _ = lstat(path, &status)
        return status.st_mode & S_IFMT
    }

    @Test func devNullIsWrittenInPlaceNotReplaced() throws {
        #expect(fileType("/dev/null") == S_IFCHR)
        try FileIO.write(Array("hello".utf8), to: "/dev/null")
        #expect(fileType("/dev/null") == S_IFCHR)
    }

    @Test func fifoWithReaderIsWrittenInPlace() throws {
        let fifo = folder + "/pipe"
        #expect(mkfifo(fifo, 0o600) == 0)
        let reader = open(fifo, O_RDONLY | O_NONBLOCK)
        #expect(reader >= 0)
        defer { close(reader) }
        try FileIO.write(Array("abc".utf8), to: fifo)
        var buffer = [UInt8](repeating: 0, count: 8)
        let count = read(reader, &buffer, 8)
        #expect(Array(buffer.prefix(Swift.max(count, 0))) == Array("abc".utf8))
        #expect(fileType(fifo) == S_IFIFO)
        #expect(entries() == ["pipe"])
    }

    @Test func fifoWithoutReaderOrWriterFailsAtOnce() throws {
        let fifo = folder + "/lonely"
        #expect(mkfifo(fifo, 0o600) == 0)
        // Both would block forever without O_NONBLOCK.
        let writeError = #expect(throws: FileIOError.self) {
            try FileIO.write([1, 2, 3], to: fifo)
        }
        #expect(writeError?.reason.contains("no process is reading") == true)
        let readError = #expect(throws: FileIOError.self) { _ = try FileIO.read(path: fifo) }
        #expect(
            readError?.description
                == "cannot read \(fifo): not a regular file (a FIFO (named pipe))")
        #expect(fileType(fifo) == S_IFIFO)
    }

    @Test func nonRegularInputsAreNamedNotReadAsEmpty() throws {
        let error = #expect(throws: FileIOError.self) { _ = try FileIO.read(path: "/dev/null") }
        #expect(error?.reason == "not a regular file (a character device)")
        let directory = #expect(throws: FileIOError.self) { _ = try FileIO.read(path: folder) }
        #expect(directory?.reason == "it is a directory")
    }

    @Test func longNamesFitTheNameLimit() throws {
        let name = String(repeating: "n", count: 236) + ".png"  // 240 bytes, NAME_MAX is 255
        try FileIO.write([7, 8, 9], to: folder + "/" + name)
        #expect(try FileIO.read(path: folder + "/" + name) == [7, 8, 9])
        #expect(entries() == [name])
        // Multi-byte names are cut on a character boundary.
        let unicode = String(repeating: "é", count: 120)  // 240 bytes
        try FileIO.write([1], to: folder + "/" + unicode)
        #expect(entries().contains(unicode))
        #expect(FilePath.temporaryName(for: unicode).utf8.count <= 255)
    }

    @Test func symlinkIsFollowedAndModeKept() throws {
        let target = folder + "/real.bin", link = folder + "/link.bin"
        try FileIO.write([1], to: target)
        #expect(chmod(target, 0o600) == 0)
        #expect(symlink("real.bin", link) == 0)
        try FileIO.write([2, 3], to: link)
        #expect(fileType(link) == S_IFLNK)
        #expect(try FileIO.read(path: target) == [2, 3])
        var status = stat()
        _ = stat(target, &status)
        #expect(status.st_mode & 0o777 == 0o600)
        // A dangling link creates its target.
        #expect(symlink("new.bin", folder + "/dangling") == 0)
        try FileIO.write([4], to: folder + "/dangling")
        #expect(try FileIO.read(path: folder + "/new.bin") == [4])
        #expect(entries() == ["dangling", "link.bin", "new.bin", "real.bin"])
    }

    @Test func readOnlyFileIsNotReplaced() throws {
        guard geteuid() != 0 else { return }  // root may write anything: nothing to check
        let path = folder + "/locked"
        try FileIO.write([1], to: path)
        #expect(chmod(path, 0o444) == 0)
        #expect(throws: FileIOError.self) { try FileIO.write([2], to: path) }
        #expect(try FileIO.read(path: path) == [1])
    }

    @Test func failedProducerLeavesNothing() throws {
        struct Stop: Error {}
        #expect(throws: Stop.self) {
            try FileIO.write(toPath: folder + "/partial") { emit in
                try [UInt8](repeating: 1, count: 1000).withUnsafeBytes { try emit($0) }
                throw Stop()
            }
        }
        #expect(entries().isEmpty)
        #expect(as_registered_temporary_count() == 0)
    }

    /// A child registers a temporary file the way the writer does and is killed by SIGTERM:
    /// the file is gone and the child still died of SIGTERM (the signal was re-raised).
    @Test(arguments: [SIGTERM, SIGINT, SIGHUP])
    func signalRemovesRegisteredTemporaryFiles(number: Int32) throws {
        let path = folder + "/.victim.\(number).tmp"
        let cPath = strdup(path)!
        defer { free(cPath) }
        let pid = fork()
        if pid == 0 {
            restoreDefault(number)
            let fd = open(cPath, O_CREAT | O_WRONLY, 0o600)
            _ = as_register_temporary(cPath)
            if fd >= 0 { kill(getpid(), number) }
            _exit(3)
        }
        #expect(pid > 0)
        var status: Int32 = 0
        #expect(waitpid(pid, &status, 0) == pid)
        #expect(status & 0x7f == number)  // WIFSIGNALED with WTERMSIG == signal
        #expect(access(path, F_OK) != 0)
    }

    @Test func checksBeforeWorkSpeakEnglish() throws {
        try FileIO.write([1], to: folder + "/file")
        let cases: [(String, String)] = [
            (folder + "/file/x.json", "a file is in the way"),
            (folder + "/missing/x.json", "directory \(folder)/missing does not exist"),
            (folder, "it is a directory"),
            (folder + "/", "expected a file name, got a directory path"),
        ]
        for (path, reason) in cases {
            let error = #expect(throws: FileIOError.self) { try FileIO.checkWritable(path) }
            #expect(error?.description == "cannot create \(path): \(reason)")
        }
        try FileIO.checkWritable(folder + "/new.json")
        try FileIO.checkWritable("/dev/null")
        // The check's probe file is gone afterwards: only "file" is in the folder.
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder) == ["file"])
        #if os(Linux)
            // /proc takes no new files even for root, whom access(W_OK) always answers yes:
            // the check must say so before any work (it used to pass and the write failed late).
            let proc = #expect(throws: FileIOError.self) {
                try FileIO.checkWritable("/proc/attention-output.png")
            }
            #expect(
                proc?.description.hasPrefix(
                    "cannot create /proc/attention-output.png: cannot create files in /proc:")
                    == true)
        #endif
        let inTheWay = #expect(throws: FileIOError.self) {
            try FileIO.makeDirectory(folder + "/file/sub")
        }
        #expect(
            inTheWay?.description
                == "cannot create \(folder)/file/sub: a file is in the way (\(folder)/file is not a directory)"
        )
        try FileIO.makeDirectory(folder + "/a/b/c")
        try FileIO.makeDirectory(folder + "/a/b/c")
    }
}

extension FileIOTests {
    /// A forked child inherits the table of temporary files; when it is killed it must not
    /// remove the parent's files (only the ones it registered itself).
    @Test func forkedChildLeavesParentFilesAlone() throws {
        let path = folder + "/.parent.tmp"
        #expect(FileManager.default.createFile(atPath: path, contents: Data()))
        let slot = as_register_temporary(path)
        defer { as_unregister_temporary(slot) }
        let pid = fork()
        if pid == 0 {
            restoreDefault(SIGTERM)
            kill(getpid(), SIGTERM)
            _exit(3)
        }
        var status: Int32 = 0
        #expect(waitpid(pid, &status, 0) == pid)
        #expect(status & 0x7f == SIGTERM)
        #expect(access(path, F_OK) == 0)
    }
}

/// In a forked child: gives `number` its default action, unblocked (the test runner may block
/// or handle it), then installs the writer's handlers as a fresh process would.
private func restoreDefault(_ number: Int32) {
    signal(number, SIG_DFL)
    var set = sigset_t()
    sigemptyset(&set)
    sigaddset(&set, number)
    pthread_sigmask(SIG_UNBLOCK, &set, nil)
    as_install_handlers()
}
