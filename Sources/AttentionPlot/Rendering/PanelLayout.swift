/// Fits a panel's plot area inside its cell so that every decoration stays inside.
enum PanelLayout {
    /// Smallest plot area, in pixels per side, the layout will shrink to.
    static let minimumSide = 8

    /// Repeatedly builds the panel's scene and shrinks the plot area by however far the scene
    /// spills over each edge of `cell`, until it fits (or the area reaches its minimum size).
    static func fit(in cell: PixelRect, build: (PixelRect) -> Scene) -> Scene {
        var area = cell
        var scene = build(area)
        for _ in 0..<24 {
            let b = scene.bounds
            let left = max(0, cell.minX - b.minX)
            let top = max(0, cell.minY - b.minY)
            let right = max(0, b.maxX - cell.maxX)
            let bottom = max(0, b.maxY - cell.maxY)
            if left == 0 && top == 0 && right == 0 && bottom == 0 { return scene }
            var next = PixelRect(
                minX: area.minX + left, minY: area.minY + top,
                maxX: area.maxX - right, maxY: area.maxY - bottom)
            if next.width < minimumSide {
                next.x = min(next.x, cell.maxX - minimumSide)
                next.width = minimumSide
            }
            if next.height < minimumSide {
                next.y = min(next.y, cell.maxY - minimumSide)
                next.height = minimumSide
            }
            if next == area { return scene }
            area = next
            scene = build(area)
        }
        return scene
    }
}
