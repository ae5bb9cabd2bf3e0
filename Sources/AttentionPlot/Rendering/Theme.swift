/// Sizes and styles of figure elements for a given resolution, following matplotlib's
/// defaults (10 pt tick and axis labels, 12 pt titles, 0.8 pt spines, 3.5 pt ticks).
struct Theme: Sendable {
    let dpi: Double

    let tickText: TextStyle
    let labelText: TextStyle
    let titleText: TextStyle
    let figureTitleText: TextStyle

    let frameColor = RGBA.black
    let gridColor = RGBA.gray(225)
    let minorGridColor = RGBA.gray(242)

    init(dpi: Double) {
        self.dpi = dpi
        let points = dpi / 72
        tickText = .matching(pixelHeight: 10 * points)
        labelText = .matching(pixelHeight: 10.5 * points)
        titleText = .matching(pixelHeight: 12 * points)
        figureTitleText = .matching(pixelHeight: 14 * points, bold: true)
    }

    /// `points` converted to pixels.
    func pixels(_ points: Double) -> Double { points * dpi / 72 }

    /// `points` converted to whole pixels, at least 1.
    func wholePixels(_ points: Double) -> Int { max(1, Int(pixels(points).rounded())) }

    /// Width of the plot frame (spines).
    var frameWidth: Int { wholePixels(0.8) }
    /// Length of major ticks, drawn outwards.
    var tickLength: Int { wholePixels(3.5) }
    /// Length of minor ticks.
    var minorTickLength: Int { wholePixels(2) }
    /// Gap between a tick and its label.
    var tickPad: Int { wholePixels(3.5) }
    /// Gap between tick labels and an axis label.
    var labelPad: Int { wholePixels(4) }
    /// Gap between the plot (or its tick labels) and its title.
    var titlePad: Int { wholePixels(6) }
    /// Minimum free space between neighbouring labels.
    var labelGap: Int { wholePixels(3) }
    /// Empty border around every panel cell and around the figure title.
    var cellPadding: Int { wholePixels(6) }
}
