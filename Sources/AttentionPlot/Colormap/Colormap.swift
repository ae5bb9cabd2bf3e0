/// A mapping from the unit interval to colours, stored as a lookup table.
///
/// Lookups follow matplotlib: a fraction `t` in `0...1` selects entry `⌊t · n⌋` (the last
/// entry for `t = 1`) of an `n`-entry table, so the built-in maps reproduce matplotlib's
/// colours.
///
/// ```swift
/// let cmap = Colormap.rdBu
/// cmap.color(at: 0.5)                         // near-white centre
/// cmap.color(for: -0.3, in: -1...1)           // a light red
/// Colormap.named("Blues_r")                   // reversed Blues
/// ```
public struct Colormap: Sendable, Hashable {
    /// The map's name, such as `"viridis"` or `"RdBu_r"`.
    public let name: String
    /// The table, from the colour for 0 to the colour for 1 (at least one entry).
    public let lookupTable: [RGBA]

    /// Wraps an explicit table.
    ///
    /// - Precondition: `lookupTable` is not empty.
    public init(name: String, lookupTable: [RGBA]) {
        precondition(!lookupTable.isEmpty, "a colormap needs at least one colour")
        self.name = name
        self.lookupTable = lookupTable
    }

    /// Builds a `resolution`-entry table by linear interpolation (in sRGB) between evenly
    /// spaced anchor colours, as matplotlib's `LinearSegmentedColormap.from_list` does.
    ///
    /// - Precondition: `anchors` is not empty and `resolution >= 2`.
    public init(name: String, anchors: [RGBA], resolution: Int = 256) {
        precondition(!anchors.isEmpty, "a colormap needs at least one anchor colour")
        precondition(resolution >= 2, "a colormap needs at least two entries")
        guard anchors.count > 1 else {
            self.init(
                name: name, lookupTable: [RGBA](repeating: anchors[0], count: resolution))
            return
        }
        let segments = Double(anchors.count - 1)
        let table = (0..<resolution).map { i -> RGBA in
            let position = Double(i) / Double(resolution - 1) * segments
            let lower = min(Int(position), anchors.count - 2)
            return anchors[lower].interpolated(
                to: anchors[lower + 1], fraction: position - Double(lower))
        }
        self.init(name: name, lookupTable: table)
    }

    /// The colour for `fraction`, clamped to `0...1`; NaN maps to the low end.
    public func color(at fraction: Double) -> RGBA {
        let n = lookupTable.count
        guard fraction > 0 else { return lookupTable[0] }
        let index = fraction >= 1 ? n - 1 : min(Int(fraction * Double(n)), n - 1)
        return lookupTable[index]
    }

    /// The colour for `value` after linear normalisation of `range` onto `0...1`.
    ///
    /// A degenerate range (`lowerBound == upperBound`) maps every value to the middle colour.
    public func color(for value: Double, in range: ClosedRange<Double>) -> RGBA {
        let span = range.upperBound - range.lowerBound
        guard span > 0 else { return color(at: 0.5) }
        return color(at: (value - range.lowerBound) / span)
    }

    /// The same map running the other way, named with a `_r` suffix (or without it, if the
    /// name already ends in `_r`).
    public func reversed() -> Colormap {
        let newName = name.hasSuffix("_r") ? String(name.dropLast(2)) : name + "_r"
        return Colormap(name: newName, lookupTable: lookupTable.reversed())
    }

    /// The built-in maps: ``blues``, ``rdBu`` and ``viridis``.
    public static let builtIn: [Colormap] = [.blues, .rdBu, .viridis]

    /// Looks up a built-in map by its matplotlib name, ignoring case; a `_r` suffix selects
    /// the reversed map. Returns `nil` for unknown names.
    public static func named(_ name: String) -> Colormap? {
        let lowered = name.lowercased()
        let reverse = lowered.hasSuffix("_r")
        let base = reverse ? String(lowered.dropLast(2)) : lowered
        guard let map = builtIn.first(where: { $0.name.lowercased() == base }) else { return nil }
        return reverse ? map.reversed() : map
    }
}
