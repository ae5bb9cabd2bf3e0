/// Draws a vertical colorbar with value ticks beside a heatmap.
struct ColorbarPainter {
    let theme: Theme
    let colormap: Colormap
    let range: ClosedRange<Double>
    let label: String?
    let detail: PanelLayout.Detail

    /// Adds the bar, its frame, ticks, labels and title to the right of `matrix`; the title
    /// may extend down to row `bottom`.
    func draw(
        beside matrix: PixelRect, chrome: PanelChrome, bottom: Int, into scene: inout Scene
    ) {
        let gap = theme.wholePixels(10)
        let width = min(max(matrix.height / 20, theme.wholePixels(8)), theme.wholePixels(14))
        let bar = PixelRect(
            x: matrix.maxX + theme.frameWidth + gap, y: matrix.minY, width: width,
            height: matrix.height)
        let span = range.upperBound - range.lowerBound
        for row in 0..<bar.height {
            // Top row shows the high end of the range.
            let fraction = 1 - (Double(row) + 0.5) / Double(bar.height)
            scene.fill(
                PixelRect(x: bar.x, y: bar.y + row, width: bar.width, height: 1),
                colormap.color(at: fraction))
        }
        scene.frame(around: bar, thickness: theme.frameWidth, color: theme.frameColor)

        let painter = AxisPainter(theme: theme)
        var ticks: [AxisTick] = []
        if span > 0 {
            for candidate in TickMath.linearCandidates(range) {
                ticks = candidate.map { tick in
                    let fraction = (tick.value - range.lowerBound) / span
                    return AxisTick(
                        position: Double(bar.maxY) - fraction * Double(bar.height),
                        label: detail.tickLabel(tick.label))
                }
                if ticks.count <= 8 && painter.verticalLabelsFit(ticks) { break }
            }
            ticks = painter.pruned(ticks, vertical: true)
        }
        let rightmost = painter.right(ticks, of: bar, into: &scene)
        chrome.verticalLabel(
            label, beside: bar, edge: rightmost + theme.labelPad, anchor: .left, bottom: bottom,
            into: &scene)
    }
}
