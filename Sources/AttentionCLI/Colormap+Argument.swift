import ArgumentParser
import AttentionPlot

/// `--colormap NAME`: a built-in map by its matplotlib name (`Blues`, `RdBu`, `viridis`, any
/// of them with `_r` for the reversed map), case-insensitive.
extension Colormap: ExpressibleByArgument {
    public init?(argument: String) {
        guard let map = Colormap.named(argument) else { return nil }
        self = map
    }

    public var defaultValueDescription: String { name }

    public static var allValueStrings: [String] { builtIn.map(\.name) }
}
