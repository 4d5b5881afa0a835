import Foundation

/// The one JSON configuration of every `--json` output: snake_case keys, sorted, one line per
/// object (a script can read a stream of them line by line), slashes unescaped.
///
/// Why one: scripts that read several commands' output should not have to know which command
/// spells `original_fps` as `originalFPS`. Library types are encoded through the same encoder, so
/// their camelCase properties come out snake_case too; non-finite numbers are the strings `inf`,
/// `-inf` and `nan` (JSON has no such numbers), except where a command maps them to null itself.
enum JSONOutput {
    /// A fresh encoder with the CLI's configuration (JSONEncoder is not Sendable: one per use).
    static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return encoder
    }

    /// `value` as one line of JSON.
    static func string<T: Encodable>(_ value: T) throws -> String {
        String(decoding: try encoder().encode(value), as: UTF8.self)
    }

    /// A dictionary or array built from plain values (String, numbers, Bool, NSNull, arrays and
    /// dictionaries of them) as one line of JSON, through the same encoder.
    static func string(object: Any) -> String {
        (try? string(JSONValue(object))) ?? "{}"
    }

    /// Prints `object` (see `string(object:)`) on stdout.
    static func print(object: Any) {
        Swift.print(string(object: object))
    }

    /// Prints an Encodable value on stdout as one line of JSON.
    static func print<T: Encodable>(_ value: T) throws {
        Swift.print(try string(value))
    }
}

/// A JSON tree built from the plain values commands assemble, so that ad-hoc summaries go through
/// the same encoder (and key strategy) as library types.
enum JSONValue: Encodable {
    case null
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    /// Converts a value built of String, Bool, integers, Double/Float, NSNull, Optional, arrays and
    /// String-keyed dictionaries; anything else is its description (never silently dropped).
    init(_ any: Any) {
        switch any {
        case let v as JSONValue: self = v
        case is NSNull: self = .null
        case let v as Bool: self = .bool(v)
        case let v as Int: self = .int(v)
        case let v as Int64: self = .int(Int(v))
        case let v as Int32: self = .int(Int(v))
        case let v as UInt64: self = .int(Int(clamping: v))
        case let v as Double: self = .double(v)
        case let v as Float: self = .double(Double(v))
        case let v as String: self = .string(v)
        case let v as [String: Any]: self = .object(v.mapValues(JSONValue.init))
        case let v as [Any]: self = .array(v.map(JSONValue.init))
        default:
            let mirror = Mirror(reflecting: any)
            if mirror.displayStyle == .optional {
                self = mirror.children.first.map { JSONValue($0.value) } ?? .null
            } else {
                self = .string(String(describing: any))
            }
        }
    }

    private struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    func encode(to encoder: any Encoder) throws {
        switch self {
        case .null: var c = encoder.singleValueContainer(); try c.encodeNil()
        case .bool(let v): var c = encoder.singleValueContainer(); try c.encode(v)
        case .int(let v): var c = encoder.singleValueContainer(); try c.encode(v)
        case .double(let v): var c = encoder.singleValueContainer(); try c.encode(v)
        case .string(let v): var c = encoder.singleValueContainer(); try c.encode(v)
        case .array(let v): var c = encoder.unkeyedContainer(); for e in v { try c.encode(e) }
        case .object(let v):
            var c = encoder.container(keyedBy: Key.self)
            for (k, e) in v { try c.encode(e, forKey: Key(stringValue: k)) }
        }
    }
}
