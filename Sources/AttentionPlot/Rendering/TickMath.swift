import Foundation

/// A tick on a numeric axis: its data value and label (`nil` for unlabelled minor ticks).
struct Tick: Sendable, Hashable {
    var value: Double
    var label: String?
    var isMajor: Bool = true
}

/// Tick placement and number formatting for numeric axes.
enum TickMath {
    /// Candidate tick sets for `range`, from densest (about 12 ticks) to sparsest, using steps
    /// of 1, 2, 2.5 and 5 times powers of ten. The caller picks the first whose labels fit.
    static func linearCandidates(_ range: ClosedRange<Double>) -> [[Tick]] {
        let span = range.upperBound - range.lowerBound
        guard span > 0, span.isFinite else {
            return [[Tick(value: range.lowerBound, label: format(range.lowerBound, step: 1))]]
        }
        var candidates: [[Tick]] = []
        var exponent = Int((log10(span / 12)).rounded(.down))
        while candidates.count < 16 {
            for multiplier in [1.0, 2, 2.5, 5] {
                let step = multiplier * pow(10, Double(exponent))
                let first = (range.lowerBound / step - 1e-9).rounded(.up)
                let last = (range.upperBound / step + 1e-9).rounded(.down)
                let count = Int(last - first) + 1
                guard count <= 12 else { continue }
                let ticks = (0..<max(count, 0)).map { k -> Tick in
                    var value = (first + Double(k)) * step
                    if abs(value) < step * 1e-9 { value = 0 }
                    return Tick(value: value, label: format(value, step: step))
                }
                candidates.append(ticks)
                if count <= 1 { return candidates }
            }
            exponent += 1
        }
        return candidates
    }

    /// Candidate tick sets for a log-scaled `range` (positive bounds): labelled decades, every
    /// decade first and then every 2nd, 3rd, … The densest set also carries unlabelled minor
    /// ticks at 2–9 × 10ᵏ. Ranges spanning less than two decades fall back to linear ticks.
    static func logCandidates(_ range: ClosedRange<Double>) -> [[Tick]] {
        let lowExponent = Int((log10(range.lowerBound) - 1e-9).rounded(.up))
        let highExponent = Int((log10(range.upperBound) + 1e-9).rounded(.down))
        let decades = highExponent >= lowExponent ? Array(lowExponent...highExponent) : []
        var minors: [Tick] = []
        let minorLow = Int(log10(range.lowerBound).rounded(.down))
        if highExponent - minorLow <= 12 {
            for exponent in minorLow...max(minorLow, highExponent) {
                for multiplier in 2...9 {
                    let value = Double(multiplier) * pow(10, Double(exponent))
                    if range.contains(value) {
                        minors.append(Tick(value: value, label: nil, isMajor: false))
                    }
                }
            }
        }
        guard decades.count >= 2 else {
            // Too few decades to label: nice linear values, still placed on the log axis.
            return linearCandidates(range).map { ticks in
                let majors = ticks.filter { $0.value > 0 }
                let free = minors.filter { minor in
                    !majors.contains { abs($0.value - minor.value) <= 1e-9 * minor.value }
                }
                return majors + free
            }
        }
        var candidates: [[Tick]] = []
        for every in [1, 2, 3, 4, 5, 10, 20, 50, 100] {
            let labelled = decades.filter { ($0 - decades[0]) % every == 0 }
            var ticks = labelled.map { Tick(value: pow(10, Double($0)), label: formatDecade($0)) }
            if every == 1 { ticks += minors }
            candidates.append(ticks)
            if labelled.count <= 2 { break }
        }
        return candidates
    }

    /// `value` with just enough decimals for ticks `step` apart; scientific notation for very
    /// large or small magnitudes.
    static func format(_ value: Double, step: Double) -> String {
        let magnitude = abs(value)
        if value == 0 {
            return step >= 1e6 || step < 1e-4
                ? "0" : String(format: "%.*f", significantDecimals(step), 0.0)
        }
        if magnitude >= 1e6 || magnitude < 1e-4 {
            let exponent = (log10(magnitude)).rounded(.down)
            let decimals = significantDecimals(step / pow(10, exponent))
            return trimExponent(String(format: "%.*e", decimals, value))
        }
        let decimals = significantDecimals(step)
        return String(format: "%.*f", decimals, value)
    }

    /// A power of ten: plain digits from 10⁻⁴ to 10⁶, otherwise `1e<k>`.
    static func formatDecade(_ exponent: Int) -> String {
        switch exponent {
        case 0...6: return "1" + String(repeating: "0", count: exponent)
        case -4..<0: return "0." + String(repeating: "0", count: -exponent - 1) + "1"
        default: return "1e\(exponent)"
        }
    }

    /// Decimals needed to write multiples of `step` exactly (at most 10).
    private static func significantDecimals(_ step: Double) -> Int {
        guard step > 0, step.isFinite else { return 0 }
        for decimals in 0...10 {
            let scaled = step * pow(10, Double(decimals))
            if abs(scaled - scaled.rounded()) < 1e-6 * max(1, scaled) { return decimals }
        }
        return 10
    }

    /// `"1.5e+07"` → `"1.5e7"`, `"2e-05"` → `"2e-5"`.
    private static func trimExponent(_ text: String) -> String {
        guard let e = text.firstIndex(of: "e") else { return text }
        let mantissa = text[..<e]
        var exponent = text[text.index(after: e)...]
        var sign = ""
        if exponent.first == "-" || exponent.first == "+" {
            sign = exponent.first == "-" ? "-" : ""
            exponent = exponent.dropFirst()
        }
        let digits = exponent.drop(while: { $0 == "0" })
        return "\(mantissa)e\(sign)\(digits.isEmpty ? "0" : String(digits))"
    }
}
