import Foundation

/// Lays out and draws a ``LinePlot`` panel.
struct LinePlotRenderer {
    let plot: LinePlot
    let theme: Theme
    private let xAxis: LineAxis
    private let yAxis: LineAxis

    init(plot: LinePlot, theme: Theme) {
        self.plot = plot
        self.theme = theme
        var xs: [Double] = []
        var ys: [Double] = []
        for series in plot.series {
            for (x, y) in series.points where x.isFinite && y.isFinite {
                guard plot.xScale == .linear || x > 0, plot.yScale == .linear || y > 0 else {
                    continue
                }
                xs.append(x)
                ys.append(y)
            }
        }
        xAxis = LineAxis(scale: plot.xScale, values: xs, explicit: plot.xLimits)
        yAxis = LineAxis(scale: plot.yScale, values: ys, explicit: plot.yLimits)
    }

    /// The panel's scene, fitted into `cell`.
    func scene(in cell: PixelRect) -> Scene {
        PanelLayout.fit(in: cell) { area, detail in scene(area: area, cell: cell, detail: detail) }
    }

    /// Pixel position of a data point inside `area`, or a NaN point if it cannot be shown.
    private func point(_ x: Double, _ y: Double, in area: PixelRect) -> PixelPoint {
        guard let fx = xAxis.fraction(x), let fy = yAxis.fraction(y) else {
            return PixelPoint(x: .nan, y: .nan)
        }
        return PixelPoint(
            x: Double(area.minX) + fx * Double(area.width),
            y: Double(area.maxY) - fy * Double(area.height))
    }

    private func scene(area: PixelRect, cell: PixelRect, detail: PanelLayout.Detail) -> Scene {
        var scene = Scene()
        let painter = AxisPainter(theme: theme)
        // Background of the plot area, so bounds always include it.
        scene.fill(area, .transparent)

        let xTicks = chooseTicks(xAxis, plot.xTicks, length: area.width, detail: detail) {
            Double(area.minX) + $0 * Double(area.width)
        } fits: {
            painter.horizontalLabelsFit($0, rotation: 0)
        } prune: {
            painter.pruned($0, vertical: false)
        }
        let yTicks = chooseTicks(yAxis, plot.yTicks, length: area.height, detail: detail) {
            Double(area.maxY) - $0 * Double(area.height)
        } fits: {
            painter.verticalLabelsFit($0)
        } prune: {
            painter.pruned($0, vertical: true)
        }

        if plot.showsGrid {
            for tick in xTicks where tick.isMajor {
                let x = Int(tick.position.rounded(.down))
                scene.fill(
                    PixelRect(
                        x: x - theme.frameWidth / 2, y: area.y, width: theme.frameWidth,
                        height: area.height), theme.gridColor)
            }
            for tick in yTicks where tick.isMajor {
                let y = Int(tick.position.rounded(.down))
                scene.fill(
                    PixelRect(
                        x: area.x, y: y - theme.frameWidth / 2, width: area.width,
                        height: theme.frameWidth), theme.gridColor)
            }
        }
        for guide in plot.guides { addGuide(guide, in: area, to: &scene) }
        for (index, series) in plot.series.enumerated() {
            let color = plot.color(ofSeries: index)
            let points = series.points.map { point($0, $1, in: area) }
            if series.style != .none {
                let width = theme.pixels(series.lineWidth)
                scene.polyline(
                    points, color: color, width: width,
                    dash: series.style.dashPattern(width: width), clip: area)
            }
            if let marker = series.marker {
                for p in points where p.x.isFinite {
                    scene.marker(
                        marker, at: p, size: theme.pixels(series.markerSize), color: color,
                        clip: area)
                }
            }
        }
        scene.frame(around: area, thickness: theme.frameWidth, color: theme.frameColor)
        let bottom = painter.bottom(xTicks, of: area, rotation: 0, into: &scene)
        let left = painter.left(yTicks, of: area, into: &scene)
        if detail.showsLegend {
            LegendPainter(theme: theme, plot: plot).draw(in: area, into: &scene) {
                point($0, $1, in: area)
            }
        }
        let chrome = PanelChrome(theme: theme, detail: detail, cell: cell)
        chrome.title(plot.title, above: area, into: &scene)
        chrome.xLabel(plot.xLabel, below: area, top: bottom, into: &scene)
        chrome.verticalLabel(
            plot.yLabel, beside: area, edge: left - theme.labelPad, anchor: .right,
            bottom: bottom, into: &scene)
        return scene
    }

    /// The densest candidate tick set whose labels fit and are not crowded (at most one
    /// automatic label per three line heights of axis length). If none fits, the sparsest
    /// set with crowding labels removed.
    ///
    /// - Parameters:
    ///   - position: Maps a fraction of the axis length to a pixel coordinate.
    ///   - fits: Whether a tick set's labels keep apart.
    ///   - prune: Removes crowding labels.
    private func chooseTicks(
        _ axis: LineAxis, _ spec: AxisTicks, length: Int, detail: PanelLayout.Detail,
        position: (Double) -> Double, fits: ([AxisTick]) -> Bool,
        prune: ([AxisTick]) -> [AxisTick]
    ) -> [AxisTick] {
        let candidates = axis.tickCandidates(spec).map { ticks in
            ticks.map {
                AxisTick(
                    position: position(axis.fraction($0.value) ?? 0),
                    label: detail.tickLabel($0.label), isMajor: $0.isMajor)
            }
        }
        let maxLabels = max(2, Int(Double(length) / (3 * Double(theme.tickText.lineHeight))))
        for ticks in candidates {
            let labelled = ticks.filter { $0.label != nil }.count
            if case .automatic = spec, labelled > maxLabels { continue }
            if fits(ticks) { return ticks }
        }
        return prune(candidates.last ?? [])
    }

    private func addGuide(_ guide: GuideLine, in area: PixelRect, to scene: inout Scene) {
        let width = theme.pixels(guide.lineWidth)
        let dash = guide.style.dashPattern(width: width)
        var points: [PixelPoint]
        switch guide.kind {
        case .horizontal(let y):
            guard let f = yAxis.fraction(y) else { return }
            let py = Double(area.maxY) - f * Double(area.height)
            points = [
                PixelPoint(x: Double(area.minX), y: py), PixelPoint(x: Double(area.maxX), y: py),
            ]
        case .vertical(let x):
            guard let f = xAxis.fraction(x) else { return }
            let px = Double(area.minX) + f * Double(area.width)
            points = [
                PixelPoint(x: px, y: Double(area.minY)), PixelPoint(x: px, y: Double(area.maxY)),
            ]
        case .through(let x0, let y0, let x1, let y1):
            let a = point(x0, y0, in: area)
            let b = point(x1, y1, in: area)
            let dx = b.x - a.x
            let dy = b.y - a.y
            let length = hypot(dx, dy)
            guard a.x.isFinite, b.x.isFinite, length > 0 else { return }
            // Extend far enough in both directions to cross the whole plot.
            let reach =
                (Double(area.width + area.height) * 2
                    + hypot(a.x - Double(area.midX), a.y - Double(area.midY))) / length
            points = [
                PixelPoint(x: a.x - dx * reach, y: a.y - dy * reach),
                PixelPoint(x: a.x + dx * reach, y: a.y + dy * reach),
            ]
        }
        guard guide.style != .none else { return }
        scene.polyline(points, color: guide.color, width: width, dash: dash, clip: area)
    }
}
