// The `--mask` grammar (see `AttentionMask.init(parsing:)`).

/// A recursive-descent reader: `expr := term ('|' term)*`, `term := factor ('+' factor)*`,
/// `factor := '(' expr ')' | atom`, `atom := name [':' arguments]`.
struct MaskParser {
    let text: String
    private let chars: [Character]
    private var position = 0
    private var depth = 0
    /// Parentheses nest at most this deep (the parser recurses; a hostile input must not
    /// exhaust the stack).
    static let maxDepth = 64
    private var atoms = 0
    /// At most this many masks are combined (evaluation recurses through the combination).
    static let maxAtoms = 256

    init(text: String) {
        self.text = text
        chars = Array(text)
    }

    func error(_ problem: String) -> AttentionError {
        AttentionError.argument(
            "--mask", "\(problem) in \"\(text)\"; expected \(AttentionMask.syntax)")
    }

    mutating func parseAll() throws -> AttentionMask {
        let mask = try parseExpression()
        skipSpaces()
        if position < chars.count { throw error("unexpected \"\(chars[position])\"") }
        return mask
    }

    private mutating func skipSpaces() {
        while position < chars.count && chars[position].isWhitespace { position += 1 }
    }

    private mutating func take(_ c: Character) -> Bool {
        skipSpaces()
        guard position < chars.count && chars[position] == c else { return false }
        position += 1
        return true
    }

    private mutating func parseExpression() throws -> AttentionMask {
        var mask = try parseTerm()
        while take("|") { mask = .or(mask, try parseTerm()) }
        return mask
    }

    private mutating func parseTerm() throws -> AttentionMask {
        var mask = try parseFactor()
        while take("+") { mask = .and(mask, try parseFactor()) }
        return mask
    }

    private mutating func parseFactor() throws -> AttentionMask {
        if take("(") {
            depth += 1
            defer { depth -= 1 }
            guard depth <= Self.maxDepth else {
                throw error("parentheses nest deeper than \(Self.maxDepth)")
            }
            let mask = try parseExpression()
            guard take(")") else { throw error("missing \")\"") }
            return mask
        }
        skipSpaces()
        let start = position
        var depth = 0
        while position < chars.count {
            let c = chars[position]
            if c == "[" { depth += 1 } else if c == "]" { depth -= 1 }
            if depth == 0 && "+|()".contains(c) { break }
            position += 1
        }
        let atom = String(chars[start..<position]).trimmingSpaces
        if atom.isEmpty { throw error("missing a mask") }
        atoms += 1
        guard atoms <= Self.maxAtoms else {
            throw error("more than \(Self.maxAtoms) masks combined")
        }
        return try parseAtom(atom)
    }

    private func parseAtom(_ atom: String) throws -> AttentionMask {
        let name: String, arguments: String?
        if let colon = atom.firstIndex(of: ":") {
            name = String(atom[..<colon]).trimmingSpaces
            arguments = String(atom[atom.index(after: colon)...])
        } else {
            (name, arguments) = (atom, nil)
        }
        let list = arguments.map(splitTopLevel) ?? []
        func noArguments(_ mask: AttentionMask) throws -> AttentionMask {
            guard arguments == nil else { throw error("\(name) takes no arguments") }
            return mask
        }
        switch name {
        case "none": return try noArguments(.none)
        case "causal": return try noArguments(.causal)
        case "causal-bottom-right": return try noArguments(.causalFromBottomRight)
        case "window":
            let v = try integers(list, name, count: 1...2)
            return v.count == 1
                ? .slidingWindow(left: v[0] / 2, right: v[0] / 2)
                : .slidingWindow(left: v[0], right: v[1])
        case "window-bottom-right":
            let v = try integers(list, name, count: 1...2)
            return v.count == 1
                ? .slidingWindowFromBottomRight(left: v[0] / 2, right: v[0] / 2)
                : .slidingWindowFromBottomRight(left: v[0], right: v[1])
        case "strided": return .strided(stride: try integers(list, name, count: 1...1)[0])
        case "sparse-strided":
            return .sparseTransformerStrided(stride: try integers(list, name, count: 1...1)[0])
        case "prefix": return .prefixLM(prefixLength: try integers(list, name, count: 1...1)[0])
        case "blocks":
            return .blockDiagonal(lengths: .init(try integers(list, name, count: 1...Int.max)))
        case "sparse-fixed":
            let v = try keyed(list, name, ["block": nil, "summary": nil])
            return .sparseTransformerFixed(
                blockSize: try int(v["block"]!, name), summary: try int(v["summary"]!, name))
        case "dilated":
            let v = try keyed(list, name, ["window": nil, "dilation": nil])
            return .dilatedWindow(
                window: try int(v["window"]!, name), dilation: try int(v["dilation"]!, name))
        case "longformer":
            let v = try keyed(list, name, ["window": nil, "global": "0"])
            let g = v["global"]!
            let globals: AttentionMask.GlobalTokens
            if g.hasPrefix("[") && g.hasSuffix("]") {
                let inner = String(g.dropFirst().dropLast())
                globals = .init(
                    positions: inner.trimmingSpaces.isEmpty
                        ? [] : try integers(splitTopLevel(inner), name, count: 1...Int.max))
            } else {
                globals = .leading(try int(g, name))
                if try int(g, name) < 0 { throw error("longformer needs global ≥ 0, got \(g)") }
            }
            return .longformer(window: try int(v["window"]!, name), globalTokens: globals)
        case "bigbird":
            let v = try keyed(
                list, name, ["window": nil, "global": nil, "random": nil, "seed": "0"])
            return .bigBird(
                window: try int(v["window"]!, name), globalTokens: try int(v["global"]!, name),
                randomPerRow: try int(v["random"]!, name), seed: try seed(v["seed"]!, name))
        case "bigbird-blocks":
            let v = try keyed(
                list, name,
                ["block": "64", "window": "3", "global": "2", "random": "3", "seed": "0"])
            return .bigBirdBlocks(
                blockSize: try int(v["block"]!, name), windowBlocks: try int(v["window"]!, name),
                globalBlocks: try int(v["global"]!, name),
                randomBlocks: try int(v["random"]!, name), seed: try seed(v["seed"]!, name))
        default:
            throw error("unknown mask \"\(name)\"")
        }
    }

    /// Splits at commas outside brackets.
    private func splitTopLevel(_ s: String) -> [String] {
        var parts: [String] = [], current = "", depth = 0
        for c in s {
            if c == "[" { depth += 1 } else if c == "]" { depth -= 1 }
            if c == "," && depth == 0 {
                parts.append(current)
                current = ""
            } else {
                current.append(c)
            }
        }
        parts.append(current)
        return parts.map(\.trimmingSpaces)
    }

    private func int(_ s: String, _ name: String) throws -> Int {
        guard let v = Int(s) else {
            let digits = s.hasPrefix("-") || s.hasPrefix("+") ? s.dropFirst() : Substring(s)
            if !digits.isEmpty && digits.allSatisfy(\.isASCII) && digits.allSatisfy(\.isNumber) {
                throw error("\(name): \(s) is out of range (at most 2^40)")
            }
            throw error("\(name): \"\(s)\" is not an integer")
        }
        return v
    }

    private func seed(_ s: String, _ name: String) throws -> UInt64 {
        guard let v = UInt64(s) else {
            throw error("\(name): seed \"\(s)\" is not an integer in 0…\(UInt64.max)")
        }
        return v
    }

    private func integers(_ list: [String], _ name: String, count: ClosedRange<Int>) throws -> [Int]
    {
        guard count.contains(list.count), !(list.count == 1 && list[0].isEmpty) else {
            let wanted =
                count.lowerBound == count.upperBound
                ? "\(count.lowerBound)"
                : count.upperBound == Int.max
                    ? "at least \(count.lowerBound)"
                    : "\(count.lowerBound) to \(count.upperBound)"
            throw error("\(name) takes \(wanted) comma-separated integer(s)")
        }
        return try list.map { try int($0, name) }
    }

    /// `key=value` arguments; `defaults` lists the allowed keys (nil = required).
    private func keyed(_ list: [String], _ name: String, _ defaults: [String: String?]) throws
        -> [String: String]
    {
        var values: [String: String] = [:]
        for item in list where !(list.count == 1 && item.isEmpty) {
            guard let eq = item.firstIndex(of: "=") else {
                throw error("\(name): expected key=value, got \"\(item)\"")
            }
            let key = String(item[..<eq]).trimmingSpaces,
                value = String(item[item.index(after: eq)...]).trimmingSpaces
            guard defaults.keys.contains(key) else {
                throw error(
                    "\(name): unknown key \"\(key)\" (allowed: \(defaults.keys.sorted().joined(separator: ", ")))"
                )
            }
            guard values[key] == nil else { throw error("\(name): \"\(key)\" given twice") }
            values[key] = value
        }
        for (key, fallback) in defaults.sorted(by: { $0.key < $1.key }) where values[key] == nil {
            guard let fallback else { throw error("\(name): missing \(key)=…") }
            values[key] = fallback
        }
        return values
    }
}

extension String {
    var trimmingSpaces: String {
        String(drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
    }
}
