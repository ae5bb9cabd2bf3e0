import Attention
import AttentionPlot
import Testing

@testable import AttentionCLI

@Suite("Complexity figure")
struct ComplexityFigureTests {
    /// Synthetic points: reference grows as S², fused time as S² and memory as S, the window
    /// as S; reference is skipped at the longest length.
    static let points: [ComplexityPoint] = [256, 512, 1024, 2048].flatMap {
        s -> [ComplexityPoint] in
        let x = Double(s) / 256
        return [
            ComplexityPoint(
                backend: ComplexityPoint.reference, seqLen: s,
                milliseconds: s == 2048 ? nil : 2 * x * x,
                peakBytes: s == 2048 ? nil : 4e6 * x * x),
            ComplexityPoint(
                backend: ComplexityPoint.fused, seqLen: s, milliseconds: x * x, peakBytes: 1e6 * x),
            ComplexityPoint(
                backend: ComplexityPoint.slidingWindow(256), seqLen: s, milliseconds: 0.8 * x,
                peakBytes: 1e6 * x),
        ]
    }

    @Test("complexity.png is 2100×900 with two log-log panels showing every series")
    func renders() throws {
        let figure = Figures.complexity(Self.points)
        let probe = try FigureProbe(writing: figure, name: "complexity.png")
        #expect(probe.bitmap.width == 2100 && probe.bitmap.height == 900)
        #expect(probe.panels().count == 2, "found \(probe.panels())")
        for column in 0..<2 {
            guard case .linePlot(let plot) = figure[0, column] else {
                Issue.record("panel \(column) is not a line plot")
                continue
            }
            #expect(plot.xScale == .log10 && plot.yScale == .log10)
            #expect(
                plot.series.map(\.name) == ["standard (reference)", "fused", "sliding window 256"])
            #expect(plot.guides.map(\.label) == ["O(S^2)", "O(S)"])
            #expect(plot.guides.allSatisfy { $0.style == .dashed })
            // Skipped points are left out.
            #expect(plot.series[0].x == [256, 512, 1024])
            // Each series' colour is drawn.
            for index in plot.series.indices {
                #expect(probe.count(of: plot.color(ofSeries: index)) > 100, "series \(index)")
            }
        }
        guard case .linePlot(let memory) = figure[0, 1] else { return }
        #expect(memory.series[1].y.first == 1e6 / 1_048_576)
    }

    @Test("guides: O(S²) through the first reference point, O(S) through the linear series")
    func guideAnchors() {
        let figure = Figures.complexity(Self.points)
        guard case .linePlot(let time) = figure[0, 0], case .linePlot(let memory) = figure[0, 1]
        else {
            Issue.record("expected line plots")
            return
        }
        #expect(time.guides[0].kind == .through(x0: 256, y0: 2, x1: 2048, y1: 2 * 64))
        #expect(time.guides[1].kind == .through(x0: 256, y0: 0.8, x1: 2048, y1: 0.8 * 8))
        let mib = 1_048_576.0
        #expect(
            memory.guides[0].kind == .through(x0: 256, y0: 4e6 / mib, x1: 2048, y1: 4e6 / mib * 64))
        #expect(
            memory.guides[1].kind == .through(x0: 256, y0: 1e6 / mib, x1: 2048, y1: 1e6 / mib * 8))
    }

    @Test("partial or empty data still renders")
    func sparseData() throws {
        let fusedOnly = [
            ComplexityPoint(backend: "fused", seqLen: 128, milliseconds: 1, peakBytes: nil)
        ]
        let figure = Figures.complexity(fusedOnly)
        guard case .linePlot(let time) = figure[0, 0], case .linePlot(let memory) = figure[0, 1]
        else {
            Issue.record("expected line plots")
            return
        }
        #expect(time.series.count == 1 && time.guides.count == 2)
        #expect(memory.series.isEmpty && memory.guides.isEmpty)
        _ = try FigureProbe(writing: figure, name: "one.png")
        _ = try FigureProbe(writing: Figures.complexity([]), name: "none.png")
    }

    @Test("backends are ordered reference, fused, sliding window, then others")
    func ordering() {
        let names = ["custom", "sliding window 64", "fused", "reference"].map {
            ComplexityPoint(backend: $0, seqLen: 64, milliseconds: 1, peakBytes: 1)
        }
        #expect(
            Figures.orderedBackends(names) == ["reference", "fused", "sliding window 64", "custom"])
    }

    @Test("the measurement runs every backend per length and skips reference past its limit")
    func measurement() throws {
        var lines: [String] = []
        let points = try ComplexityMeasurement.run(
            seqLens: [32, 64], heads: 2, headDim: 8, window: 8, referenceMaxLen: 32, repeats: 1
        ) { lines.append($0) }
        #expect(
            points.map(\.backend) == [
                "sliding window 8", "fused", "reference", "sliding window 8", "fused", "reference",
            ])
        #expect(points.map(\.seqLen) == [32, 32, 32, 64, 64, 64])
        #expect(lines.count == 6)
        for point in points where !(point.backend == "reference" && point.seqLen == 64) {
            #expect((point.milliseconds ?? 0) > 0, "\(point.backend) \(point.seqLen)")
        }
        let skipped = try #require(points.last)
        #expect(skipped.milliseconds == nil && skipped.peakBytes == nil)
        #expect(throws: AttentionError.self) { try ComplexityMeasurement.run(seqLens: [0]) }
        #expect(throws: AttentionError.self) {
            try ComplexityMeasurement.run(seqLens: [8], window: 0)
        }
    }
}
