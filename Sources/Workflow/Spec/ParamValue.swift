import Foundation

/// A parameter value tree: what YAML gives, what a params struct encodes to,
/// and what stage keys are computed over.
public enum ParamValue: Sendable, Hashable {
    case null
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case array([ParamValue])
    case object([String: ParamValue])

    /// Canonical, type-tagged bytes for hashing: keys sorted bytewise, integers
    /// in decimal, doubles by their IEEE bit pattern (so `1e-4` and `0.0001` agree
    /// and no formatting can change a key), strings length-prefixed.
    public func canonicalEncoding(into out: inout String) {
        switch self {
        case .null: out += "n;"
        case .bool(let b): out += b ? "b1;" : "b0;"
        case .int(let i): out += "i\(i);"
        case .double(let d):
            // Integral doubles equal to an int hash as that int: JSON round trips
            // (1.0 encodes as 1) must not change a key.
            if d.rounded() == d, abs(d) < 9e15 { out += "i\(Int(d));" }
            else { out += "d\(String(d.bitPattern, radix: 16));" }
        case .string(let s): out += "s\(s.utf8.count):\(s);"
        case .array(let items):
            out += "a\(items.count)["
            for item in items { item.canonicalEncoding(into: &out) }
            out += "]"
        case .object(let members):
            out += "o\(members.count){"
            for key in members.keys.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }) {
                out += "s\(key.utf8.count):\(key);"
                members[key]!.canonicalEncoding(into: &out)
            }
            out += "}"
        }
    }

    /// The canonical encoding as a string.
    public var canonical: String {
        var out = ""
        canonicalEncoding(into: &out)
        return out
    }

    /// Leaf values by dotted path (`augment.sigma`, `list.0`), for showing what changed.
    public func flattened(prefix: String = "") -> [String: ParamValue] {
        switch self {
        case .object(let members) where !members.isEmpty:
            var out: [String: ParamValue] = [:]
            for (key, value) in members {
                out.merge(value.flattened(prefix: prefix.isEmpty ? key : prefix + "." + key)) { a, _ in a }
            }
            return out
        default:
            return [prefix: self]
        }
    }

    /// The members of an object (empty for anything else).
    public var members: [String: ParamValue] {
        if case .object(let m) = self { return m }
        return [:]
    }

    /// A short type name for error messages.
    public var typeName: String {
        switch self {
        case .null: return "null"
        case .bool: return "a boolean"
        case .int: return "an integer"
        case .double: return "a number"
        case .string: return "a string"
        case .array: return "a list"
        case .object: return "a mapping"
        }
    }
}

extension ParamValue: CustomStringConvertible {
    /// Compact JSON-like text (`60`, `0.0001`, `"adam"`, `[1, 2]`).
    public var description: String {
        switch self {
        case .null: return "null"
        case .bool(let b): return String(b)
        case .int(let i): return String(i)
        case .double(let d): return d.rounded() == d && abs(d) < 1e15 ? String(Int(d)) : String(d)
        case .string(let s): return "\"\(s)\""
        case .array(let items): return "[" + items.map(\.description).joined(separator: ", ") + "]"
        case .object(let m):
            return "{" + m.keys.sorted().map { "\($0): \(m[$0]!)" }.joined(separator: ", ") + "}"
        }
    }
}

extension ParamValue: Codable {
    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { self = .null }
        else if let b = try? container.decode(Bool.self) { self = .bool(b) }
        else if let i = try? container.decode(Int.self) { self = .int(i) }
        else if let d = try? container.decode(Double.self) { self = .double(d) }
        else if let s = try? container.decode(String.self) { self = .string(s) }
        else if let a = try? container.decode([ParamValue].self) { self = .array(a) }
        else { self = .object(try container.decode([String: ParamValue].self)) }
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let b): try container.encode(b)
        case .int(let i): try container.encode(i)
        case .double(let d): try container.encode(d)
        case .string(let s): try container.encode(s)
        case .array(let a): try container.encode(a)
        case .object(let o): try container.encode(o)
        }
    }
}

extension ParamValue {
    /// Encodes any `Encodable` value (a params struct) to a value tree.
    public static func encoding<T: Encodable>(_ value: T) throws -> ParamValue {
        let data = try JSONEncoder().encode(value)
        return try JSONDecoder().decode(ParamValue.self, from: data)
    }

    /// Decodes a value tree into `T` (a params struct).
    public func decode<T: Decodable>(_ type: T.Type) throws -> T {
        let data = try JSONEncoder().encode(self)
        return try JSONDecoder().decode(T.self, from: data)
    }

    /// `self` with `other`'s members laid over it, recursively for mappings.
    public func overlaid(with other: ParamValue) -> ParamValue {
        guard case .object(var base) = self, case .object(let top) = other else { return other }
        for (key, value) in top {
            base[key] = base[key].map { $0.overlaid(with: value) } ?? value
        }
        return .object(base)
    }
}

extension ParamValue {
    /// The first NaN or infinity in this value (YAML's `.nan`, `.inf`), if any:
    /// a parameter must be a finite number.
    var firstNonFinite: Double? {
        switch self {
        case .double(let d): return d.isFinite ? nil : d
        case .array(let items): return items.lazy.compactMap(\.firstNonFinite).first
        case .object(let members): return members.keys.sorted().lazy.compactMap { members[$0]!.firstNonFinite }.first
        default: return nil
        }
    }
}
