/// Fits a panel's plot area inside its cell so that every decoration stays inside.
enum PanelLayout {
    /// How much decoration a panel draws. Crowded panels step down through the levels until
    /// their decorations fit around a reasonably sized plot area.
    struct Detail: Sendable, Hashable {
        /// Longest tick label, in characters; longer ones are shortened with `...`.
        var maxTickLabelLength: Int?
        var showsTickLabels: Bool
        var showsAxisLabels: Bool
        var showsTitle: Bool
        var showsLegend: Bool

        /// From everything to bare ticks.
        static let levels: [Detail] = [
            Detail(
                maxTickLabelLength: nil, showsTickLabels: true, showsAxisLabels: true,
                showsTitle: true, showsLegend: true),
            Detail(
                maxTickLabelLength: 10, showsTickLabels: true, showsAxisLabels: true,
                showsTitle: true, showsLegend: true),
            Detail(
                maxTickLabelLength: 5, showsTickLabels: true, showsAxisLabels: false,
                showsTitle: true, showsLegend: false),
            Detail(
                maxTickLabelLength: 5, showsTickLabels: false, showsAxisLabels: false,
                showsTitle: false, showsLegend: false),
        ]

        /// `label` shortened to ``maxTickLabelLength``, or `nil` when tick labels are off.
        func tickLabel(_ label: String?) -> String? {
            guard showsTickLabels, let label else { return nil }
            guard let limit = maxTickLabelLength else { return label }
            return FigureText.truncated(label, maxCharacters: limit)
        }
    }

    /// Smallest plot area, in pixels per side, the layout will shrink to.
    static let minimumSide = 8

    /// The scene at the richest detail level whose decorations fit in `cell` around a plot
    /// area at least a quarter of the cell in each direction; failing that, the sparsest.
    static func fit(in cell: PixelRect, build: (PixelRect, Detail) -> Scene) -> Scene {
        var last: Scene?
        for detail in Detail.levels {
            let (scene, area) = shrink(in: cell) { build($0, detail) }
            if cell.contains(scene.bounds) && area.width * 4 >= cell.width
                && area.height * 4 >= cell.height
            {
                return scene
            }
            last = scene
        }
        return last!
    }

    /// Repeatedly builds the scene and shrinks the plot area by however far the scene spills
    /// over each edge of `cell`, until it fits or the area reaches its minimum size.
    private static func shrink(in cell: PixelRect, build: (PixelRect) -> Scene)
        -> (Scene, PixelRect)
    {
        var area = cell
        var scene = build(area)
        for _ in 0..<24 {
            let b = scene.bounds
            let left = max(0, cell.minX - b.minX)
            let top = max(0, cell.minY - b.minY)
            let right = max(0, b.maxX - cell.maxX)
            let bottom = max(0, b.maxY - cell.maxY)
            if left == 0 && top == 0 && right == 0 && bottom == 0 { break }
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
            if next == area { break }
            area = next
            scene = build(area)
        }
        return (scene, area)
    }
}
