import Foundation

/// A filled symbol drawn at data points of a line plot, or anywhere with
/// ``Bitmap/drawMarker(_:at:size:color:)``.
public enum Marker: String, Sendable, Hashable, CaseIterable {
    /// A disc (matplotlib `"o"`).
    case circle
    /// An axis-aligned square (`"s"`).
    case square
    /// A square standing on a corner (`"D"`).
    case diamond
    /// An upward-pointing triangle filling its bounding square (`"^"`).
    case triangle
    /// An upright plus sign (`"P"`, filled).
    case plus
    /// A diagonal cross (`"X"`, filled).
    case cross

    /// Signed distance (negative inside) from the marker's outline at offset `(dx, dy)` from its
    /// centre, for a marker whose bounding box is `2 * r` across.
    func signedDistance(dx: Double, dy: Double, r: Double) -> Double {
        switch self {
        case .circle:
            return hypot(dx, dy) - r
        case .square:
            return max(abs(dx), abs(dy)) - r * 0.8
        case .diamond:
            return (abs(dx) + abs(dy) - r) / 2.squareRoot()
        case .triangle:
            // Apex at the top centre, base along the bottom edge of the bounding box.
            let root5 = 5.0.squareRoot()
            return max(dy - r, (-2 * dx - dy - r) / root5, (2 * dx - dy - r) / root5)
        case .plus:
            return Marker.plusDistance(dx: dx, dy: dy, r: r)
        case .cross:
            let c = 1 / 2.squareRoot()
            return Marker.plusDistance(dx: (dx + dy) * c, dy: (dy - dx) * c, r: r * 1.1)
        }
    }

    private static func plusDistance(dx: Double, dy: Double, r: Double) -> Double {
        let arm = r * 0.35
        let horizontal = max(abs(dx) - r, abs(dy) - arm)
        let vertical = max(abs(dx) - arm, abs(dy) - r)
        return min(horizontal, vertical)
    }
}

extension Bitmap {
    /// Draws an anti-aliased filled `marker` centred on `center`.
    ///
    /// - Parameters:
    ///   - marker: The symbol.
    ///   - center: Its centre in continuous pixel coordinates.
    ///   - size: Its nominal diameter in pixels.
    ///   - color: Fill colour.
    ///   - clip: Only pixels inside this rectangle are touched (default: the whole image).
    public mutating func drawMarker(
        _ marker: Marker, at center: PixelPoint, size: Double, color: RGBA,
        clip: PixelRect? = nil
    ) {
        guard size > 0, center.x.isFinite, center.y.isFinite else { return }
        let r = size / 2
        let region = (clip ?? bounds).intersection(bounds)
        let box = PixelRect(
            minX: Int((center.x - r - 1).rounded(.down)),
            minY: Int((center.y - r - 1).rounded(.down)),
            maxX: Int((center.x + r + 1).rounded(.up)),
            maxY: Int((center.y + r + 1).rounded(.up))
        ).intersection(region)
        guard !box.isEmpty else { return }
        var mask = CoverageMask(width: box.width, height: box.height)
        for y in 0..<box.height {
            let dy = Double(box.y + y) + 0.5 - center.y
            for x in 0..<box.width {
                let dx = Double(box.x + x) + 0.5 - center.x
                let d = marker.signedDistance(dx: dx, dy: dy, r: r)
                mask[x, y] = UInt8((min(max(0.5 - d, 0), 1) * 255).rounded())
            }
        }
        composite(mask, x: box.x, y: box.y, color: color)
    }

    /// Draws an anti-aliased filled disc.
    public mutating func fillCircle(center: PixelPoint, radius: Double, color: RGBA) {
        drawMarker(.circle, at: center, size: 2 * radius, color: color)
    }
}
