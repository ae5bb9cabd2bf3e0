/// Small layout helpers shared by the panel renderers.
enum FigureText {
    /// The centre coordinate closest to `center` at which an extent of `length` stays inside
    /// `low..<high`; `center` itself if the extent is longer than the range.
    static func clampedCenter(_ center: Int, length: Int, low: Int, high: Int) -> Int {
        guard length <= high - low else { return center }
        let half = length / 2
        return min(max(center, low + half), high - (length - half))
    }

    /// `text` shortened with a trailing `...` so that it is at most `maxCharacters` long.
    static func truncated(_ text: String, maxCharacters: Int) -> String {
        guard text.count > maxCharacters else { return text }
        guard maxCharacters > 3 else { return String(text.prefix(maxCharacters)) }
        return text.prefix(maxCharacters - 3) + "..."
    }

    /// `text` shortened with a trailing `...` so that, laid out horizontally in `style`, it is
    /// at most `length` pixels long; empty if not even one character fits.
    static func truncated(_ text: String, style: TextStyle, toLength length: Int) -> String {
        let advance = style.font.cellWidth * style.effectiveScale
        guard advance > 0 else { return text }
        let lines = TextStyle.lines(of: text)
        let longest = lines.map(\.count).max() ?? 0
        let fitting = max(0, length / advance)
        guard longest > fitting else { return text }
        guard fitting >= 1 else { return "" }
        return lines.map { truncated(String($0), maxCharacters: fitting) }.joined(separator: "\n")
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
