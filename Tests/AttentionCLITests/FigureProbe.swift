import AttentionPlot
import Foundation
import Testing

/// Reads rendered figures back for tests: writes a figure to a temporary directory, decodes
/// the PNG, and finds its panels by their black frames (AttentionPlot exposes no layout, so
/// the tests locate what was drawn instead of assuming pixel offsets).
struct FigureProbe {
    let bitmap: Bitmap

    /// Writes `figure` with ``Figure/write(to:)`` into a fresh temporary directory and decodes
    /// the file, so the test covers the PNG users get.
    init(writing figure: Figure, name: String) throws {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("attention-cli-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent(name).path
        try figure.write(to: path)
        bitmap = try PNGDecoder.decodeFile(atPath: path)
    }

    /// Every rectangle enclosed by a black frame at least `minimumSide` pixels long per side
    /// (heatmap matrices, colorbars, line-plot areas), in no particular order.
    ///
    /// A frame's top and bottom edges are the only long horizontal runs of black pixels
    /// (text and ticks make short runs, and no colormap colour is black). An edge's run
    /// spans the interior plus the frame on both sides, so the frame's thickness is the
    /// number of consecutive rows carrying that run, and the interior lies between the two
    /// edges, which are joined by black sides.
    func framedRectangles(minimumSide: Int = 40) -> [PixelRect] {
        struct Edge {
            var x0: Int, x1: Int, y0: Int, y1: Int
        }
        var edges: [Edge] = []
        for y in 0..<bitmap.height {
            var x = 0
            while x < bitmap.width {
                guard isBlack(x, y) else {
                    x += 1
                    continue
                }
                let start = x
                while x < bitmap.width && isBlack(x, y) { x += 1 }
                guard x - start >= minimumSide else { continue }
                if let i = edges.firstIndex(where: { $0.x0 == start && $0.x1 == x && $0.y1 == y }) {
                    edges[i].y1 = y + 1
                } else {
                    edges.append(Edge(x0: start, x1: x, y0: y, y1: y + 1))
                }
            }
        }
        var result: [PixelRect] = []
        var used = Set<Int>()
        for (i, top) in edges.enumerated() where !used.contains(i) {
            let below = edges.indices.filter {
                !used.contains($0) && edges[$0].x0 == top.x0 && edges[$0].x1 == top.x1
                    && edges[$0].y0 >= top.y1 + minimumSide
            }
            guard let j = below.min(by: { edges[$0].y0 < edges[$1].y0 }) else { continue }
            let bottom = edges[j]
            guard
                (top.y1..<bottom.y0).allSatisfy({ isBlack(top.x0, $0) && isBlack(top.x1 - 1, $0) })
            else { continue }
            used.formUnion([i, j])
            let thickness = top.y1 - top.y0
            result.append(
                PixelRect(
                    minX: top.x0 + thickness, minY: top.y1, maxX: top.x1 - thickness,
                    maxY: bottom.y0))
        }
        return result
    }

    /// The plot areas (heatmap matrices or line-plot areas) in reading order: framed
    /// rectangles wider than a fifth of their height (colorbars are narrower), grouped into
    /// figure rows by overlapping vertical extent, each row left to right.
    func panels() -> [PixelRect] {
        var rows: [[PixelRect]] = []
        for rect in framedRectangles().filter({ $0.width * 5 > $0.height }).sorted(by: {
            $0.y < $1.y
        }) {
            if let i = rows.firstIndex(where: { $0[0].minY < rect.maxY && rect.minY < $0[0].maxY })
            {
                rows[i].append(rect)
            } else {
                rows.append([rect])
            }
        }
        return rows.flatMap { $0.sorted { $0.x < $1.x } }
    }

    /// The pixel at the centre of cell (`row`, `column`) of a `rows × columns` matrix drawn
    /// in `matrix`.
    func cellCenter(_ matrix: PixelRect, row: Int, column: Int, rows: Int, columns: Int) -> RGBA {
        let x = matrix.x + Int((Double(column) + 0.5) * Double(matrix.width) / Double(columns))
        let y = matrix.y + Int((Double(row) + 0.5) * Double(matrix.height) / Double(rows))
        return bitmap[x, y]
    }

    /// Pixels within `margin` of the canvas edge that are not white: anything drawn there
    /// (a label, a colorbar) is likely cut off by the edge.
    func inkNearEdges(margin: Int = 3) -> [(x: Int, y: Int)] {
        var found: [(x: Int, y: Int)] = []
        for y in 0..<bitmap.height {
            for x in 0..<bitmap.width
            where x < margin || y < margin || x >= bitmap.width - margin
                || y >= bitmap.height - margin
            {
                if !nearWhite(bitmap[x, y], level: 250) { found.append((x, y)) }
            }
        }
        return found
    }

    /// How many pixels have exactly `color` (alpha ignored).
    func count(of color: RGBA) -> Int {
        var n = 0
        for y in 0..<bitmap.height {
            for x in 0..<bitmap.width {
                let p = bitmap[x, y]
                if p.r == color.r && p.g == color.g && p.b == color.b { n += 1 }
            }
        }
        return n
    }

    private func isBlack(_ x: Int, _ y: Int) -> Bool {
        let p = bitmap[x, y]
        return p.r < 40 && p.g < 40 && p.b < 40
    }
}

/// Whether every channel of two colours differs by at most `tolerance`.
func close(_ a: RGBA, _ b: RGBA, tolerance: Int = 2) -> Bool {
    abs(Int(a.r) - Int(b.r)) <= tolerance && abs(Int(a.g) - Int(b.g)) <= tolerance
        && abs(Int(a.b) - Int(b.b)) <= tolerance
}

/// Whether every channel is at least `level`.
func nearWhite(_ c: RGBA, level: UInt8 = 235) -> Bool {
    c.r >= level && c.g >= level && c.b >= level
}

extension Figure {
    /// The heatmap in cell (`row`, `column`), or `nil`.
    func heatmap(_ row: Int, _ column: Int) -> Heatmap? {
        if case .heatmap(let map) = self[row, column] { return map }
        return nil
    }
}
