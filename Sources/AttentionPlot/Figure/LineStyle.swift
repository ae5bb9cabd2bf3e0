/// The stroke pattern of a line series or guide line. Dash lengths scale with the line
/// width, as in matplotlib.
public enum LineStyle: String, Sendable, Hashable, CaseIterable {
    /// A continuous line (`"-"`).
    case solid
    /// Long dashes (`"--"`).
    case dashed
    /// Round dots (`":"`).
    case dotted
    /// Alternating dashes and dots (`"-."`).
    case dashDot
    /// No line: only markers are drawn.
    case none

    /// On/off lengths in pixels for a stroke `width` pixels wide, compensated for round caps,
    /// or `nil` for a solid line.
    func dashPattern(width: Double) -> [Double]? {
        let pattern: [Double]
        switch self {
        case .solid, .none: return nil
        case .dashed: pattern = [3.7, 1.6]
        case .dotted: pattern = [1, 1.65]
        case .dashDot: pattern = [6.4, 1.6, 1, 1.6]
        }
        let w = max(width, 1)
        return pattern.enumerated().map { index, length in
            index % 2 == 0 ? max(length * w - w, 0.01) : length * w + w
        }
    }
}
