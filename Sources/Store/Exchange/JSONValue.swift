import Foundation

/// A JSON value of any shape: the registry's free-form mappings (`preprocessing`) stored as
/// written.
public indirect enum JSONValue: Codable, Sendable, Hashable, CustomStringConvertible {
    /// JSON `null`; a YAML null loads as it too.
    case null
    /// `true` or `false`.
    case bool(Bool)
    /// Any number; integers are held as Double, as JSON itself does not tell them apart.
    case number(Double)
    /// A string.
    case string(String)
    /// A list, in its order.
    case array([JSONValue])
    /// A mapping from keys to values.
    case object([String: JSONValue])

    /// A value as Yams loads it (mappings, sequences, strings, numbers, booleans, null).
    init?(yaml value: Any?) {
        switch value {
        case nil, is NSNull: self = .null
        case let b as Bool: self = .bool(b)
        case let i as Int: self = .number(Double(i))
        case let d as Double: self = .number(d)
        case let s as String: self = .string(s)
        case let a as [Any]:
            var out: [JSONValue] = []
            for item in a { guard let v = JSONValue(yaml: item) else { return nil }; out.append(v) }
            self = .array(out)
        case let m as [String: Any]:
            var out: [String: JSONValue] = [:]
            for (k, item) in m { guard let v = JSONValue(yaml: item) else { return nil }; out[k] = v }
            self = .object(out)
        default:
            if let v = value { self = .string("\(v)") } else { self = .null }
        }
    }

    /// Decodes any JSON value (booleans before numbers, so `true` stays a boolean).
    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let d = try? c.decode(Double.self) { self = .number(d) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let a = try? c.decode([JSONValue].self) { self = .array(a) }
        else { self = .object(try c.decode([String: JSONValue].self)) }
    }

    /// Encodes the value as it was read.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .null: try c.encodeNil()
        case .bool(let b): try c.encode(b)
        case .number(let d): try c.encode(d)
        case .string(let s): try c.encode(s)
        case .array(let a): try c.encode(a)
        case .object(let o): try c.encode(o)
        }
    }

    /// Sorted-key JSON text, for reports and errors.
    public var description: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(self)).map { String(decoding: $0, as: UTF8.self) } ?? "?"
    }
}
