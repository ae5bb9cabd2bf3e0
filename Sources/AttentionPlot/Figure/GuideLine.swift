/// A reference line drawn across a ``LinePlot`` without affecting its automatic limits,
/// such as a threshold or a power-law slope.
public struct GuideLine: Sendable, Hashable {
    /// The geometry of a guide line, in data coordinates.
    public enum Kind: Sendable, Hashable {
        /// A horizontal line at this y value, across the whole plot.
        case horizontal(y: Double)
        /// A vertical line at this x value, across the whole plot.
        case vertical(x: Double)
        /// The infinite line through two data points, straight in display space (so on
        /// log-log axes it is a power law). Clipped to the plot.
        case through(x0: Double, y0: Double, x1: Double, y1: Double)
    }

    /// Where the line goes.
    public var kind: Kind
    /// Stroke colour.
    public var color: RGBA
    /// Stroke pattern.
    public var style: LineStyle
    /// Stroke width in points.
    public var lineWidth: Double
    /// Legend text, if the guide should appear in the legend.
    public var label: String?

    /// Creates a guide line; it is a thin grey dashed line unless told otherwise.
    public init(
        _ kind: Kind, color: RGBA = .gray(128), style: LineStyle = .dashed,
        lineWidth: Double = 1, label: String? = nil
    ) {
        self.kind = kind
        self.color = color
        self.style = style
        self.lineWidth = lineWidth
        self.label = label
    }

    /// A horizontal guide at `y`.
    public static func horizontal(
        at y: Double, color: RGBA = .gray(128), style: LineStyle = .dashed, label: String? = nil
    ) -> GuideLine {
        GuideLine(.horizontal(y: y), color: color, style: style, label: label)
    }

    /// A vertical guide at `x`.
    public static func vertical(
        at x: Double, color: RGBA = .gray(128), style: LineStyle = .dashed, label: String? = nil
    ) -> GuideLine {
        GuideLine(.vertical(x: x), color: color, style: style, label: label)
    }
}
