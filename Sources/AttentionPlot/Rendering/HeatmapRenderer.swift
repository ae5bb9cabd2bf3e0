/// Lays out and draws a ``Heatmap`` panel.
struct HeatmapRenderer {
    let heatmap: Heatmap
    let theme: Theme
    private let range: ClosedRange<Double>
    private let colors: [RGBA]

    init(heatmap: Heatmap, theme: Theme) {
        self.heatmap = heatmap
        self.theme = theme
        let range = heatmap.resolvedColorRange
        self.range = range
        self.colors = heatmap.values.map { heatmap.color(for: $0, in: range) }
    }

    /// The panel's scene, fitted into `cell`.
    func scene(in cell: PixelRect) -> Scene {
        PanelLayout.fit(in: cell) { area, detail in scene(area: area, cell: cell, detail: detail) }
    }

    /// The matrix rectangle inside `area`: centred square cells, or the whole area.
    func matrixRect(in area: PixelRect) -> PixelRect {
        guard heatmap.squareCells else { return area }
        let side = min(
            Double(area.width) / Double(heatmap.columns), Double(area.height) / Double(heatmap.rows)
        )
        let width = max(1, Int(side * Double(heatmap.columns)))
        let height = max(1, Int(side * Double(heatmap.rows)))
        return PixelRect(
            x: area.x + (area.width - width) / 2, y: area.y + (area.height - height) / 2,
            width: width, height: height)
    }

    private func scene(area: PixelRect, cell: PixelRect, detail: PanelLayout.Detail) -> Scene {
        var scene = Scene()
        let matrix = matrixRect(in: area)
        let painter = AxisPainter(theme: theme)
        scene.cells(matrix, rows: heatmap.rows, columns: heatmap.columns, colors: colors)
        scene.frame(around: matrix, thickness: theme.frameWidth, color: theme.frameColor)

        let xTicks = categoryTicks(
            heatmap.xTicks, count: heatmap.columns, start: Double(matrix.minX),
            length: Double(matrix.width), detail: detail
        ) { painter.horizontalLabelsFit($0, rotation: heatmap.xTickRotation) }
        let yTicks = categoryTicks(
            heatmap.yTicks, count: heatmap.rows, start: Double(matrix.minY),
            length: Double(matrix.height), detail: detail
        ) { painter.verticalLabelsFit($0) }
        let bottom = painter.bottom(
            xTicks, of: matrix, rotation: heatmap.xTickRotation, into: &scene)
        let left = painter.left(yTicks, of: matrix, into: &scene)

        let chrome = PanelChrome(theme: theme, detail: detail, cell: cell)
        chrome.title(heatmap.title, above: matrix, into: &scene)
        chrome.xLabel(heatmap.xLabel, below: matrix, top: bottom, into: &scene)
        chrome.verticalLabel(
            heatmap.yLabel, beside: matrix, edge: left - theme.labelPad, anchor: .right,
            bottom: bottom, into: &scene)
        if heatmap.showsColorbar {
            ColorbarPainter(
                theme: theme, colormap: heatmap.colormap, range: range,
                label: heatmap.colorbarLabel, detail: detail
            ).draw(beside: matrix, chrome: chrome, bottom: bottom, into: &scene)
        }
        return scene
    }

    /// Tick positions at cell centres, thinned until `fits` accepts them.
    private func categoryTicks(
        _ spec: CategoryTicks, count: Int, start: Double, length: Double,
        detail: PanelLayout.Detail, fits: ([AxisTick]) -> Bool
    ) -> [AxisTick] {
        let pitch = length / Double(count)
        func ticks(every step: Int, label: (Int) -> String) -> [AxisTick] {
            stride(from: 0, to: count, by: step).map {
                AxisTick(
                    position: start + (Double($0) + 0.5) * pitch,
                    label: detail.tickLabel(label($0)))
            }
        }
        switch spec {
        case .hidden:
            return []
        case .automatic:
            // At most ten indices, at a 1-2-2.5-5 step; the last step leaves index 0 alone.
            for step in FigureText.niceIntegerSteps(upTo: count) {
                let set = ticks(every: step) { String($0) }
                if (count + step - 1) / step <= 10 && fits(set) { return set }
            }
            return ticks(every: count) { String($0) }
        case .labels(let labels):
            for step in 1...count {
                let set = ticks(every: step) { $0 < labels.count ? labels[$0] : "" }
                if fits(set) { return set }
            }
            return ticks(every: count) { $0 < labels.count ? labels[$0] : "" }
        }
    }
}
