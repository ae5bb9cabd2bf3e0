/// A picture made of a grid of panels under an optional overall title, rendered to a
/// ``Bitmap`` or written as PNG.
///
/// The pixel size is the size in inches times the resolution, as in matplotlib: 12 × 10
/// inches at 150 dpi is 1800 × 1500 pixels. Text, line widths and tick lengths are given in
/// points and scale with `dpi`. Each panel's plot area shrinks as needed so that titles,
/// labels and tick labels always fit inside its cell.
///
/// ```swift
/// var figure = Figure(rows: 1, columns: 2, widthInches: 12, heightInches: 5, dpi: 150,
///                     title: "Attention")
/// figure[0, 0] = .heatmap(weights)
/// figure[0, 1] = .linePlot(timings)
/// try figure.write(to: "attention.png")
/// ```
public struct Figure: Sendable, Hashable {
    /// Number of panel rows.
    public let rows: Int
    /// Number of panel columns.
    public let columns: Int
    /// Width in inches.
    public var widthInches: Double
    /// Height in inches.
    public var heightInches: Double
    /// Resolution in pixels per inch.
    public var dpi: Double
    /// Overall title, centred above the panels.
    public var title: String?
    /// Background colour (white by default); a translucent one is kept in the PNG's alpha.
    public var background: RGBA
    private var panels: [Panel?]

    /// Creates an empty figure. matplotlib's defaults are 6.4 × 4.8 inches at 100 dpi.
    ///
    /// - Precondition: `rows` and `columns` are positive; the sizes and `dpi` are positive
    ///   and finite.
    public init(
        rows: Int = 1, columns: Int = 1, widthInches: Double = 6.4, heightInches: Double = 4.8,
        dpi: Double = 100, title: String? = nil
    ) {
        precondition(rows > 0 && columns > 0, "a figure needs at least one cell")
        precondition(
            widthInches > 0 && heightInches > 0 && dpi > 0
                && (widthInches * dpi).isFinite && (heightInches * dpi).isFinite,
            "figure size and dpi must be positive")
        self.rows = rows
        self.columns = columns
        self.widthInches = widthInches
        self.heightInches = heightInches
        self.dpi = dpi
        self.title = title
        self.background = .white
        self.panels = Array(repeating: nil, count: rows * columns)
    }

    /// Creates a figure showing a single panel.
    public init(
        _ panel: Panel, widthInches: Double = 6.4, heightInches: Double = 4.8,
        dpi: Double = 100, title: String? = nil
    ) {
        self.init(
            rows: 1, columns: 1, widthInches: widthInches, heightInches: heightInches, dpi: dpi,
            title: title)
        self[0, 0] = panel
    }

    /// The panel in grid cell `row`, `column` (`nil` leaves the cell blank).
    ///
    /// - Precondition: the cell exists.
    public subscript(row: Int, column: Int) -> Panel? {
        get {
            precondition(row >= 0 && row < rows && column >= 0 && column < columns)
            return panels[row * columns + column]
        }
        set {
            precondition(row >= 0 && row < rows && column >= 0 && column < columns)
            panels[row * columns + column] = newValue
        }
    }

    /// Width of the rendered image in pixels (at least 1).
    public var pixelWidth: Int { max(1, Int((widthInches * dpi).rounded())) }

    /// Height of the rendered image in pixels (at least 1).
    public var pixelHeight: Int { max(1, Int((heightInches * dpi).rounded())) }

    /// Draws the figure.
    public func render() -> Bitmap {
        FigureRenderer(figure: self, panels: panels).render()
    }

    /// The rendered figure as PNG, with its resolution recorded: RGB for an opaque
    /// ``background``, RGBA otherwise.
    public func pngData() throws(PNGError) -> [UInt8] {
        let format: PNGColorFormat = background.a == 255 ? .rgb : .rgba
        return try PNGEncoder(format: format, pixelsPerInch: dpi).encode(render())
    }

    /// Renders the figure and writes it as a PNG file, atomically: the data goes to a
    /// temporary file in the same directory, which is then renamed over `path`, so an error
    /// never leaves a partial file.
    ///
    /// - Throws: ``FileIOError`` or ``PNGError``.
    public func write(to path: String) throws {
        try AtomicFile.write(pngData(), to: path)
    }
}
