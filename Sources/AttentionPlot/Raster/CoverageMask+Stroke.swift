import Foundation

extension CoverageMask {
    /// Raises coverage to that of a round-capped segment of half-width `halfWidth` (max-combine).
    mutating func strokeSegment(from a: PixelPoint, to b: PixelPoint, halfWidth: Double) {
        let reach = halfWidth + 1
        let x0 = max(0, Int((min(a.x, b.x) - reach).rounded(.down)))
        let x1 = min(width - 1, Int((max(a.x, b.x) + reach).rounded(.up)))
        let y0 = max(0, Int((min(a.y, b.y) - reach).rounded(.down)))
        let y1 = min(height - 1, Int((max(a.y, b.y) + reach).rounded(.up)))
        guard x0 <= x1, y0 <= y1 else { return }
        let dx = b.x - a.x
        let dy = b.y - a.y
        let lengthSquared = dx * dx + dy * dy
        let length = lengthSquared.squareRoot()
        // Lines thinner than a pixel are drawn one pixel wide with proportionally less ink.
        let strength = min(1, 2 * halfWidth)
        let radius = max(halfWidth, 0.5)
        for y in y0...y1 {
            let py = Double(y) + 0.5
            // For steep-enough segments only a band of columns around the line can be reached.
            var cx0 = x0
            var cx1 = x1
            if abs(dy) > 1e-9 && length > 0 {
                let xAtRow = a.x + (py - a.y) * dx / dy
                let halfSpan = reach * length / abs(dy)
                cx0 = max(x0, Int((xAtRow - halfSpan).rounded(.down)))
                cx1 = min(x1, Int((xAtRow + halfSpan).rounded(.up)))
            }
            guard cx0 <= cx1 else { continue }
            for x in cx0...cx1 {
                let px = Double(x) + 0.5
                var t = 0.0
                if lengthSquared > 0 {
                    t = ((px - a.x) * dx + (py - a.y) * dy) / lengthSquared
                    t = min(max(t, 0), 1)
                }
                let distance = hypot(px - (a.x + t * dx), py - (a.y + t * dy))
                let coverage = min(max(radius + 0.5 - distance, 0), 1) * strength
                let value = UInt8((coverage * 255).rounded())
                if value > self[x, y] { self[x, y] = value }
            }
        }
    }
}
