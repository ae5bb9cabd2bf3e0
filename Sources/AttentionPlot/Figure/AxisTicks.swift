/// Tick positions along a numeric axis (line plots and colorbars).
public enum AxisTicks: Sendable, Hashable {
    /// "Nice" values (1, 2, 2.5 or 5 times a power of ten; decades on log axes), as many as
    /// fit without overlapping labels.
    case automatic
    /// No ticks or labels.
    case hidden
    /// Ticks at these data values, labelled with their formatted values. Values outside the
    /// axis range are skipped.
    case values([Double])
    /// Ticks at `values` with the matching `labels` (extra values or labels are ignored).
    case labeled(values: [Double], labels: [String])
}
