/// A panel of line series on linear or logarithmic axes, with legend and guide lines.
///
/// ```swift
/// var plot = LinePlot(title: "Runtime", xLabel: "sequence length", yLabel: "seconds")
/// plot.xScale = .log10
/// plot.yScale = .log10
/// plot.series.append(LineSeries(name: "naive", x: n, y: naive, marker: .circle))
/// plot.series.append(LineSeries(name: "flash", x: n, y: flash, marker: .square))
/// plot.guides.append(GuideLine(.through(x0: 128, y0: 1e-4, x1: 4096, y1: 0.1024),
///                              label: "O(n²)"))
/// ```
public struct LinePlot: Sendable, Hashable {
    /// The lines, drawn in order (later ones on top).
    public var series: [LineSeries]
    /// Reference lines drawn beneath the series.
    public var guides: [GuideLine]
    /// Title above the plot.
    public var title: String?
    /// Label below the x axis.
    public var xLabel: String?
    /// Label left of the y axis, reading bottom to top.
    public var yLabel: String?
    /// Horizontal scale.
    public var xScale: AxisScale
    /// Vertical scale.
    public var yScale: AxisScale
    /// Explicit horizontal limits; `nil` fits the data with a 5% margin. Limits that are
    /// empty, not finite, or not positive on a log axis are ignored.
    public var xLimits: ClosedRange<Double>?
    /// Explicit vertical limits; `nil` fits the data with a 5% margin (see ``xLimits``).
    public var yLimits: ClosedRange<Double>?
    /// Horizontal ticks.
    public var xTicks: AxisTicks
    /// Vertical ticks.
    public var yTicks: AxisTicks
    /// Legend position (only named series and labelled guides appear).
    public var legend: LegendPlacement
    /// Whether light grid lines are drawn at the major ticks.
    public var showsGrid: Bool

    /// Creates an empty plot; add series with ``series``.
    public init(
        title: String? = nil, xLabel: String? = nil, yLabel: String? = nil,
        series: [LineSeries] = [], xScale: AxisScale = .linear, yScale: AxisScale = .linear
    ) {
        self.series = series
        self.guides = []
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.xScale = xScale
        self.yScale = yScale
        self.xLimits = nil
        self.yLimits = nil
        self.xTicks = .automatic
        self.yTicks = .automatic
        self.legend = .best
        self.showsGrid = true
    }

    /// The colour series `index` is drawn in: its own, or the ``RGBA/tab10`` colour for its
    /// position among the series without one.
    public func color(ofSeries index: Int) -> RGBA {
        if let color = series[index].color { return color }
        let automatic = series[..<index].filter { $0.color == nil }.count
        return RGBA.tab10[automatic % RGBA.tab10.count]
    }
}
