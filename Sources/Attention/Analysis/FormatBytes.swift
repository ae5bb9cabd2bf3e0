import Foundation

/// "1.5 GiB"-style byte counts.
public func formatBytes(_ bytes: Double) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"]
    var value = bytes, unit = 0
    while value >= 1024 && unit < units.count - 1 { value /= 1024; unit += 1 }
    return unit == 0 ? "\(Int(value)) B" : String(format: "%.1f ", value) + units[unit]
}
