/// Which PNG scanline filters the encoder applies before compression.
///
/// Filtering is lossless; it only changes how well the data compresses. Flat synthetic
/// images such as plots compress best with ``none``; photographs and smooth gradients
/// usually prefer ``adaptive``.
public enum PNGFilterStrategy: Sendable, Hashable, CaseIterable {
    /// Filter type 0 on every row (fastest).
    case none
    /// Filter type 1: difference from the pixel to the left.
    case sub
    /// Filter type 2: difference from the pixel above.
    case up
    /// Filter type 3: difference from the average of left and above.
    case average
    /// Filter type 4: difference from the Paeth predictor.
    case paeth
    /// Per row, whichever of the five filters gives the smallest sum of absolute values
    /// (the heuristic libpng uses).
    case adaptive
}

/// The five PNG filter algorithms, applied to and removed from whole scanlines.
enum PNGFilter {
    /// Writes the filter-`type` encoding of `row` (with `previous` the unfiltered row above,
    /// all zeros for the first row) into `out`.
    static func apply(
        type: UInt8, row: UnsafeBufferPointer<UInt8>, previous: UnsafeBufferPointer<UInt8>,
        bytesPerPixel bpp: Int, into out: UnsafeMutableBufferPointer<UInt8>
    ) {
        let n = row.count
        switch type {
        case 1:
            for i in 0..<n { out[i] = row[i] &- (i >= bpp ? row[i - bpp] : 0) }
        case 2:
            for i in 0..<n { out[i] = row[i] &- previous[i] }
        case 3:
            for i in 0..<n {
                let left = i >= bpp ? Int(row[i - bpp]) : 0
                out[i] = row[i] &- UInt8((left + Int(previous[i])) / 2)
            }
        case 4:
            for i in 0..<n {
                let left = i >= bpp ? row[i - bpp] : 0
                let upperLeft = i >= bpp ? previous[i - bpp] : 0
                out[i] = row[i] &- paeth(left, previous[i], upperLeft)
            }
        default:
            for i in 0..<n { out[i] = row[i] }
        }
    }

    /// Reverses filter `type` in place on `row`, given the already reconstructed `previous`
    /// row. Returns `false` for an unknown filter type.
    static func unapply(
        type: UInt8, row: UnsafeMutableBufferPointer<UInt8>,
        previous: UnsafeBufferPointer<UInt8>, bytesPerPixel bpp: Int
    ) -> Bool {
        let n = row.count
        switch type {
        case 0:
            return true
        case 1:
            if n > bpp { for i in bpp..<n { row[i] = row[i] &+ row[i - bpp] } }
        case 2:
            for i in 0..<n { row[i] = row[i] &+ previous[i] }
        case 3:
            for i in 0..<n {
                let left = i >= bpp ? Int(row[i - bpp]) : 0
                row[i] = row[i] &+ UInt8((left + Int(previous[i])) / 2)
            }
        case 4:
            for i in 0..<n {
                let left = i >= bpp ? row[i - bpp] : 0
                let upperLeft = i >= bpp ? previous[i - bpp] : 0
                row[i] = row[i] &+ paeth(left, previous[i], upperLeft)
            }
        default:
            return false
        }
        return true
    }

    /// The Paeth predictor: whichever of left, above and upper-left is closest to
    /// `left + above - upperLeft` (ties prefer left, then above).
    @inline(__always)
    static func paeth(_ a: UInt8, _ b: UInt8, _ c: UInt8) -> UInt8 {
        let p = Int(a) + Int(b) - Int(c)
        let pa = abs(p - Int(a))
        let pb = abs(p - Int(b))
        let pc = abs(p - Int(c))
        if pa <= pb && pa <= pc { return a }
        return pb <= pc ? b : c
    }

    /// The libpng heuristic cost of a filtered row: the sum of its bytes read as signed.
    static func cost(_ filtered: UnsafeMutableBufferPointer<UInt8>) -> Int {
        var total = 0
        for byte in filtered { total += abs(Int(Int8(bitPattern: byte))) }
        return total
    }
}
