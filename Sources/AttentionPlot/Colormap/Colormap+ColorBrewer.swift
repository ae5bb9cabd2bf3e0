// Anchor colours from Cynthia Brewer's ColorBrewer schemes (Apache-2.0 style licence,
// attribution: www.ColorBrewer.org), in the form matplotlib ships them.

extension Colormap {
    /// Sequential white-to-dark-blue map (ColorBrewer "Blues", 9 anchors), as in matplotlib.
    /// Low values are near white, high values dark blue.
    public static let blues = Colormap(
        name: "Blues",
        anchors: [
            "f7fbff", "deebf7", "c6dbef", "9ecae1", "6baed6", "4292c6", "2171b5", "08519c",
            "08306b",
        ].map(anchor))

    /// Diverging red-white-blue map (ColorBrewer "RdBu", 11 anchors), as in matplotlib:
    /// low values dark red, the centre near white (`#f7f7f7`), high values dark blue.
    ///
    /// Pair it with ``ColorRange/symmetric`` so that zero lands on the centre.
    public static let rdBu = Colormap(
        name: "RdBu",
        anchors: [
            "67001f", "b2182b", "d6604d", "f4a582", "fddbc7", "f7f7f7", "d1e5f0", "92c5de",
            "4393c3", "2166ac", "053061",
        ].map(anchor))
}

private func anchor(_ hex: String) -> RGBA {
    guard let color = RGBA(hex: hex) else { preconditionFailure("invalid anchor \(hex)") }
    return color
}
