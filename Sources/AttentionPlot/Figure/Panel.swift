/// The content of one cell of a ``Figure``'s grid.
public enum Panel: Sendable, Hashable {
    /// A matrix of coloured cells.
    case heatmap(Heatmap)
    /// Line series on numeric axes.
    case linePlot(LinePlot)
}
