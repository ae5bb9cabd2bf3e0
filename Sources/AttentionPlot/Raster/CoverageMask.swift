import Foundation

/// A single-channel image of coverage values (0 = untouched, 255 = fully covered), used to
/// rasterise text and shapes once and then composite them in any colour.
struct CoverageMask: Sendable, Equatable {
    let width: Int
    let height: Int
    var values: [UInt8]

    init(width: Int, height: Int) {
        self.width = max(width, 0)
        self.height = max(height, 0)
        values = [UInt8](repeating: 0, count: self.width * self.height)
    }

    subscript(x: Int, y: Int) -> UInt8 {
        get { values[y * width + x] }
        set { values[y * width + x] = newValue }
    }

    /// The mask rotated counter-clockwise by `degrees` (as seen on screen, y pointing down).
    ///
    /// Multiples of 90° are exact pixel permutations. Other angles are resampled with 4×4
    /// supersampling of nearest-neighbour lookups, which keeps one-pixel strokes legible while
    /// anti-aliasing their staircase. The result is just large enough to hold the rotated
    /// rectangle.
    func rotated(degrees: Double) -> CoverageMask {
        var turns = (degrees / 90).rounded()
        if abs(degrees - turns * 90) < 1e-9 {
            turns = turns.truncatingRemainder(dividingBy: 4)
            if turns < 0 { turns += 4 }
            return rotatedQuarterTurns(Int(turns))
        }
        return resampled(degrees: degrees)
    }

    /// Size of the box holding a `size` rectangle rotated by `degrees`. Text measurement uses
    /// the same function, so measured and drawn boxes always agree.
    static func rotatedSize(_ size: PixelSize, degrees: Double) -> PixelSize {
        let turns = (degrees / 90).rounded()
        if abs(degrees - turns * 90) < 1e-9 {
            let odd = Int(turns.truncatingRemainder(dividingBy: 2)) != 0
            return odd ? PixelSize(width: size.height, height: size.width) : size
        }
        let theta = degrees * .pi / 180
        let c = abs(cos(theta))
        let s = abs(sin(theta))
        let w = Double(size.width)
        let h = Double(size.height)
        return PixelSize(
            width: Int((w * c + h * s - 1e-9).rounded(.up)),
            height: Int((w * s + h * c - 1e-9).rounded(.up)))
    }

    private func rotatedQuarterTurns(_ turns: Int) -> CoverageMask {
        switch turns {
        case 1:  // counter-clockwise: the first column becomes the bottom row
            var out = CoverageMask(width: height, height: width)
            for y in 0..<height {
                for x in 0..<width { out[y, width - 1 - x] = self[x, y] }
            }
            return out
        case 2:
            var out = CoverageMask(width: width, height: height)
            for y in 0..<height {
                for x in 0..<width { out[width - 1 - x, height - 1 - y] = self[x, y] }
            }
            return out
        case 3:
            var out = CoverageMask(width: height, height: width)
            for y in 0..<height {
                for x in 0..<width { out[height - 1 - y, x] = self[x, y] }
            }
            return out
        default:
            return self
        }
    }

    private func resampled(degrees: Double) -> CoverageMask {
        let theta = degrees * .pi / 180
        let c = cos(theta)
        let s = sin(theta)
        let w = Double(width)
        let h = Double(height)
        let outSize = CoverageMask.rotatedSize(
            PixelSize(width: width, height: height), degrees: degrees)
        let outWidth = outSize.width
        let outHeight = outSize.height
        var out = CoverageMask(width: outWidth, height: outHeight)
        let ocx = Double(outWidth) / 2
        let ocy = Double(outHeight) / 2
        let scx = w / 2
        let scy = h / 2
        let samples = 4
        let step = 1 / Double(samples)
        for oy in 0..<outHeight {
            for ox in 0..<outWidth {
                var total = 0
                for sy in 0..<samples {
                    let dy = Double(oy) + (Double(sy) + 0.5) * step - ocy
                    for sx in 0..<samples {
                        let dx = Double(ox) + (Double(sx) + 0.5) * step - ocx
                        // Inverse of the on-screen counter-clockwise rotation.
                        let u = dx * c - dy * s + scx
                        let v = dx * s + dy * c + scy
                        let ix = Int(u.rounded(.down))
                        let iy = Int(v.rounded(.down))
                        if ix >= 0, ix < width, iy >= 0, iy < height {
                            total += Int(self[ix, iy])
                        }
                    }
                }
                out[ox, oy] = UInt8((total + samples * samples / 2) / (samples * samples))
            }
        }
        return out
    }
}

extension Bitmap {
    /// Composites `color` through `mask`, whose top-left corner lands at column `x`, row `y`.
    mutating func composite(_ mask: CoverageMask, x: Int, y: Int, color: RGBA) {
        let target = PixelRect(x: x, y: y, width: mask.width, height: mask.height)
            .intersection(bounds)
        guard !target.isEmpty else { return }
        let w = width
        mask.values.withUnsafeBufferPointer { coverage in
            withUnsafeMutablePixels { dst in
                for row in target.minY..<target.maxY {
                    var m = (row - y) * mask.width + (target.minX - x)
                    var d = (row * w + target.minX) * 4
                    for _ in target.minX..<target.maxX {
                        let alpha = UInt32(coverage[m])
                        if alpha > 0 { Bitmap.composite(color, alpha: alpha, into: dst, at: d) }
                        m += 1
                        d += 4
                    }
                }
            }
        }
    }
}
