import Dispatch

/// Timing helpers for benchmarks (never used in unit tests).
public enum Timing {
    /// Runs `body` `warmup` times, then `repeats` times, and returns each timed run in ms.
    public static func measure(repeats: Int, warmup: Int = 1, _ body: () throws -> Void) rethrows
        -> [Double]
    {
        for _ in 0..<warmup { try body() }
        var times: [Double] = []
        for _ in 0..<Swift.max(1, repeats) {
            let start = DispatchTime.now().uptimeNanoseconds
            try body()
            times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
        }
        return times
    }

    /// The median of a non-empty list.
    public static func median(_ values: [Double]) -> Double {
        let s = values.sorted()
        return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }
}
