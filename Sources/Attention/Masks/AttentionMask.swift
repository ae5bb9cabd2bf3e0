/// Which keys each query may attend to, described by structure rather than as a matrix.
///
/// Positions are 0-based: query `i` in `0..<queries`, key `j` in `0..<keys`. Structured
/// masks cost nothing to store and let the fused kernel skip blocks that are entirely hidden
/// (see ``BlockMask``). ``materialize(queries:keys:batch:head:)`` turns any mask into a dense
/// 0/1 tensor for the reference path, tests and figures.
///
/// Unless a case says otherwise, structured patterns compare absolute positions (top-left
/// alignment, like ``causal``): with `queries ≠ keys`, query `i` and key `i` are "the same
/// position". Every structured case has a string form (``init(parsing:)``, ``description``).
///
/// Tensor masks broadcast to `[B, H, Sq, Sk]` (NumPy rules, aligned right):
/// - ``dense(_:)``: boolean, nonzero = may attend, zero = blocked (PyTorch's bool `attn_mask`).
/// - ``additive(_:)``: added to the scaled scores; `-inf` blocks (PyTorch's float `attn_mask`).
///
/// A query that sees no key outputs zeros, never NaN.
public indirect enum AttentionMask: Sendable {
    /// Every query sees every key.
    case none
    /// Query `i` sees keys `j ≤ i` (top-left aligned, PyTorch `is_causal=True`).
    case causal
    /// Query `i` sees keys `j ≤ i + (keys − queries)`: the last query is aligned with the
    /// last key (decoding with a cache, FlashAttention's convention).
    case causalFromBottomRight
    /// A boolean mask tensor broadcastable to `[B, H, Sq, Sk]`; nonzero = may attend.
    case dense(Tensor)
    /// A float tensor broadcastable to `[B, H, Sq, Sk]`, added to the scaled scores.
    case additive(Tensor)
    /// Query `i` sees keys `i − left … i + right` (a local / sliding window). The seed's
    /// `create_local_mask(S, w)` is `slidingWindow(left: w / 2, right: w / 2)`.
    case slidingWindow(left: Int, right: Int)
    /// The window aligned bottom-right: query `i` sees keys `i' − left … i' + right` with
    /// `i' = i + (keys − queries)`, so the last query's window ends at the last key
    /// (FlashAttention's `window_size` with `Sq ≠ Sk`: a chunk of new queries against a
    /// cache of earlier keys, as in Mistral-style local attention). The same as
    /// ``slidingWindow(left:right:)`` when `queries == keys`; `left: w, right: 0` is causal
    /// from the bottom right, limited to the last `w + 1` keys.
    case slidingWindowFromBottomRight(left: Int, right: Int)
    /// Longformer's dilated sliding window: with `r = (window / 2) · dilation`, query `i`
    /// sees key `j` iff `|i − j| ≤ r` and `(i − j) mod dilation == 0`, that is keys
    /// `i + t · dilation` for `t = −window/2 … window/2` (integer division; `window/2 + 1`
    /// keys on each side counting `i`). `dilation: 1` is `slidingWindow(left: window / 2,
    /// right: window / 2)`. Needs `window ≥ 0`, `dilation ≥ 1`.
    case dilatedWindow(window: Int, dilation: Int)
    /// Longformer: a sliding window plus global tokens. With `h = window / 2` and `G` the
    /// global positions, query `i` sees key `j` iff `|i − j| ≤ h` or `i ∈ G` (a global row
    /// sees everything) or `j ∈ G` (everyone sees a global column). `globalTokens` is a count
    /// of leading positions (`2` means `G = {0, 1}`) or a list (`[0, 17, 63]`); positions must
    /// lie in `0..<max(queries, keys)`.
    case longformer(window: Int, globalTokens: GlobalTokens)
    /// The seed's strided mask (`mask[i, ::stride] = 1`): every query sees keys
    /// `0, stride, 2·stride, …`, that is `j mod stride == 0`. No diagonal, no causality.
    /// Needs `stride ≥ 1`.
    case strided(stride: Int)
    /// Sparse Transformer's strided pattern (Child et al. 2019), causal: query `i` sees key
    /// `j` iff `j ≤ i` and (`i − j < stride` or `(i − j) mod stride == 0`): the previous
    /// `stride` positions plus every `stride`-th earlier one. Needs `stride ≥ 1`.
    case sparseTransformerStrided(stride: Int)
    /// Sparse Transformer's fixed pattern (Child et al. 2019), causal: with block length
    /// `l = blockSize` and `c = summary`, query `i` sees key `j` iff `j ≤ i` and
    /// (`⌊j / l⌋ == ⌊i / l⌋` or `j mod l ≥ l − c`): its own block plus the last `c`
    /// "summary" positions of every earlier block. Needs `blockSize ≥ 1`, `0 ≤ summary ≤ blockSize`.
    case sparseTransformerFixed(blockSize: Int, summary: Int)
    /// The seed's BigBird construction at token level: window, global and random attention.
    ///
    /// With `h = window / 2` and `g = globalTokens`, query `i` sees key `j` iff
    /// `|i − j| ≤ h` (the seed's `create_local_mask`), or `i < g` (global row), or `j < g`
    /// (global column), or `j ∈ R(i)`. The random keys `R(i)` are drawn, reproducibly from
    /// `seed` and `i` alone, among row `i`'s *candidates* — the keys in `0..<keys` the rules
    /// before leave hidden. With `m` candidates and `r = randomPerRow`:
    /// - `m ≤ r` (or `i < g`, which has no candidates): every candidate is visible;
    /// - otherwise exactly `r` distinct candidates: the candidates, in increasing key order,
    ///   are cut into `r` strata `[⌊s·m/r⌋, ⌊(s+1)·m/r⌋)`, `s = 0..<r`, and one key is drawn
    ///   uniformly from each stratum with `CounterRNG(seed: seed).bits(at: i << 24 | s)`.
    ///
    /// So every non-global row gains exactly `min(r, m)` keys; each candidate is chosen with
    /// probability ≈ `r / m`; a row's draws do not depend on other rows or on `queries`.
    /// (Stratified rather than a uniform `r`-subset: membership of one key costs O(1) hashes
    /// and no storage, which keeps ``isVisible(query:key:queries:keys:batch:head:)`` and
    /// ``classify(queryRange:keyRange:queries:keys:batch:head:)`` cheap at any length.)
    /// Needs `window, globalTokens ≥ 0`, `0 ≤ randomPerRow < 2^24`.
    case bigBird(window: Int, globalTokens: Int, randomPerRow: Int, seed: UInt64)
    /// BigBird's block form (BigBird-ITC): ``bigBird(window:globalTokens:randomPerRow:seed:)``
    /// applied to blocks of `blockSize` positions instead of single positions.
    ///
    /// With `B = blockSize`, query `i` sees key `j` iff query block `a = ⌊i / B⌋` sees key
    /// block `b = ⌊j / B⌋`: `|a − b| ≤ windowBlocks / 2` (3 blocks for `windowBlocks: 3`), or
    /// `a < globalBlocks` or `b < globalBlocks`, or `b` is one of `a`'s `randomBlocks` random
    /// key blocks (drawn as in `bigBird` over the `⌈keys / B⌉` key blocks). Tiles that align
    /// with the `B×B` blocks classify exactly as `.full` or `.empty`.
    /// Needs `blockSize ≥ 1`, odd `windowBlocks ≥ 1`, `globalBlocks ≥ 0`, `0 ≤ randomBlocks < 2^24`.
    case bigBirdBlocks(
        blockSize: Int = 64, windowBlocks: Int = 3, globalBlocks: Int = 2,
        randomBlocks: Int = 3, seed: UInt64)
    /// Packed documents (varlen batching): with segment `s` covering positions
    /// `o_s ..< o_s + lengths[s]` (`o_s` = sum of the earlier lengths), query `i` sees key `j`
    /// iff both lie in the same segment. Needs `queries == keys == lengths.sum()` and every
    /// length ≥ 0 (combine with ``causal`` for causal packed documents).
    case blockDiagonal(lengths: SegmentLengths)
    /// Prefix LM: query `i` sees key `j` iff `j < prefixLength` (the bidirectional prefix) or
    /// `j ≤ i` (causal after it). Needs `0 ≤ prefixLength ≤ keys`.
    case prefixLM(prefixLength: Int)
    /// Visible where both masks are visible (additive parts add up).
    case and(AttentionMask, AttentionMask)
    /// Visible where either mask is visible.
    case or(AttentionMask, AttentionMask)
}

/// How much of a (query block × key block) tile a mask leaves visible.
public enum BlockKind: Sendable, Equatable {
    /// Nothing visible: the tile is skipped.
    case empty
    /// Everything visible and nothing to add: no per-element work.
    case full
    /// Some entries hidden or biased: elements are tested.
    case partial
}

extension AttentionMask {
    /// Intersects with another mask (`.and`).
    public func intersect(_ other: AttentionMask) -> AttentionMask { .and(self, other) }
    /// Unites with another mask (`.or`).
    public func union(_ other: AttentionMask) -> AttentionMask { .or(self, other) }
}
