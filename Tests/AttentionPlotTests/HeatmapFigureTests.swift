import Foundation
import Testing

@testable import AttentionPlot

@Suite("Heatmap figures")
struct HeatmapFigureTests {
    /// A lower-triangular 0/1 matrix: 1 on and below the diagonal.
    static func lowerTriangular(_ n: Int) -> [Float] {
        (0..<n * n).map { $0 % n <= $0 / n ? 1 : 0 }
    }

    @Test func figureSizeIsInchesTimesDPI() {
        let figure = Figure(rows: 2, columns: 2, widthInches: 12, heightInches: 10, dpi: 150)
        #expect(figure.pixelWidth == 1800 && figure.pixelHeight == 1500)
        let image = figure.render()
        #expect(image.width == 1800 && image.height == 1500)
        #expect(image[900, 750] == .white)  // empty panels leave the background
    }

    @Test(arguments: [(Colormap.blues, 8), (Colormap.viridis, 13), (Colormap.rdBu, 5)])
    func lowerTriangularMatrixRoundTripsThroughPNG(colormap: Colormap, n: Int) throws {
        var heatmap = Heatmap(
            rows: n, columns: n, values: Self.lowerTriangular(n), title: "causal mask",
            colormap: colormap)
        heatmap.showsColorbar = false
        heatmap.xLabel = "key"
        heatmap.yLabel = "query"
        let figure = Figure(.heatmap(heatmap), widthInches: 5, heightInches: 4, dpi: 100)
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/mask.png"
        try figure.write(to: path)
        let image = try Bitmap(contentsOfPNGFile: path)
        #expect(image.width == 500 && image.height == 400)

        let high = colormap.color(at: 1)
        let low = colormap.color(at: 0)
        // The high colour fills exactly the lower triangle, whose bounding box is the matrix.
        let matrix = try #require(image.boundingBox { $0 == high })
        #expect(abs(matrix.width - matrix.height) <= 1)  // square cells
        #expect(matrix.width >= n * 10)
        for row in 0..<n {
            for column in 0..<n {
                let x = matrix.minX + (2 * column + 1) * matrix.width / (2 * n)
                let y = matrix.minY + (2 * row + 1) * matrix.height / (2 * n)
                let expected = column <= row ? high : low
                #expect(image[x, y] == expected, "cell (\(row), \(column))")
            }
        }
        // Outside the matrix there is no cell colour: the frame surrounds it.
        #expect(image[matrix.minX - 1, matrix.midY] == .black)
        #expect(image[matrix.maxX, matrix.maxY - 1] == .black)
    }

    @Test func colorbarShowsTheMapBesideTheMatrix() throws {
        var heatmap = Heatmap(
            rows: 4, columns: 4, values: Self.lowerTriangular(4), colormap: .blues)
        heatmap.showsColorbar = true
        let image = Figure(.heatmap(heatmap), widthInches: 6, heightInches: 4, dpi: 100).render()
        let high = Colormap.blues.color(at: 1)
        // Columns containing the high colour: the matrix's and the colorbar's top rows.
        let columns = (0..<image.width).filter { x in
            (0..<image.height).contains { image[x, $0] == high }
        }
        let matrixEnd = try #require(
            zip(columns, columns.dropFirst()).first { $1 - $0 > 1 })
        let barX = matrixEnd.1 + 2
        let barPixels = (0..<image.height).map { image[barX, $0] }
        let top = try #require(barPixels.firstIndex(of: high))
        // Going down the bar the colours get lighter, ending at the low colour.
        let lowIndex = try #require(barPixels.lastIndex(of: Colormap.blues.color(at: 0)))
        #expect(lowIndex > top + 50)
    }

    @Test func symmetricRangeCentresZeroOnWhite() throws {
        var values = [Float](repeating: 0, count: 9)
        values[0] = -4
        values[8] = 1
        let heatmap = Heatmap(
            rows: 3, columns: 3, values: values, colormap: .rdBu, colorRange: .symmetric)
        #expect(heatmap.resolvedColorRange == -4...4)
        let centre = heatmap.cellColor(row: 1, column: 1)
        #expect([centre.r, centre.g, centre.b].allSatisfy { Double($0) >= 0.9 * 255 })
        #expect(heatmap.cellColor(row: 0, column: 0) == Colormap.rdBu.color(at: 0))
    }

    @Test func invalidValuesUseInvalidColor() {
        var heatmap = Heatmap(matrix: [[1, .nan], [0, 2]])
        heatmap.invalidColor = RGBA(255, 0, 255)
        #expect(heatmap.cellColor(row: 0, column: 1) == RGBA(255, 0, 255))
        #expect(heatmap.resolvedColorRange == 0...2)
    }

    @Test func tinyCellsAreSampledNotSkipped() {
        // 300×300 cells squeezed into ~150 pixels: every pixel still gets a cell colour.
        let n = 300
        var heatmap = Heatmap(
            rows: n, columns: n, values: [Float](repeating: 1, count: n * n), colormap: .blues,
            colorRange: .fixed(min: 0, max: 1))
        heatmap.showsColorbar = false
        heatmap.xTicks = .hidden
        heatmap.yTicks = .hidden
        let image = Figure(.heatmap(heatmap), widthInches: 2, heightInches: 2, dpi: 100).render()
        let high = Colormap.blues.color(at: 1)
        var count = 0
        for y in 0..<image.height {
            for x in 0..<image.width where image[x, y] == high { count += 1 }
        }
        #expect(count > 150 * 150)
    }
}
