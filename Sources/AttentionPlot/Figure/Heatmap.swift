/// A matrix drawn as coloured cells (matplotlib's `imshow`), with optional title, axis
/// labels, tick labels and colorbar. Row 0 is at the top.
///
/// ```swift
/// var map = Heatmap(rows: 4, columns: 4, values: weights)   // row-major
/// map.title = "Head 0"
/// map.colormap = .blues
/// map.xTicks = .labels(["The", "cat", "sat", "."])
/// map.yTicks = .labels(["The", "cat", "sat", "."])
/// map.xTickRotation = 45
/// ```
public struct Heatmap: Sendable, Hashable {
    /// Number of matrix rows (drawn top to bottom).
    public let rows: Int
    /// Number of matrix columns (drawn left to right).
    public let columns: Int
    /// `rows * columns` values, row-major. NaN and infinite values are drawn in
    /// ``invalidColor``.
    public let values: [Float]

    /// Title above the matrix.
    public var title: String?
    /// Label below the x tick labels.
    public var xLabel: String?
    /// Label left of the y tick labels, reading bottom to top.
    public var yLabel: String?
    /// Colours for the values.
    public var colormap: Colormap
    /// Which values map to the colormap's ends.
    public var colorRange: ColorRange
    /// Labels for the columns.
    public var xTicks: CategoryTicks
    /// Labels for the rows.
    public var yTicks: CategoryTicks
    /// Counter-clockwise rotation of the x tick labels in degrees: 0, 45 (good for tokens)
    /// or 90. Rotated labels end at their tick.
    public var xTickRotation: Double
    /// Whether a colorbar with value ticks is drawn to the right.
    public var showsColorbar: Bool
    /// Label beside the colorbar, reading bottom to top.
    public var colorbarLabel: String?
    /// Whether cells are square (`true`, like `imshow`'s default) or stretched to fill the
    /// panel (`false`).
    public var squareCells: Bool
    /// Colour of NaN and infinite cells.
    public var invalidColor: RGBA

    /// Creates a heatmap of a row-major matrix.
    ///
    /// - Precondition: `rows` and `columns` are positive and
    ///   `values.count == rows * columns`.
    public init(
        rows: Int, columns: Int, values: [Float], title: String? = nil,
        colormap: Colormap = .viridis, colorRange: ColorRange = .automatic
    ) {
        precondition(rows > 0 && columns > 0, "a heatmap needs at least one cell")
        precondition(values.count == rows * columns, "expected rows * columns values")
        self.rows = rows
        self.columns = columns
        self.values = values
        self.title = title
        self.xLabel = nil
        self.yLabel = nil
        self.colormap = colormap
        self.colorRange = colorRange
        self.xTicks = .automatic
        self.yTicks = .automatic
        self.xTickRotation = 0
        self.showsColorbar = true
        self.colorbarLabel = nil
        self.squareCells = true
        self.invalidColor = .gray(224)
    }

    /// Creates a heatmap from nested rows.
    ///
    /// - Precondition: there is at least one row, and all rows have the same, non-zero
    ///   length.
    public init(
        matrix: [[Float]], title: String? = nil, colormap: Colormap = .viridis,
        colorRange: ColorRange = .automatic
    ) {
        let columns = matrix.first?.count ?? 0
        precondition(matrix.allSatisfy { $0.count == columns }, "rows must have equal length")
        self.init(
            rows: matrix.count, columns: columns, values: matrix.flatMap { $0 }, title: title,
            colormap: colormap, colorRange: colorRange)
    }

    /// The value at `row`, `column`.
    public subscript(row: Int, column: Int) -> Float {
        values[row * columns + column]
    }

    /// The values mapped to the colormap's ends (``colorRange`` applied to ``values``).
    public var resolvedColorRange: ClosedRange<Double> { colorRange.resolve(for: values) }

    /// The colour of a cell holding `value`, given the resolved range.
    func color(for value: Float, in range: ClosedRange<Double>) -> RGBA {
        guard value.isFinite else { return invalidColor }
        return colormap.color(for: Double(value), in: range)
    }

    /// The colour of the cell at `row`, `column`, as drawn.
    public func cellColor(row: Int, column: Int) -> RGBA {
        color(for: self[row, column], in: resolvedColorRange)
    }
}
