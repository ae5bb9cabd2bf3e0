// Reading a mask from the `--mask` command-line syntax.
extension AttentionMask {
    /// The accepted `--mask` syntax, as quoted in error messages.
    public static let syntax = """
        none; causal; causal-bottom-right; window:L,R or window:W (L = R = W/2); \
        window-bottom-right:L,R or window-bottom-right:W; strided:S; \
        sparse-strided:S; sparse-fixed:block=L,summary=C; \
        bigbird:window=W,global=G,random=R,seed=N (seed optional, default 0); \
        bigbird-blocks:block=64,window=3,global=2,random=3,seed=0 (each optional, these defaults); \
        longformer:window=W,global=G or global=[p,q,…] (global optional, default 0); \
        dilated:window=W,dilation=D; blocks:L1,L2,…; prefix:N; \
        joined with + (and, binds tighter) or | (or), grouped with ( )
        """

    /// Reads a mask from its string form, e.g. `causal+window:128,0` (the syntax is
    /// ``syntax``; ``description`` prints it back). `+` means ``and(_:_:)``, `|` means
    /// ``or(_:_:)``; parameters that do not depend on the sequence length are checked here.
    /// - Throws: ``AttentionError`` naming `--mask`, the problem and the expected syntax.
    public init(parsing text: String) throws {
        var parser = MaskParser(text: text)
        let mask = try parser.parseAll()
        do {
            try mask.validateParameters(argument: "--mask")
        } catch let error as AttentionError {
            throw parser.error(error.message)
        }
        self = mask
    }
}
