import Foundation

/// The `config_json` (`runs.config_json`) of a study made by `trajprobe import csv` or `import
/// registry`: what the report needs to read imported numbers the way their authors did, so it
/// assumes nothing (no default CFG scale, no unknown sync model when the user said which).
///
/// Keys, all snake_case, absent when not known:
/// - `source`: `long-csv` (import csv) or `registry` (import registry).
/// - `guidance_scale`: a one-scale teacher's CFG scale w (uncond form), from the registry's
///   `guidance: {cfg: w}` of the model's CFG experiments, a knob word (`cfg45`, `--knob on=4.5`)
///   or `import csv --guidance`.
/// - `guidance_text`, `guidance_audio`: a two-scale teacher's (text, audio) pair instead.
/// - `guidance_source`: where that scale came from, in words (for the report's provenance).
/// - `sync_model`, `sync_preset`: the sync model (`syncnet-v2`, `facesync-cca`) and SyncNet
///   preset (`syncnet_python`, `lipforcing-reward`) that produced Sync-C/D; the model is also in
///   `runs.sync_model`.
/// - `metric_rules`: `{metric: rule}` as the registry writes it: `face_value` (compared as is),
///   `normalized_only` (compared only after per-step normalisation against the experiment's
///   baseline arm), `diagnostic_only` (shown, never compared).
/// - `preprocessing`: the registry's per-model `preprocessing` mapping, as written.
/// - `baseline`: `{arm label: baseline arm label}`: each experiment's per-step normaliser.
/// - `experiments`: `{registry id: arm label}`, so every id is recoverable from the study.
/// - `results_only`: arm labels of the registry's `results_only: true` experiments.
/// - `comparisons`: `{comparison name: {model: {"study": study name, "arm": arm label}}}`, the
///   registry's cross-model pairs (every study of one registry carries them all).
/// - `registry_schema_version`: the registry's `schema_version`.
///
/// Importing again into the same study merges: keys and map entries it lacks are added, and a
/// key or entry stored with another value is refused (`StoreError.configMismatch`).
public struct ImportedSettings: Codable, Sendable, Equatable {
    /// One side of a registry comparison.
    public struct Member: Codable, Sendable, Hashable {
        public var study: String
        public var arm: String
        public init(study: String, arm: String) { self.study = study; self.arm = arm }
    }

    public var source: String
    public var guidanceScale: Double?
    public var guidanceText: Double?
    public var guidanceAudio: Double?
    public var guidanceSource: String?
    public var syncModel: String?
    public var syncPreset: String?
    public var metricRules: [String: String]?
    public var preprocessing: JSONValue?
    public var baseline: [String: String]?
    public var experiments: [String: String]?
    public var resultsOnly: [String]?
    public var comparisons: [String: [String: Member]]?
    public var registrySchemaVersion: Int?

    enum CodingKeys: String, CodingKey {
        case source
        case guidanceScale = "guidance_scale", guidanceText = "guidance_text", guidanceAudio = "guidance_audio"
        case guidanceSource = "guidance_source"
        case syncModel = "sync_model", syncPreset = "sync_preset"
        case metricRules = "metric_rules", preprocessing, baseline, experiments
        case resultsOnly = "results_only", comparisons
        case registrySchemaVersion = "registry_schema_version"
    }

    public init(source: String) { self.source = source }

    /// The teacher's guidance as one value, when recorded.
    public var guidance: GuidanceValue? {
        get {
            if let w = guidanceScale { return .single(w) }
            if let t = guidanceText, let a = guidanceAudio { return .pair(text: t, audio: a) }
            return nil
        }
        set {
            guidanceScale = nil; guidanceText = nil; guidanceAudio = nil
            switch newValue {
            case .single(let w): guidanceScale = w
            case .pair(let t, let a): guidanceText = t; guidanceAudio = a
            case nil: break
            }
        }
    }

    /// The sync provenance as one value, when recorded.
    public var sync: SyncProvenance? {
        get { syncModel.flatMap { try? SyncProvenance(model: $0, preset: syncPreset) } }
        set { syncModel = newValue?.model; syncPreset = newValue?.preset }
    }

    /// The JSON text stored in `runs.config_json`: sorted keys, so equal settings are equal text.
    public func json() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(self) else { return "{\"source\":\"\(source)\"}" }
        return String(decoding: data, as: UTF8.self)
    }

    /// Reads stored settings; nil when the text is not an imported study's settings.
    public init?(json: String) {
        guard let value = try? JSONDecoder().decode(ImportedSettings.self, from: Data(json.utf8)) else { return nil }
        self = value
    }

    /// `self` with `other`'s keys added; the names of keys (or map entries) the two disagree on.
    func merged(with other: ImportedSettings) -> (ImportedSettings, conflicts: [String]) {
        var out = self
        var conflicts: [String] = []
        func scalar<T: Equatable>(_ key: String, _ path: WritableKeyPath<ImportedSettings, T?>) {
            guard let theirs = other[keyPath: path] else { return }
            if let ours = out[keyPath: path] {
                if ours != theirs { conflicts.append("\(key) \(ours) vs \(theirs)") }
            } else {
                out[keyPath: path] = theirs
            }
        }
        func map<V: Equatable>(_ key: String, _ path: WritableKeyPath<ImportedSettings, [String: V]?>) {
            guard let theirs = other[keyPath: path] else { return }
            var ours = out[keyPath: path] ?? [:]
            for (k, v) in theirs {
                if let mine = ours[k], mine != v { conflicts.append("\(key).\(k)") } else { ours[k] = v }
            }
            out[keyPath: path] = ours
        }
        if source != other.source { conflicts.append("source \(source) vs \(other.source)") }
        scalar("guidance_scale", \.guidanceScale)
        scalar("guidance_text", \.guidanceText)
        scalar("guidance_audio", \.guidanceAudio)
        if out.guidanceSource == nil { out.guidanceSource = other.guidanceSource }
        scalar("sync_model", \.syncModel)
        scalar("sync_preset", \.syncPreset)
        scalar("preprocessing", \.preprocessing)
        scalar("registry_schema_version", \.registrySchemaVersion)
        map("metric_rules", \.metricRules)
        map("baseline", \.baseline)
        map("experiments", \.experiments)
        map("comparisons", \.comparisons)
        if let theirs = other.resultsOnly { out.resultsOnly = Array(Set(out.resultsOnly ?? []).union(theirs)).sorted() }
        return (out, conflicts)
    }
}

/// A JSON value of any shape: the registry's free-form mappings (`preprocessing`) stored as
/// written.
public indirect enum JSONValue: Codable, Sendable, Hashable, CustomStringConvertible {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
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

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let d = try? c.decode(Double.self) { self = .number(d) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let a = try? c.decode([JSONValue].self) { self = .array(a) }
        else { self = .object(try c.decode([String: JSONValue].self)) }
    }

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

    public var description: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(self)).map { String(decoding: $0, as: UTF8.self) } ?? "?"
    }
}
