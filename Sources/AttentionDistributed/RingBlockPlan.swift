import Attention

/// The masks ring attention supports, as a band of visible key − query offsets:
/// query `i` sees key `j` iff `lower ≤ j − i ≤ upper` (`nil`: unbounded).
struct RingBand: Hashable {
    var lower: Int?, upper: Int?

    /// - Throws: ``AttentionError`` naming `mask` for a mask ring attention does not shard.
    init(_ mask: AttentionMask) throws {
        switch mask {
        case .none: (lower, upper) = (nil, nil)
        case .causal: (lower, upper) = (nil, 0)
        case .slidingWindow(let left, let right):
            guard left >= 0 && right >= 0 else {
                throw AttentionError.argument(
                    "mask", "slidingWindow needs left ≥ 0 and right ≥ 0, got \(left), \(right)")
            }
            // The block plan adds the edges to positions (`q1 + upper`): keep that in range.
            guard left <= AttentionMask.maxParameter && right <= AttentionMask.maxParameter else {
                throw AttentionError.argument(
                    "mask",
                    "slidingWindow's left and right must be at most 2^40 (\(AttentionMask.maxParameter)), got \(left), \(right)"
                )
            }
            (lower, upper) = (-left, right)
        default:
            throw AttentionError.argument(
                "mask",
                "ring attention supports none, causal and slidingWindow masks (positions are global; their bottom-right forms are the same here); got \(mask)"
            )
        }
    }
}

/// One kernel call of a ring step: some of this rank's query rows against some rows of the
/// key/value shard it currently holds, with the mask and ALiBi rewritten into the block's
/// local coordinates.
struct RingBlock {
    /// Local rows of the rank's query shard.
    var queryRows: Range<Int>
    /// Local rows of the key/value shard.
    var keyRows: Range<Int>
    /// The mask in block coordinates (`.none` when every pair is visible).
    var mask: AttentionMask
    /// ALiBi in block coordinates (top-left aligned), or `nil`.
    var alibi: ALiBi?
    /// Added to the block's log-sum-exp per query head: the part of the global ALiBi bias
    /// that is constant over the block (`nil`: zero).
    var logSumExpShift: [Float]?

    /// Plans the block of query positions `queries` (global, starting at local row
    /// `queryRow`) against key positions `keys` (global, at local row `keyRow`), or `nil`
    /// when the band hides all of it.
    /// - Throws: ``AttentionError`` naming `alibi` for a symmetric ALiBi on a block the
    ///   band cuts off the diagonal (symmetric ALiBi with a sliding window).
    static func plan(
        queries: Range<Int>, queryRow: Int, keys: Range<Int>, keyRow: Int, band: RingBand,
        alibi: ALiBi?
    ) throws -> RingBlock? {
        var (q0, q1, k0, k1) = (
            queries.lowerBound, queries.upperBound, keys.lowerBound, keys.upperBound
        )
        guard q0 < q1 && k0 < k1 else { return nil }
        // Global offsets j − i over the block: [k0 − (q1 − 1), (k1 − 1) − q0].
        let lowest = k0 - (q1 - 1)
        let highest = (k1 - 1) - q0
        if let lower = band.lower, highest < lower { return nil }
        if let upper = band.upper, lowest > upper { return nil }
        // Drop keys no query of the block sees (left of the band's lower edge for the first
        // query) and queries that see no key (the band's upper edge left of the first key).
        if let lower = band.lower, k0 < q0 + lower { k0 = q0 + lower }
        if let upper = band.upper, q0 < k0 - upper { q0 = k0 - upper }
        if let upper = band.upper, k1 > q1 - 1 + upper + 1 { k1 = q1 + upper }
        if let lower = band.lower, q1 > k1 - 1 - lower + 1 { q1 = k1 - lower }
        guard q0 < q1 && k0 < k1 else { return nil }
        let (sq, sk) = (q1 - q0, k1 - k0)
        let e = k0 - q0  // global offset j − i of local (0, 0)
        let full =
            (band.lower.map { e - (sq - 1) >= $0 } ?? true)
            && (band.upper.map { e + (sk - 1) <= $0 } ?? true)
        let mask: AttentionMask
        if full {
            mask = .none
        } else {
            // Local band: lower − e ≤ j − i ≤ upper − e; after the trimming above it
            // contains 0 wherever it is bounded, so it is a window around the diagonal.
            let wide = sq + sk
            let left = band.lower.map { min(wide, max(0, e - $0)) } ?? wide
            let right = band.upper.map { min(wide, max(0, $0 - e)) } ?? wide
            mask = (left == wide && right == 0) ? .causal : .slidingWindow(left: left, right: right)
        }
        var block = RingBlock(
            queryRows: queryRow + (q0 - queries.lowerBound)..<queryRow + (q1 - queries.lowerBound),
            keyRows: keyRow + (k0 - keys.lowerBound)..<keyRow + (k1 - keys.lowerBound),
            mask: mask, alibi: nil, logSumExpShift: nil)
        if let alibi { try block.localize(alibi, offset: e, queries: sq, keys: sk) }
        return block
    }

    /// Rewrites ALiBi for the block whose local (0, 0) sits at global offset `e = j − i`.
    ///
    /// The global bias is linear in `j − i` on each side of the diagonal:
    /// `.causal` form `m·(j − i)` = local `m·(j_l − i_l)` + `m·e`; `.symmetric` below the
    /// diagonal the same, above it `−m·(j − i)` = local `.causal` form with slope `−m`, plus
    /// `−m·e`. The constant moves the block's log-sum-exp, not its output.
    private mutating func localize(_ alibi: ALiBi, offset e: Int, queries sq: Int, keys sk: Int)
        throws
    {
        let slopes: [Float]
        let form: ALiBi.Form
        var sign: Float = 1
        switch alibi.form {
        case .causal:
            form = .causal
        case .symmetric:
            let visibleLow: Int
            let visibleHigh: Int
            switch mask {
            case .slidingWindow(let left, let right):
                (visibleLow, visibleHigh) = (e - left, e + right)
            case .causal:
                (visibleLow, visibleHigh) = (e - (sq - 1), e)
            default:
                (visibleLow, visibleHigh) = (e - (sq - 1), e + (sk - 1))
            }
            if visibleHigh <= 0 {
                form = .causal
            } else if visibleLow >= 0 {
                form = .causal
                sign = -1
            } else if e == 0 {
                form = .symmetric
                sign = 0
            } else {
                throw AttentionError.argument(
                    "alibi",
                    "symmetric ALiBi with a sliding window is not supported by ring attention (a block straddles the diagonal off its corner); use the causal form"
                )
            }
        }
        if sign == 0 {
            slopes = alibi.slopes
            logSumExpShift = nil
        } else {
            slopes = alibi.slopes.map { sign * $0 }
            logSumExpShift = slopes.map { $0 * Float(e) }
            if e == 0 { logSumExpShift = nil }
        }
        self.alibi = ALiBi(slopes: slopes, form: form, alignment: .topLeft)
    }
}
