import Foundation

/// A tick at a pixel position along an axis.
struct AxisTick {
    /// Pixel coordinate along the axis (x for horizontal axes, y for vertical ones).
    var position: Double
    var label: String?
    var isMajor: Bool = true
}

/// Draws ticks and tick labels along the edges of a plot area, and checks label overlap.
struct AxisPainter {
    let theme: Theme

    /// Ticks and labels below `plot`, whose frame is `theme.frameWidth` thick outside it.
    /// Labels are rotated counter-clockwise by `rotation` degrees; rotated labels end at
    /// their tick. Returns the lowest row used (exclusive).
    @discardableResult
    func bottom(_ ticks: [AxisTick], of plot: PixelRect, rotation: Double, into scene: inout Scene)
        -> Int
    {
        let top = plot.maxY + theme.frameWidth
        var lowest = top
        var style = theme.tickText
        style.rotation = rotation
        let sine = sin(rotation * .pi / 180)
        let shift = Int((Double(style.lineHeight) * abs(sine) / 2).rounded())
        for tick in ticks {
            let length = tick.isMajor ? theme.tickLength : theme.minorTickLength
            let x = Int(tick.position.rounded(.down))
            scene.fill(
                tickRect(x: x, y: top, width: theme.frameWidth, length: length), theme.frameColor)
            lowest = max(lowest, top + length)
            guard let label = tick.label, !label.isEmpty else { continue }
            let y = top + theme.tickLength + theme.tickPad
            let rect: PixelRect
            if abs(sine) < 1e-9 {
                rect = scene.text(label, x: x, y: y, anchor: .top, style: style)
            } else if sine > 0 {
                rect = scene.text(label, x: x + shift, y: y, anchor: .topRight, style: style)
            } else {
                rect = scene.text(label, x: x - shift, y: y, anchor: .topLeft, style: style)
            }
            lowest = max(lowest, rect.maxY)
        }
        return lowest
    }

    /// Ticks and labels left of `plot`. Returns the leftmost column used.
    @discardableResult
    func left(_ ticks: [AxisTick], of plot: PixelRect, into scene: inout Scene) -> Int {
        let edge = plot.minX - theme.frameWidth
        var leftmost = edge
        for tick in ticks {
            let length = tick.isMajor ? theme.tickLength : theme.minorTickLength
            let y = Int(tick.position.rounded(.down))
            scene.fill(
                PixelRect(
                    x: edge - length, y: y - theme.frameWidth / 2, width: length,
                    height: theme.frameWidth), theme.frameColor)
            leftmost = min(leftmost, edge - length)
            guard let label = tick.label, !label.isEmpty else { continue }
            let rect = scene.text(
                label, x: edge - theme.tickLength - theme.tickPad, y: y, anchor: .right,
                style: theme.tickText)
            leftmost = min(leftmost, rect.minX)
        }
        return leftmost
    }

    /// Ticks and labels right of `plot`. Returns the rightmost column used (exclusive).
    @discardableResult
    func right(_ ticks: [AxisTick], of plot: PixelRect, into scene: inout Scene) -> Int {
        let edge = plot.maxX + theme.frameWidth
        var rightmost = edge
        for tick in ticks {
            let y = Int(tick.position.rounded(.down))
            scene.fill(
                PixelRect(
                    x: edge, y: y - theme.frameWidth / 2, width: theme.tickLength,
                    height: theme.frameWidth), theme.frameColor)
            rightmost = max(rightmost, edge + theme.tickLength)
            guard let label = tick.label, !label.isEmpty else { continue }
            let rect = scene.text(
                label, x: edge + theme.tickLength + theme.tickPad, y: y, anchor: .left,
                style: theme.tickText)
            rightmost = max(rightmost, rect.maxX)
        }
        return rightmost
    }

    /// Whether the labels of `ticks` along a horizontal axis keep at least `theme.labelGap`
    /// apart, for labels rotated by `rotation` degrees.
    func horizontalLabelsFit(_ ticks: [AxisTick], rotation: Double) -> Bool {
        let labelled = sortedLabelled(ticks)
        return zip(labelled, labelled.dropFirst()).allSatisfy {
            horizontalPairFits($0, $1, rotation: rotation)
        }
    }

    /// Whether the (horizontal) labels of `ticks` along a vertical axis keep apart.
    func verticalLabelsFit(_ ticks: [AxisTick]) -> Bool {
        let labelled = sortedLabelled(ticks)
        return zip(labelled, labelled.dropFirst()).allSatisfy(verticalPairFits)
    }

    /// `ticks` with labels removed, first to last, wherever a label would crowd the previous
    /// one kept. The ticks themselves stay.
    func pruned(_ ticks: [AxisTick], vertical: Bool, rotation: Double = 0) -> [AxisTick] {
        var result = ticks.sorted { $0.position < $1.position }
        var previous: AxisTick?
        for index in result.indices where !(result[index].label ?? "").isEmpty {
            if let kept = previous {
                let fits =
                    vertical
                    ? verticalPairFits(kept, result[index])
                    : horizontalPairFits(kept, result[index], rotation: rotation)
                if !fits {
                    result[index].label = nil
                    continue
                }
            }
            previous = result[index]
        }
        return result
    }

    private func sortedLabelled(_ ticks: [AxisTick]) -> [AxisTick] {
        ticks.filter { !($0.label ?? "").isEmpty }.sorted { $0.position < $1.position }
    }

    private func horizontalPairFits(_ a: AxisTick, _ b: AxisTick, rotation: Double) -> Bool {
        let gap = Double(theme.labelGap)
        let sine = abs(sin(rotation * .pi / 180))
        let distance = abs(b.position - a.position)
        if sine < 1e-9 {
            let wa = Double(theme.tickText.unrotatedSize(of: a.label ?? "").width)
            let wb = Double(theme.tickText.unrotatedSize(of: b.label ?? "").width)
            return distance - (wa + wb) / 2 >= gap
        }
        // Parallel rotated labels: their perpendicular spacing must exceed the glyphs' ink
        // height (about 4/5 of the line height: no leading between parallel lines), as
        // matplotlib's rotated token labels sit.
        return distance * sine >= 0.8 * Double(theme.tickText.lineHeight)
    }

    private func verticalPairFits(_ a: AxisTick, _ b: AxisTick) -> Bool {
        abs(b.position - a.position) >= Double(theme.tickText.lineHeight + theme.labelGap)
    }

    private func tickRect(x: Int, y: Int, width: Int, length: Int) -> PixelRect {
        PixelRect(x: x - width / 2, y: y, width: width, height: length)
    }
}
