/// Places a panel's title and axis labels around its plot area without overlaps: titles and
/// x labels are shortened to the cell's width, vertical labels to the height between the top
/// of the plot and the bottom of the x tick labels.
struct PanelChrome {
    let theme: Theme
    let detail: PanelLayout.Detail
    let cell: PixelRect

    /// A title centred above `plot` (clamped into the cell).
    func title(_ text: String?, above plot: PixelRect, into scene: inout Scene) {
        guard detail.showsTitle, let text, !text.isEmpty else { return }
        let style = theme.titleText
        let fitted = FigureText.truncated(text, style: style, toLength: cell.width)
        let x = FigureText.clampedCenter(
            plot.midX, length: style.size(of: fitted).width, low: cell.minX, high: cell.maxX)
        scene.text(
            fitted, x: x, y: plot.minY - theme.frameWidth - theme.titlePad, anchor: .bottom,
            style: style)
    }

    /// A label centred below `plot`, starting at row `top`.
    func xLabel(_ text: String?, below plot: PixelRect, top: Int, into scene: inout Scene) {
        guard detail.showsAxisLabels, let text, !text.isEmpty else { return }
        let style = theme.labelText
        let fitted = FigureText.truncated(text, style: style, toLength: cell.width)
        let x = FigureText.clampedCenter(
            plot.midX, length: style.size(of: fitted).width, low: cell.minX, high: cell.maxX)
        scene.text(fitted, x: x, y: top + theme.labelPad, anchor: .top, style: style)
    }

    /// A label reading bottom to top beside `plot`: ending at column `edge` when `anchor` is
    /// `.right` (left of the plot), starting there when `.left`. It stays between the top of
    /// the plot frame and row `bottom`.
    func verticalLabel(
        _ text: String?, beside plot: PixelRect, edge: Int, anchor: TextAnchor, bottom: Int,
        into scene: inout Scene
    ) {
        guard detail.showsAxisLabels, let text, !text.isEmpty else { return }
        var style = theme.labelText
        style.rotation = 90
        let low = plot.minY - theme.frameWidth
        let high = max(bottom, plot.maxY + theme.frameWidth)
        let fitted = FigureText.truncated(text, style: theme.labelText, toLength: high - low)
        guard !fitted.isEmpty else { return }
        let y = FigureText.clampedCenter(
            plot.midY, length: style.size(of: fitted).height, low: low, high: high)
        scene.text(fitted, x: edge, y: y, anchor: anchor, style: style)
    }
}
