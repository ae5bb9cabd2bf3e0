/// Draws a vertical colorbar with value ticks beside a heatmap.
struct ColorbarPainter {
    let theme: Theme
    let colormap: Colormap
    let range: ClosedRange<Double>
    let label: String?

    /// Adds the bar, its frame, ticks, labels and title to the right of `matrix`.
    func draw(beside matrix: PixelRect, into scene: inout Scene) {
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
                        label: tick.label)
                }
                if ticks.count <= 8 && painter.verticalLabelsFit(ticks) { break }
            }
        }
        let rightmost = painter.right(ticks, of: bar, into: &scene)
        if let label, !label.isEmpty {
            var style = theme.labelText
            style.rotation = 90
            scene.text(
                label, x: rightmost + theme.labelPad, y: bar.midY, anchor: .left, style: style)
        }
    }
}
