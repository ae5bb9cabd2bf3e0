/// A recorded list of drawing operations with the bounding box of everything they touch.
///
/// Panels build a scene for a candidate plot area first; the layout uses the bounds to
/// shrink the area until nothing spills out of the panel's cell, and only the final scene is
/// rasterised. Because measuring and drawing share the same operations they cannot disagree.
struct Scene {
    enum Operation {
        case fill(PixelRect, RGBA)
        case text(String, rect: PixelRect, style: TextStyle)
        case polyline([PixelPoint], RGBA, width: Double, dash: [Double]?, clip: PixelRect)
        case marker(Marker, PixelPoint, size: Double, RGBA, clip: PixelRect)
        case cells(PixelRect, rows: Int, columns: Int, colors: [RGBA])
    }

    private(set) var operations: [Operation] = []
    /// Union of every operation's extent.
    private(set) var bounds = PixelRect(x: 0, y: 0, width: 0, height: 0)

    mutating func fill(_ rect: PixelRect, _ color: RGBA) {
        guard !rect.isEmpty else { return }
        operations.append(.fill(rect, color))
        bounds = bounds.union(rect)
    }

    /// A frame of `thickness` pixels drawn just outside `rect`.
    mutating func frame(around rect: PixelRect, thickness: Int, color: RGBA) {
        let outer = rect.insetBy(dx: -thickness, dy: -thickness)
        fill(PixelRect(x: outer.x, y: outer.y, width: outer.width, height: thickness), color)
        fill(
            PixelRect(x: outer.x, y: rect.maxY, width: outer.width, height: thickness), color)
        fill(PixelRect(x: outer.x, y: rect.y, width: thickness, height: rect.height), color)
        fill(PixelRect(x: rect.maxX, y: rect.y, width: thickness, height: rect.height), color)
    }

    /// Records text and returns the box it occupies.
    @discardableResult
    mutating func text(
        _ string: String, x: Int, y: Int, anchor: TextAnchor, style: TextStyle
    ) -> PixelRect {
        let rect = anchor.rect(for: style.size(of: string), x: x, y: y)
        guard !string.isEmpty else { return PixelRect(x: rect.x, y: rect.y, width: 0, height: 0) }
        operations.append(.text(string, rect: rect, style: style))
        bounds = bounds.union(rect)
        return rect
    }

    mutating func polyline(
        _ points: [PixelPoint], color: RGBA, width: Double, dash: [Double]?, clip: PixelRect
    ) {
        guard points.count > 0, !clip.isEmpty else { return }
        operations.append(.polyline(points, color, width: width, dash: dash, clip: clip))
        bounds = bounds.union(clip)
    }

    mutating func marker(
        _ marker: Marker, at center: PixelPoint, size: Double, color: RGBA, clip: PixelRect
    ) {
        guard !clip.isEmpty else { return }
        operations.append(.marker(marker, center, size: size, color, clip: clip))
        bounds = bounds.union(clip)
    }

    mutating func cells(_ rect: PixelRect, rows: Int, columns: Int, colors: [RGBA]) {
        guard !rect.isEmpty else { return }
        operations.append(.cells(rect, rows: rows, columns: columns, colors: colors))
        bounds = bounds.union(rect)
    }

    /// Rasterises every operation, in order.
    func render(into bitmap: inout Bitmap) {
        for operation in operations {
            switch operation {
            case .fill(let rect, let color):
                bitmap.fillRect(rect, color: color)
            case .text(let string, let rect, let style):
                bitmap.draw(string, x: rect.x, y: rect.y, anchor: .topLeft, style: style)
            case .polyline(let points, let color, let width, let dash, let clip):
                bitmap.drawPolyline(points, color: color, width: width, dash: dash, clip: clip)
            case .marker(let marker, let center, let size, let color, let clip):
                bitmap.drawMarker(marker, at: center, size: size, color: color, clip: clip)
            case .cells(let rect, let rows, let columns, let colors):
                Scene.drawCells(rect, rows: rows, columns: columns, colors: colors, into: &bitmap)
            }
        }
    }

    /// Fills a grid of cells. When cells are at least a pixel in both directions each is one
    /// rectangle; smaller cells are sampled at pixel centres (nearest cell).
    private static func drawCells(
        _ rect: PixelRect, rows: Int, columns: Int, colors: [RGBA], into bitmap: inout Bitmap
    ) {
        if rect.width >= columns && rect.height >= rows {
            for row in 0..<rows {
                let y0 = rect.y + row * rect.height / rows
                let y1 = rect.y + (row + 1) * rect.height / rows
                for column in 0..<columns {
                    let x0 = rect.x + column * rect.width / columns
                    let x1 = rect.x + (column + 1) * rect.width / columns
                    bitmap.fillRect(
                        PixelRect(minX: x0, minY: y0, maxX: x1, maxY: y1),
                        color: colors[row * columns + column])
                }
            }
            return
        }
        let visible = rect.intersection(bitmap.bounds)
        guard !visible.isEmpty else { return }
        for y in visible.minY..<visible.maxY {
            let row = min(rows - 1, ((y - rect.y) * rows + rows / 2) / rect.height)
            for x in visible.minX..<visible.maxX {
                let column = min(columns - 1, ((x - rect.x) * columns + columns / 2) / rect.width)
                bitmap.blendPixel(x: x, y: y, color: colors[row * columns + column])
            }
        }
    }
}
