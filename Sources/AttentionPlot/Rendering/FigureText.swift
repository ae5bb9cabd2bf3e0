/// Small layout helpers shared by the panel renderers.
enum FigureText {
    /// The centre coordinate closest to `center` at which an extent of `width` stays inside
    /// `cell` (horizontally, or vertically when `vertical` is set); `center` itself if the
    /// extent is wider than the cell.
    static func clampedCenter(_ center: Int, width: Int, within cell: PixelRect, vertical: Bool = false)
        -> Int
    {
        let low = vertical ? cell.minY : cell.minX
        let high = vertical ? cell.maxY : cell.maxX
        guard width <= high - low else { return center }
        let half = width / 2
        return min(max(center, low + half), high - (width - half))
    }

    /// 1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, … up to the first value ≥ `limit`.
    static func niceIntegerSteps(upTo limit: Int) -> [Int] {
        var steps: [Int] = []
        var scale = 1
        while true {
            var multiples = [scale, 2 * scale, 5 * scale]
            if scale >= 10 { multiples.insert(scale * 5 / 2, at: 2) }
            for step in multiples {
                steps.append(step)
                if step >= limit { return steps }
            }
            scale *= 10
        }
    }
}
