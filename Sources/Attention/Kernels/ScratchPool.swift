import Foundation

/// Keeps the fused kernel's largest scratch buffer (Kᵀ of one head per worker, S·D floats
/// each) between calls, so repeated calls do not fault fresh pages in every time. One
/// buffer; a call that finds it in use allocates its own. Memory stays O(S·D).
enum ScratchPool {
    nonisolated(unsafe) private static var buffer: UnsafeMutablePointer<Float>?
    nonisolated(unsafe) private static var capacity = 0
    private static let lock = NSLock()

    static func withBuffer<R>(count: Int, _ body: (UnsafeMutablePointer<Float>) throws -> R)
        rethrows -> R
    {
        lock.lock()
        var mine = buffer
        var mineCapacity = capacity
        buffer = nil
        capacity = 0
        lock.unlock()
        if mineCapacity < Swift.max(count, 1) {  // never nil, even for count 0
            mine?.deallocate()
            mine = UnsafeMutablePointer<Float>.allocate(capacity: Swift.max(count, 1))
            adviseHugePages(mine!, count: count)
            mineCapacity = Swift.max(count, 1)
        }
        defer {
            lock.lock()
            if mineCapacity > capacity {
                buffer?.deallocate()
                (buffer, capacity) = (mine, mineCapacity)
            } else {
                mine?.deallocate()
            }
            lock.unlock()
        }
        return try body(mine!)
    }
}
