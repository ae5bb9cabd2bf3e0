/// One named line of a ``LinePlot``: paired x and y values, drawn in order.
///
/// ```swift
/// let measured = LineSeries(name: "flash", x: lengths, y: seconds, marker: .circle)
/// let guide = LineSeries(name: "O(n²)", x: lengths, y: quadratic, color: .gray(128),
///                        style: .dashed)
/// ```
public struct LineSeries: Sendable, Hashable {
    /// Legend text; `nil` or empty keeps the series out of the legend.
    public var name: String?
    /// Horizontal values.
    public var x: [Double]
    /// Vertical values (pairs beyond the shorter of `x` and `y` are ignored). A NaN or
    /// infinite value, or a non-positive one on a log axis, breaks the line.
    public var y: [Double]
    /// Line and marker colour; `nil` takes the next colour of ``RGBA/tab10``.
    public var color: RGBA?
    /// Stroke pattern.
    public var style: LineStyle
    /// Stroke width in points (1/72 inch).
    public var lineWidth: Double
    /// Symbol drawn at every data point, if any.
    public var marker: Marker?
    /// Marker diameter in points.
    public var markerSize: Double

    /// Creates a series; only the data is required.
    public init(
        name: String? = nil, x: [Double], y: [Double], color: RGBA? = nil,
        style: LineStyle = .solid, lineWidth: Double = 1.5, marker: Marker? = nil,
        markerSize: Double = 6
    ) {
        self.name = name
        self.x = x
        self.y = y
        self.color = color
        self.style = style
        self.lineWidth = lineWidth
        self.marker = marker
        self.markerSize = markerSize
    }

    /// Creates a series plotted against its indices `0, 1, 2, …`.
    public init(
        name: String? = nil, y: [Double], color: RGBA? = nil, style: LineStyle = .solid,
        marker: Marker? = nil
    ) {
        self.init(
            name: name, x: y.indices.map(Double.init), y: y, color: color, style: style,
            marker: marker)
    }

    /// The `(x, y)` pairs, truncated to the shorter array.
    var points: Zip2Sequence<[Double], [Double]> { zip(x, y) }
}
