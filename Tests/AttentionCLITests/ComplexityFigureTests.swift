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

    @Test(
        "the measurement plans every backend per length, skips reference past its limit, and keeps what each run reports"
    )
    func measurementPlan() throws {
        var calls: [(BenchmarkConfiguration, AttentionBackend)] = []
        var lines: [String] = []
        // A stand-in for the benchmark: each run reports a time and memory derived from
        // its position in the sequence, so the test knows which value belongs to which point.
        let points = try ComplexityMeasurement.run(
            seqLens: [32, 64], batch: 2, heads: 3, headDim: 8, window: 8, referenceMaxLen: 32,
            repeats: 1, progress: { lines.append($0) },
            measure: { config, backend in
                calls.append((config, backend))
                let n = calls.count
                // Run 4 (reference, S = 32) reports a peak below its baseline: no memory value.
                return ComplexityMeasurement.Sample(
                    milliseconds: Double(n), peakBytes: n == 4 ? 100 : 1000 * n,
                    baselineBytes: n == 4 ? 200 : 10 * n)
            })
        // The warm-up (call 1) is discarded; the reference at S = 64 is never run.
        #expect(calls.count == 6)
        #expect(calls.map(\.1) == [.fused, .fused, .fused, .reference, .fused, .fused])
        #expect(calls.map(\.0.seqLen) == [32, 32, 32, 32, 64, 64])
        #expect(
            calls.map(\.0.mask.text) == [
                "window:4,3", "window:4,3", "none", "none", "window:4,3", "none",
            ])
        #expect(calls.allSatisfy { $0.0.batch == 2 && $0.0.heads == 3 && $0.0.headDim == 8 })
        #expect(calls.allSatisfy { !$0.0.layer })
        // window 8 = 4 keys left, the query, 3 right.
        let window = try #require(calls.first?.0.mask.mask)
        #expect(window.description == AttentionMask.slidingWindow(left: 4, right: 3).description)

        #expect(
            points.map(\.backend) == [
                "sliding window 8", "fused", "reference", "sliding window 8", "fused", "reference",
            ])
        #expect(points.map(\.seqLen) == [32, 32, 32, 64, 64, 64])
        let times: [Double?] = [2, 3, 4, 5, 6, nil]
        let peaks: [Double?] = [2000 - 20, 3000 - 30, nil, 5000 - 50, 6000 - 60, nil]
        #expect(points.map(\.milliseconds) == times)
        #expect(points.map(\.peakBytes) == peaks)
        #expect(lines.count == 6)
        #expect(lines.first == "[1/6] sliding window 8, S = 32")
        #expect(lines.last == "[6/6] reference, S = 64")
    }

    @Test(
        "the real measurement fills every point it runs (values not checked: no timing in unit tests)"
    )
    func realMeasurement() throws {
        let points = try ComplexityMeasurement.run(
            seqLens: [16], heads: 1, headDim: 8, window: 4, referenceMaxLen: 16, repeats: 1)
        #expect(points.map(\.backend) == ["sliding window 4", "fused", "reference"])
        #expect(points.allSatisfy { $0.milliseconds != nil })
        #expect(throws: AttentionError.self) { try ComplexityMeasurement.run(seqLens: [0]) }
        #expect(throws: AttentionError.self) {
            try ComplexityMeasurement.run(seqLens: [8], window: 0)
        }
    }
}
