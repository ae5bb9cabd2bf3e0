import AttentionPlot
import Foundation

extension Figures {
    /// `complexity.png`: measured cost against sequence length, on log-log axes, in two
    /// panels (14 × 6 inches at 150 dpi, 2100 × 900 pixels).
    ///
    /// Left: median time (ms). Right: peak memory of the run (MiB, see
    /// ``ComplexityMeasurement``). One line per backend — standard (`"reference"`),
    /// `"fused"`, then sliding-window sparse and any other backends in order of appearance;
    /// points without a value (skipped runs) are left out. Dashed guides (dark grey O(S²), light grey O(S)) show the
    /// theoretical slopes: O(S²) through the first measured point of the standard series
    /// (or of the first series, without one), and O(S) through the first measured point of
    /// the series expected to be linear — the sliding-window series for time, fused (whose
    /// memory is O(S·D)) for memory — falling back to the O(S²) anchor.
    ///
    /// - Parameter points: the measurements, in any order.
    static func complexity(_ points: [ComplexityPoint]) -> Figure {
        var figure = Figure(
            rows: 1, columns: 2, widthInches: 14, heightInches: 6, dpi: dpi,
            title: "Attention cost vs sequence length")
        let backends = orderedBackends(points)
        let lengths = Array(Set(points.map(\.seqLen))).filter { $0 > 0 }.sorted()

        var time = complexityPlot(
            title: "Time", yLabel: "Median time (ms)", points: points, backends: backends,
            lengths: lengths, value: \.milliseconds,
            linearBackend: { $0.hasPrefix("sliding window") })
        time.legend = .upperLeft
        figure[0, 0] = .linePlot(time)

        var memory = complexityPlot(
            title: "Memory", yLabel: "Peak memory (MiB)", points: points, backends: backends,
            lengths: lengths, value: { $0.peakBytes.map { $0 / 1_048_576 } },
            linearBackend: { $0 == ComplexityPoint.fused })
        memory.legend = .upperLeft
        figure[0, 1] = .linePlot(memory)
        return figure
    }

    /// Backends in display order: reference, fused, sliding window(s), then the rest as they
    /// first appear.
    static func orderedBackends(_ points: [ComplexityPoint]) -> [String] {
        var seen: [String] = []
        for p in points where !seen.contains(p.backend) { seen.append(p.backend) }
        func rank(_ name: String) -> Int {
            if name == ComplexityPoint.reference { return 0 }
            if name == ComplexityPoint.fused { return 1 }
            if name.hasPrefix("sliding window") { return 2 }
            return 3
        }
        return seen.enumerated().sorted {
            (rank($0.element), $0.offset) < (rank($1.element), $1.offset)
        }
        .map(\.element)
    }

    /// Legend text of a backend.
    static func legendName(_ backend: String) -> String {
        backend == ComplexityPoint.reference ? "standard (reference)" : backend
    }

    /// One log-log panel: a series per backend plus the O(S²) and O(S) guides.
    private static func complexityPlot(
        title: String, yLabel: String, points: [ComplexityPoint], backends: [String],
        lengths: [Int], value: (ComplexityPoint) -> Double?, linearBackend: (String) -> Bool
    ) -> LinePlot {
        var plot = LinePlot(
            title: title, xLabel: "Sequence length S", yLabel: yLabel, xScale: .log10,
            yScale: .log10)
        let markers: [Marker] = [.circle, .square, .triangle, .diamond]
        var firsts: [String: (x: Double, y: Double)] = [:]
        for (index, backend) in backends.enumerated() {
            let measured = points.filter { $0.backend == backend }
                .compactMap { p in
                    value(p).flatMap { $0 > 0 && $0.isFinite ? (Double(p.seqLen), $0) : nil }
                }
                .sorted { $0.0 < $1.0 }
            guard let first = measured.first else { continue }
            firsts[backend] = first
            plot.series.append(
                LineSeries(
                    name: legendName(backend), x: measured.map(\.0), y: measured.map(\.1),
                    // Fused is drawn wider: sliding-window memory equals it (both O(S·D)),
                    // and the later, thinner line on top would hide it otherwise.
                    lineWidth: backend == ComplexityPoint.fused ? 4 : 2,
                    marker: markers[index % markers.count],
                    markerSize: backend == ComplexityPoint.fused ? 10 : 7))
        }
        guard let lastX = lengths.last.map(Double.init) else { return plot }
        let present = backends.filter { firsts[$0] != nil }
        guard
            let quadraticAnchor = firsts[ComplexityPoint.reference]
                ?? present.first.flatMap({ firsts[$0] })
        else { return plot }
        let linearAnchor =
            present.first(where: linearBackend).flatMap { firsts[$0] } ?? quadraticAnchor
        plot.guides.append(guide(through: quadraticAnchor, power: 2, to: lastX, label: "O(S^2)"))
        plot.guides.append(guide(through: linearAnchor, power: 1, to: lastX, label: "O(S)"))
        if lengths.count > 1 {
            plot.xTicks = .labeled(
                values: lengths.map(Double.init), labels: lengths.map(String.init))
        }
        return plot
    }

    /// The power law `y = y₀·(x/x₀)^power` through `anchor`, as a dashed grey guide.
    private static func guide(
        through anchor: (x: Double, y: Double), power: Double, to x1: Double, label: String
    ) -> GuideLine {
        let x1 = x1 > anchor.x ? x1 : anchor.x * 2
        let y1 = anchor.y * pow(x1 / anchor.x, power)
        return GuideLine(
            .through(x0: anchor.x, y0: anchor.y, x1: x1, y1: y1),
            color: power == 2 ? .gray(60) : .gray(150), style: .dashed, lineWidth: 1.25,
            label: label)
    }
}
