/// Where a line plot draws its legend.
public enum LegendPlacement: Sendable, Hashable {
    /// The inside corner that covers the fewest data points (matplotlib's `loc="best"`).
    case best
    /// Inside the top-left corner of the plot area.
    case upperLeft
    /// Inside the top-right corner.
    case upperRight
    /// Inside the bottom-left corner.
    case lowerLeft
    /// Inside the bottom-right corner.
    case lowerRight
    /// No legend.
    case hidden
}
