import Foundation
import Testing

@testable import Attention

/// The platform reads behind ``MemoryProbe`` and ``MemoryBudget/current()``: the
/// `/proc/self/status` parser against hand-computed bytes, and the live values against the
/// machine's physical memory (Linux and Darwin both report them).
@Suite struct ProcessMemoryTests {
    @Test func procStatusFieldsAreKilobytes() {
        let status = "Name:\tattention\nVmHWM:\t  204800 kB\nVmRSS:\t    1536 kB\nVmData:\t7 kB\n"
        #expect(ProcSelfStatus.bytes("VmRSS:", in: status) == 1536 * 1024)
        #expect(ProcSelfStatus.bytes("VmHWM:", in: status) == 204_800 * 1024)
        #expect(ProcSelfStatus.bytes("VmData:", in: status) == 7 * 1024)
        #expect(ProcSelfStatus.bytes("VmSize:", in: status) == nil)
        #expect(ProcSelfStatus.bytes("VmRSS:", in: "VmRSS:\tlots kB\n") == nil)
    }

    @Test func residentMemoryIsReportedOnLinuxAndDarwin() throws {
        #if os(Linux) || canImport(Darwin)
            let physical = ProcessInfo.processInfo.physicalMemory
            let resident = try #require(MemoryProbe.residentBytes)
            let peak = try #require(MemoryProbe.peakBytes)
            // A test process holds at least a megabyte (the runtime and this test target).
            #expect(resident > 1 << 20 && UInt64(resident) <= physical)
            #expect(peak > 1 << 20 && UInt64(peak) <= physical)
        #endif
        let budget = MemoryBudget.current()
        #expect(budget.bytes > 0)
        #expect(UInt64(budget.bytes) <= ProcessInfo.processInfo.physicalMemory / 2)
    }
}
