import Yams

/// Python assignment lines for a YAML config: `prefix.key.sub = value` for every leaf, in the
/// file's order, so a config pasted into a Python training config keeps every key and nesting
/// the YAML has (lists stay lists, a mapping inside a list becomes `dict(…)`).
public enum PythonConfig {
    /// - parameter yaml: a YAML document whose root is a mapping; its leading `#` lines are kept.
    /// - throws: ``ReportError/writeFailed(file:problem:)`` naming `file` when the text is not a
    ///   YAML mapping.
    public static func assignments(yaml text: String, prefix: String, file: String) throws(ReportError) -> String {
        let node: Node?
        do { node = try Yams.compose(yaml: text) } catch {
            throw .writeFailed(file: file, problem: "not YAML: \(error)")
        }
        guard let root = node?.mapping else { throw .writeFailed(file: file, problem: "the YAML root is not a mapping") }
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).prefix { $0.hasPrefix("#") }.map(String.init)
        func walk(_ map: Node.Mapping, _ path: String) throws(ReportError) {
            for (k, v) in map {
                guard let key = k.string else { throw .writeFailed(file: file, problem: "a key under \(path) is not a string") }
                if let inner = v.mapping { try walk(inner, path + "." + key) } else { lines.append("\(path).\(key) = \(try literal(v))") }
            }
        }
        func literal(_ n: Node) throws(ReportError) -> String {
            switch n {
            case .scalar(let s):
                switch Tag.Name(rawValue: n.tag.description) {
                case .bool: return n.bool == true ? "True" : "False"
                case .null: return "None"
                case .int: return s.string
                case .float:
                    guard let x = n.float else { return ConfigLiteral.quoted(s.string) }
                    return x.isFinite ? s.string : (x.isNaN ? "float(\"nan\")" : (x > 0 ? "float(\"inf\")" : "float(\"-inf\")"))
                default: return ConfigLiteral.quoted(s.string)
                }
            case .sequence(let seq):
                var items: [String] = []
                for item in seq { items.append(try literal(item)) }
                return "[" + items.joined(separator: ", ") + "]"
            case .mapping(let map):
                var items: [String] = []
                for (k, v) in map { items.append("\(k.string ?? "")=\(try literal(v))") }
                return "dict(" + items.joined(separator: ", ") + ")"
            case .alias:
                throw .writeFailed(file: file, problem: "YAML aliases are not written as Python")
            }
        }
        try walk(root, prefix)
        return lines.joined(separator: "\n") + "\n"
    }
}
