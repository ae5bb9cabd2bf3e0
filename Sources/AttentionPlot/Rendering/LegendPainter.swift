/// Draws the legend box of a line plot inside its plot area (omitted if it does not fit).
struct LegendPainter {
    let theme: Theme
    let plot: LinePlot

    private struct Entry {
        var label: String
        var color: RGBA
        var style: LineStyle
        var lineWidth: Double
        var marker: Marker?
        var markerSize: Double
    }

    private var entries: [Entry] {
        var result: [Entry] = []
        for guide in plot.guides {
            if let label = guide.label, !label.isEmpty {
                result.append(
                    Entry(
                        label: label, color: guide.color, style: guide.style,
                        lineWidth: guide.lineWidth, marker: nil, markerSize: 0))
            }
        }
        for (index, series) in plot.series.enumerated() {
            if let name = series.name, !name.isEmpty {
                result.append(
                    Entry(
                        label: name, color: plot.color(ofSeries: index), style: series.style,
                        lineWidth: series.lineWidth, marker: series.marker,
                        markerSize: series.markerSize))
            }
        }
        return result
    }

    /// Adds the legend to `scene`; `project` maps data points to pixels (for `.best`).
    func draw(in area: PixelRect, into scene: inout Scene, project: (Double, Double) -> PixelPoint)
    {
        let entries = self.entries
        guard plot.legend != .hidden, !entries.isEmpty else { return }
        let style = theme.tickText
        let pad = theme.wholePixels(4)
        let sampleLength = theme.wholePixels(20)
        let rowHeight = style.lineHeight + theme.wholePixels(2)
        let textWidth = entries.map { style.size(of: $0.label).width }.max() ?? 0
        let width = pad + sampleLength + pad + textWidth + pad
        let height = pad + rowHeight * entries.count + pad - theme.wholePixels(2)
        let inset = theme.wholePixels(6)
        // A legend that would cover the plot entirely is left out.
        guard width + 2 * inset <= area.width, height + 2 * inset <= area.height else { return }
        let corners: [(LegendPlacement, PixelRect)] = [
            (
                .upperRight,
                PixelRect(
                    x: area.maxX - inset - width, y: area.minY + inset, width: width, height: height
                )
            ),
            (
                .upperLeft,
                PixelRect(x: area.minX + inset, y: area.minY + inset, width: width, height: height)
            ),
            (
                .lowerLeft,
                PixelRect(
                    x: area.minX + inset, y: area.maxY - inset - height, width: width,
                    height: height)
            ),
            (
                .lowerRight,
                PixelRect(
                    x: area.maxX - inset - width, y: area.maxY - inset - height, width: width,
                    height: height)
            ),
        ]
        let box: PixelRect
        if let chosen = corners.first(where: { $0.0 == plot.legend }) {
            box = chosen.1
        } else {
            let samples = dataSamples(project)
            box =
                corners.min { a, b in
                    covered(samples, by: a.1) < covered(samples, by: b.1)
                }!.1
        }

        scene.fill(box, RGBA.white.withAlpha(204))
        let border = box.insetBy(dx: 1, dy: 1)
        scene.frame(around: border, thickness: 1, color: .gray(204))
        for (row, entry) in entries.enumerated() {
            let centerY = Double(box.minY + pad + row * rowHeight) + Double(style.lineHeight) / 2
            let x0 = Double(box.minX + pad)
            let x1 = x0 + Double(sampleLength)
            if entry.style != .none {
                let width = theme.pixels(entry.lineWidth)
                scene.polyline(
                    [PixelPoint(x: x0, y: centerY), PixelPoint(x: x1, y: centerY)],
                    color: entry.color, width: width, dash: entry.style.dashPattern(width: width),
                    clip: box)
            }
            if let marker = entry.marker {
                scene.marker(
                    marker, at: PixelPoint(x: (x0 + x1) / 2, y: centerY),
                    size: theme.pixels(entry.markerSize), color: entry.color, clip: box)
            }
            scene.text(
                entry.label, x: Int(x1) + pad, y: Int(centerY.rounded()), anchor: .left,
                style: style)
        }
    }

    /// Data points and points along each segment, in pixels.
    private func dataSamples(_ project: (Double, Double) -> PixelPoint) -> [PixelPoint] {
        var samples: [PixelPoint] = []
        for series in plot.series {
            let points = series.points.map { project($0, $1) }
            samples += points.filter { $0.x.isFinite }
            guard series.style != .none else { continue }
            for (a, b) in zip(points, points.dropFirst()) where a.x.isFinite && b.x.isFinite {
                for k in 1..<8 {
                    let t = Double(k) / 8
                    samples.append(PixelPoint(x: a.x + (b.x - a.x) * t, y: a.y + (b.y - a.y) * t))
                }
            }
        }
        return samples
    }

    private func covered(_ samples: [PixelPoint], by box: PixelRect) -> Int {
        samples.filter { box.contains(x: Int($0.x.rounded(.down)), y: Int($0.y.rounded(.down))) }
            .count
    }
}
