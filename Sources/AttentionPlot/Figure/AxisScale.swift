/// How data values map to positions along a line-plot axis.
public enum AxisScale: Sendable, Hashable {
    /// Positions proportional to values.
    case linear
    /// Positions proportional to `log10` of values, with ticks at powers of ten. Values that
    /// are zero or negative are not drawn.
    case log10
}
