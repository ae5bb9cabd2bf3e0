import Foundation

/// One numeric axis of a line plot: its scale and data limits, and the mapping to pixels.
struct LineAxis {
    let scale: AxisScale
    /// Data values at the two ends of the axis.
    let limits: ClosedRange<Double>

    /// An axis fitted to `values` with 5% margins (in display space), or spanning `explicit`.
    init(scale: AxisScale, values: [Double], explicit: ClosedRange<Double>?) {
        self.scale = scale
        if let explicit, explicit.lowerBound.isFinite, explicit.upperBound.isFinite,
            explicit.upperBound > explicit.lowerBound, scale == .linear || explicit.lowerBound > 0
        {
            limits = explicit
            return
        }
        let usable = values.filter { $0.isFinite && (scale == .linear || $0 > 0) }
        guard var low = usable.min(), var high = usable.max() else {
            limits = scale == .linear ? 0...1 : 1...10
            return
        }
        switch scale {
        case .linear:
            if low == high {
                let pad = low == 0 ? 1 : abs(low) * 0.1
                low -= pad
                high += pad
            }
            let margin = (high - low) * 0.05
            limits = (low - margin)...(high + margin)
        case .log10:
            var logLow = Foundation.log10(low)
            var logHigh = Foundation.log10(high)
            if logLow == logHigh {
                logLow -= 0.5
                logHigh += 0.5
            }
            let margin = (logHigh - logLow) * 0.05
            limits = pow(10, logLow - margin)...pow(10, logHigh + margin)
        }
    }

    /// `value` in display space (identity or `log10`); `nil` if it cannot be shown.
    func transformed(_ value: Double) -> Double? {
        guard value.isFinite else { return nil }
        switch scale {
        case .linear: return value
        case .log10: return value > 0 ? Foundation.log10(value) : nil
        }
    }

    /// The fraction of the axis length at which `value` lies (0 at the low limit); `nil` if it
    /// cannot be shown. Values outside the limits give fractions outside `0...1`.
    func fraction(_ value: Double) -> Double? {
        guard let v = transformed(value), let lo = transformed(limits.lowerBound),
            let hi = transformed(limits.upperBound), hi > lo
        else { return nil }
        return (v - lo) / (hi - lo)
    }

    /// Candidate tick sets for `spec`, densest first.
    func tickCandidates(_ spec: AxisTicks) -> [[Tick]] {
        let inRange = { (value: Double) in
            self.limits.contains(value) && self.transformed(value) != nil
        }
        switch spec {
        case .hidden:
            return [[]]
        case .automatic:
            let candidates =
                scale == .linear
                ? TickMath.linearCandidates(limits) : TickMath.logCandidates(limits)
            return candidates.map { $0.filter { inRange($0.value) } }
        case .values(let values):
            let sorted = values.filter(inRange).sorted()
            let step = zip(sorted, sorted.dropFirst()).map { $1 - $0 }.filter { $0 > 0 }.min() ?? 1
            return [sorted.map { Tick(value: $0, label: TickMath.format($0, step: step)) }]
        case .labeled(let values, let labels):
            return [
                zip(values, labels).filter { inRange($0.0) }.map { Tick(value: $0.0, label: $0.1) }
            ]
        }
    }
}
