import Foundation
import Measurement
import Yams

/// A YAML mapping read strictly: every key must be known, every value of the expected type.
/// Errors name the file and the dotted key path (`teacher.kappa`, `clips[2].mask`) and the line.
struct StrictYAML {
    let file: String
    let path: String
    let pairs: [(key: String, value: Node)]

    /// Parses `text` and requires a mapping at the root.
    static func root(text: String, file: String) throws(ProbeError) -> StrictYAML {
        let node: Node?
        do { node = try Yams.compose(yaml: text) } catch {
            // Yams' description quotes the offending line and a caret under it: keep the first line.
            throw .unreadable(file: file, reason: "not valid YAML: \("\(error)".split(separator: "\n").first.map(String.init) ?? "")")
        }
        guard let node else { throw .unreadable(file: file, reason: "empty YAML document") }
        return try StrictYAML(node: node, file: file, path: "")
    }

    /// Reads a file and parses it.
    static func load(_ url: URL) throws(ProbeError) -> StrictYAML {
        try root(text: try text(of: url), file: url.path)
    }

    /// The largest configuration file read (a study, a manifest): far above any real one.
    static let maxFileBytes = 16 << 20

    /// A configuration file's text. Only regular files up to ``maxFileBytes``: a path that names
    /// `/dev/zero`, a FIFO or a video by mistake would otherwise be read without end.
    static func text(of url: URL) throws(ProbeError) -> String {
        let attributes = try? FileManager.default.attributesOfItem(atPath: url.path)
        guard let attributes else { throw .unreadable(file: url.path, reason: "cannot read: no such file") }
        guard attributes[.type] as? FileAttributeType == .typeRegular else {
            throw .unreadable(file: url.path, reason: "not a regular file")
        }
        if let size = attributes[.size] as? Int, size > maxFileBytes {
            throw .unreadable(file: url.path, reason: "\(size) bytes, more than a configuration file's \(maxFileBytes)")
        }
        do { return try String(contentsOf: url, encoding: .utf8) } catch {
            throw .unreadable(file: url.path, reason: "cannot read: \(error.localizedDescription)")
        }
    }

    init(node: Node, file: String, path: String) throws(ProbeError) {
        self.file = file
        self.path = path
        guard case .mapping(let m) = node else {
            throw .invalidValue(file: file, key: path.isEmpty ? "(root)" : path, problem: "expected a mapping\(StrictYAML.at(node))")
        }
        var seen = Set<String>()
        var out: [(String, Node)] = []
        for (k, v) in m {
            guard case .scalar(let s) = k else { throw .invalidValue(file: file, key: path, problem: "non-scalar key\(StrictYAML.at(k))") }
            guard seen.insert(s.string).inserted else {
                throw .invalidValue(file: file, key: StrictYAML.join(path, s.string), problem: "duplicate key\(StrictYAML.at(k))")
            }
            out.append((s.string, v))
        }
        pairs = out
    }

    static func join(_ path: String, _ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }
    static func at(_ node: Node) -> String { node.mark.map { " (line \($0.line))" } ?? "" }
    func key(_ k: String) -> String { StrictYAML.join(path, k) }

    /// Refuses any key outside `known`, naming the first unknown one.
    func allowOnly(_ known: [String]) throws(ProbeError) {
        for (k, _) in pairs where !known.contains(k) {
            throw .unknownKey(file: file, key: key(k), known: known)
        }
    }

    func node(_ k: String) -> Node? { pairs.first { $0.key == k }?.value }
    func has(_ k: String) -> Bool { node(k) != nil }

    func required(_ k: String) throws(ProbeError) -> Node {
        guard let n = node(k) else { throw .missingKey(file: file, key: key(k)) }
        return n
    }

    func scalar(_ n: Node, _ k: String, _ what: String) throws(ProbeError) -> String {
        guard case .scalar(let s) = n else { throw .invalidValue(file: file, key: k, problem: "expected \(what)\(StrictYAML.at(n))") }
        return s.string
    }

    /// A string value; an explicit YAML null (`key: null`, `key: ~`, `key:`) reads as absent.
    func string(_ k: String) throws(ProbeError) -> String? {
        guard let n = node(k) else { return nil }
        if case .scalar(let s) = n, s.style == .plain, ["", "~", "null", "Null", "NULL"].contains(s.string) { return nil }
        return try scalar(n, key(k), "a string")
    }

    func double(_ k: String) throws(ProbeError) -> Double? {
        guard let n = node(k) else { return nil }
        let s = try scalar(n, key(k), "a number")
        guard let v = Double(s.trimmingCharacters(in: .whitespaces)), v.isFinite else {
            throw .invalidValue(file: file, key: key(k), problem: "expected a number, got '\(s)'\(StrictYAML.at(n))")
        }
        return v
    }

    func int(_ k: String) throws(ProbeError) -> Int? {
        guard let n = node(k) else { return nil }
        let s = try scalar(n, key(k), "an integer")
        guard let v = Int(s.trimmingCharacters(in: .whitespaces)) else {
            throw .invalidValue(file: file, key: key(k), problem: "expected an integer, got '\(s)'\(StrictYAML.at(n))")
        }
        return v
    }

    func bool(_ k: String) throws(ProbeError) -> Bool? {
        guard let n = node(k) else { return nil }
        let s = try scalar(n, key(k), "true or false")
        switch s.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default: throw .invalidValue(file: file, key: key(k), problem: "expected true or false, got '\(s)'\(StrictYAML.at(n))")
        }
    }

    func sequence(_ k: String) throws(ProbeError) -> [Node]? {
        guard let n = node(k) else { return nil }
        guard case .sequence(let s) = n else { throw .invalidValue(file: file, key: key(k), problem: "expected a list\(StrictYAML.at(n))") }
        return Array(s)
    }

    func strings(_ k: String) throws(ProbeError) -> [String]? {
        guard let items = try sequence(k) else { return nil }
        var out: [String] = []
        for (i, n) in items.enumerated() { out.append(try scalar(n, "\(key(k))[\(i)]", "a string")) }
        return out
    }

    func ints(_ k: String) throws(ProbeError) -> [Int]? {
        guard let items = try sequence(k) else { return nil }
        var out: [Int] = []
        for (i, n) in items.enumerated() {
            let s = try scalar(n, "\(key(k))[\(i)]", "an integer")
            guard let v = Int(s) else { throw .invalidValue(file: file, key: "\(key(k))[\(i)]", problem: "expected an integer, got '\(s)'\(StrictYAML.at(n))") }
            out.append(v)
        }
        return out
    }

    func map(_ k: String) throws(ProbeError) -> StrictYAML? {
        guard let n = node(k) else { return nil }
        return try StrictYAML(node: n, file: file, path: key(k))
    }

    /// A closed set of string values, e.g. `kind: analytic|remote|imported`.
    func choice<T: RawRepresentable>(_ k: String, _ type: T.Type) throws(ProbeError) -> T? where T.RawValue == String, T: CaseIterable {
        guard let s = try string(k) else { return nil }
        guard let v = T(rawValue: s) else {
            throw .invalidValue(file: file, key: key(k), problem: "'\(s)' is not one of \(T.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return v
    }
}
