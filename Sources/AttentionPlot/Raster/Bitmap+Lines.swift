import Foundation

extension Bitmap {
    /// Draws an anti-aliased straight line with round caps.
    ///
    /// - Parameters:
    ///   - start: One end, in continuous pixel coordinates (pixel centres are at `n + 0.5`).
    ///   - end: The other end.
    ///   - color: Stroke colour; its alpha is respected.
    ///   - width: Stroke width in pixels.
    ///   - clip: Only pixels inside this rectangle are touched (default: the whole image).
    public mutating func drawLine(
        from start: PixelPoint, to end: PixelPoint, color: RGBA, width: Double = 1,
        clip: PixelRect? = nil
    ) {
        drawPolyline([start, end], color: color, width: width, clip: clip)
    }

    /// Draws connected anti-aliased line segments through `points`.
    ///
    /// The whole path is rasterised into one coverage mask before compositing, so joints are
    /// not painted twice and translucent colours stay even.
    ///
    /// - Parameters:
    ///   - points: The vertices, in continuous pixel coordinates. Non-finite points split the
    ///     path into separate pieces.
    ///   - color: Stroke colour.
    ///   - width: Stroke width in pixels.
    ///   - dash: Alternating on/off lengths in pixels along the path, starting with "on";
    ///     `nil` or an empty array draws a solid line.
    ///   - clip: Only pixels inside this rectangle are touched (default: the whole image).
    public mutating func drawPolyline(
        _ points: [PixelPoint], color: RGBA, width: Double = 1, dash: [Double]? = nil,
        clip: PixelRect? = nil
    ) {
        let region = (clip ?? bounds).intersection(bounds)
        guard !region.isEmpty, width > 0, points.count >= 1 else { return }
        let halfWidth = width / 2
        let pad = halfWidth + 1
        // Restrict the mask to the path's bounding box.
        var minX = Double.infinity
        var minY = Double.infinity
        var maxX = -Double.infinity
        var maxY = -Double.infinity
        for p in points where p.x.isFinite && p.y.isFinite {
            minX = min(minX, p.x)
            minY = min(minY, p.y)
            maxX = max(maxX, p.x)
            maxY = max(maxY, p.y)
        }
        guard minX.isFinite else { return }
        let box = PixelRect(
            minX: Int(max(minX - pad, -1e9).rounded(.down)),
            minY: Int(max(minY - pad, -1e9).rounded(.down)),
            maxX: Int(min(maxX + pad, 1e9).rounded(.up)) + 1,
            maxY: Int(min(maxY + pad, 1e9).rounded(.up)) + 1
        ).intersection(region)
        guard !box.isEmpty else { return }

        var mask = CoverageMask(width: box.width, height: box.height)
        let pieces = Bitmap.splitAtNonFinite(points)
        for piece in pieces {
            let segments: [(PixelPoint, PixelPoint)]
            if let dash, dash.contains(where: { $0 > 0 }) {
                segments = Bitmap.dashed(piece, pattern: dash)
            } else if piece.count == 1 {
                segments = [(piece[0], piece[0])]
            } else {
                segments = (1..<piece.count).map { (piece[$0 - 1], piece[$0]) }
            }
            for (a, b) in segments {
                mask.strokeSegment(
                    from: PixelPoint(x: a.x - Double(box.x), y: a.y - Double(box.y)),
                    to: PixelPoint(x: b.x - Double(box.x), y: b.y - Double(box.y)),
                    halfWidth: halfWidth)
            }
        }
        composite(mask, x: box.x, y: box.y, color: color)
    }

    /// Draws a line between pixel centres with Bresenham's algorithm: no anti-aliasing, every
    /// pixel fully on or off, with a square brush `thickness` pixels wide.
    public mutating func drawCrispLine(
        x0: Int, y0: Int, x1: Int, y1: Int, color: RGBA, thickness: Int = 1
    ) {
        guard thickness > 0 else { return }
        let offset = (thickness - 1) / 2
        var x = x0
        var y = y0
        let dx = abs(x1 - x0)
        let dy = -abs(y1 - y0)
        let stepX = x0 < x1 ? 1 : -1
        let stepY = y0 < y1 ? 1 : -1
        var error = dx + dy
        while true {
            fillRect(
                PixelRect(x: x - offset, y: y - offset, width: thickness, height: thickness),
                color: color)
            if x == x1 && y == y1 { break }
            let e2 = 2 * error
            if e2 >= dy {
                error += dy
                x += stepX
            }
            if e2 <= dx {
                error += dx
                y += stepY
            }
        }
    }

    /// Outlines `rect` with a border `thickness` pixels wide, drawn inside the rectangle.
    public mutating func strokeRect(_ rect: PixelRect, color: RGBA, thickness: Int = 1) {
        guard !rect.isEmpty, thickness > 0 else { return }
        let t = min(thickness, (min(rect.width, rect.height) + 1) / 2)
        fillRect(PixelRect(x: rect.x, y: rect.y, width: rect.width, height: t), color: color)
        fillRect(
            PixelRect(x: rect.x, y: rect.maxY - t, width: rect.width, height: t), color: color)
        fillRect(
            PixelRect(x: rect.x, y: rect.y + t, width: t, height: rect.height - 2 * t),
            color: color)
        fillRect(
            PixelRect(x: rect.maxX - t, y: rect.y + t, width: t, height: rect.height - 2 * t),
            color: color)
    }

    static func splitAtNonFinite(_ points: [PixelPoint]) -> [[PixelPoint]] {
        var pieces: [[PixelPoint]] = []
        var current: [PixelPoint] = []
        for p in points {
            if p.x.isFinite && p.y.isFinite {
                current.append(p)
            } else if !current.isEmpty {
                pieces.append(current)
                current = []
            }
        }
        if !current.isEmpty { pieces.append(current) }
        return pieces
    }

    /// Cuts a path into the "on" pieces of a dash pattern measured along its length.
    static func dashed(_ path: [PixelPoint], pattern: [Double]) -> [(PixelPoint, PixelPoint)] {
        let lengths = pattern.map { max($0, 0) }
        var result: [(PixelPoint, PixelPoint)] = []
        var index = 0
        var remaining = lengths[0]
        var on = true
        guard path.count > 1 else { return [] }
        for k in 1..<path.count {
            var a = path[k - 1]
            let b = path[k]
            var segmentLeft = hypot(b.x - a.x, b.y - a.y)
            while segmentLeft > 0 {
                let step = min(remaining, segmentLeft)
                let t = step / segmentLeft
                let p = PixelPoint(x: a.x + (b.x - a.x) * t, y: a.y + (b.y - a.y) * t)
                if on && step > 0 { result.append((a, p)) }
                a = p
                segmentLeft -= step
                remaining -= step
                if remaining <= 1e-9 {
                    index = (index + 1) % lengths.count
                    remaining = lengths[index]
                    on.toggle()
                }
            }
        }
        return result
    }
}
