/// Renders a whole ``Figure``: background, overall title and the grid of panels.
struct FigureRenderer {
    let figure: Figure
    let panels: [Panel?]

    /// A laid-out panel: the grid cell it may use and its drawing operations.
    struct PlacedPanel {
        var cell: PixelRect
        var scene: Scene
    }

    private var theme: Theme { Theme(dpi: figure.dpi) }

    func render() -> Bitmap {
        var bitmap = Bitmap(
            width: figure.pixelWidth, height: figure.pixelHeight, fill: figure.background)
        titleScene().render(into: &bitmap)
        for placed in placedPanels() { placed.scene.render(into: &bitmap) }
        return bitmap
    }

    /// The overall title, centred at the top (empty without a title).
    func titleScene() -> Scene {
        var scene = Scene()
        guard let title = figure.title, !title.isEmpty else { return scene }
        let style = theme.figureTitleText
        let fitted = FigureText.truncated(
            title, style: style, toLength: figure.pixelWidth - 2 * theme.cellPadding)
        scene.text(
            fitted, x: figure.pixelWidth / 2, y: theme.cellPadding, anchor: .top, style: style)
        return scene
    }

    /// Every non-empty panel, laid out in its grid cell below the title.
    func placedPanels() -> [PlacedPanel] {
        let theme = self.theme
        let padding = theme.cellPadding
        let titleBounds = titleScene().bounds
        let top = titleBounds.isEmpty ? 0 : titleBounds.maxY
        let grid = PixelRect(
            x: 0, y: top, width: figure.pixelWidth, height: figure.pixelHeight - top)
        var result: [PlacedPanel] = []
        for row in 0..<figure.rows {
            for column in 0..<figure.columns {
                guard let panel = panels[row * figure.columns + column] else { continue }
                let cell = PixelRect(
                    minX: grid.minX + column * grid.width / figure.columns,
                    minY: grid.minY + row * grid.height / figure.rows,
                    maxX: grid.minX + (column + 1) * grid.width / figure.columns,
                    maxY: grid.minY + (row + 1) * grid.height / figure.rows
                ).insetBy(dx: padding, dy: padding)
                guard cell.width > 0, cell.height > 0 else { continue }
                let scene: Scene
                switch panel {
                case .heatmap(let heatmap):
                    scene = HeatmapRenderer(heatmap: heatmap, theme: theme).scene(in: cell)
                case .linePlot(let plot):
                    scene = LinePlotRenderer(plot: plot, theme: theme).scene(in: cell)
                }
                result.append(PlacedPanel(cell: cell, scene: scene))
            }
        }
        return result
    }
}
