/// Tick labels along a heatmap axis, whose positions are the matrix's rows or columns.
public enum CategoryTicks: Sendable, Hashable {
    /// Evenly spaced indices (0, 1, 2, … or 0, 5, 10, …), as many as fit without overlap.
    case automatic
    /// No ticks or labels.
    case hidden
    /// One label per row or column, such as tokens. If the labels would overlap, only every
    /// k-th one (and its tick) is shown, with k as small as possible. Missing labels (fewer
    /// strings than cells) are left blank; extra strings are ignored.
    case labels([String])
}
