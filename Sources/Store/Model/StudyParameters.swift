import Foundation

/// One labelled setting of a study that only some teachers or sources have (the analytic
/// teacher's κ, its working space, a remote teacher's endpoint): label and value as words, so
/// the report shows them as written and never as a Swift type description.
public struct StudySetting: Codable, Sendable, Hashable {
    /// Human label, e.g. `kappa`, `working space`.
    public var label: String
    /// The value as shown, e.g. `4`, `PCA, 64 components`.
    public var value: String

    /// A setting shown as `label: value`.
    public init(label: String, value: String) { self.label = label; self.value = value }
}

/// What a study is, typed: the teacher, the schedule, the guidance, the scoring, and what was
/// probed. Every producer (the probe, `import videos`, `measure sync --study`, `import csv`,
/// `import registry`, the synthetic study) fills what it knows and leaves the rest `nil`:
/// `nil` means unknown, and a reader must say so rather than assume a value.
///
/// Store owns its encoding: the whole value is `runs.parameters_json`, and the fields queries
/// need are real columns of `runs` (schema v2). The JSON keys are the snake_case keys the v1
/// `config_json` used, so a v1 study's settings read back with the same names.
public struct StudyParameters: Codable, Sendable, Hashable {
    /// One side of a registry comparison: which arm of which study stands for a model.
    public struct Member: Codable, Sendable, Hashable {
        /// The study (`runs.name`) holding the arm.
        public var study: String
        /// The arm's canonical label.
        public var arm: String
        /// A comparison member.
        public init(study: String, arm: String) { self.study = study; self.arm = arm }
    }

    // MARK: The teacher

    /// `analytic`, `remote`, `imported`, `scored`, `synthetic`; nil when unknown.
    public var teacherKind: String?
    /// Which teacher exactly (bank and κ, endpoint and model version, source files).
    public var teacherIdentity: String?
    /// The model's name (`omniavatar-1.3b`, `analytic`).
    public var modelName: String?
    /// Settings only some teachers have, in order (κ, working space, precision…).
    public var teacherSettings: [StudySetting]?
    /// The teacher's frame side in pixels (analytic and remote teachers).
    public var resolution: Int?

    // MARK: The schedule

    /// Sampling steps of the teacher's schedule.
    public var numSteps: Int?
    /// The schedule's shift s in t' = s t / (1 + (s − 1) t).
    public var shift: Double?
    /// The schedule's largest time (first step).
    public var maxT: Double?
    /// The teacher's step times as imported prediction videos' `schedule.json` lists them.
    public var timeList: [Double]?

    // MARK: The guidance

    /// A one-scale teacher's own CFG scale w, in the form `cfgForm` says.
    public var guidanceScale: Double?
    /// A two-scale teacher's text CFG scale.
    public var guidanceText: Double?
    /// A two-scale teacher's audio CFG scale.
    public var guidanceAudio: Double?
    /// Where the guidance came from, in words (registry, knob word, `--guidance`).
    public var guidanceSource: String?
    /// The CFG form the scales are written in; the probe's own is `uncond`.
    public var cfgForm: CFGForm?
    /// Negative branch of CFG: `text+audio` or `audio`.
    public var dropMode: String?

    // MARK: Scoring

    /// `syncnet-v2`, `facesync-cca`.
    public var syncModel: String?
    /// SyncNet's preprocessing preset, or the preset's description for stored studies.
    public var syncPreset: String?
    /// sha256 of the LPIPS-AlexNet weights the study's LPIPS values come from.
    public var lpipsWeightsSHA256: String?
    /// Metric names the study stores.
    public var metrics: [String]?
    /// How the audio features the analytic teacher conditions on are computed, in words.
    public var audioFeatures: String?
    /// `scored_clips` when FaceSync-CCA was fitted on the very clips it scores (a circular score).
    public var faceSyncFit: String?

    // MARK: What was probed

    /// The probed step indices j.
    public var probedSteps: [Int]?
    /// The seeds.
    public var seeds: [Int]?
    /// The arms' canonical labels.
    public var arms: [String]?
    /// The probe clips (dubbed ones with the clip their audio is from).
    public var clips: [String]?

    // MARK: Imported studies

    /// Where imported numbers came from: `long-csv` or `registry`.
    public var source: String?
    /// A registry's metric rules: metric → `face_value`, `normalized_only`, `diagnostic_only`.
    public var metricRules: [String: String]?
    /// The registry's per-model `preprocessing` mapping, as written.
    public var preprocessing: JSONValue?
    /// `{arm label: baseline arm label}`: each experiment's per-step normaliser.
    public var baseline: [String: String]?
    /// `{registry id: arm label}`, so every id is recoverable from the study.
    public var experiments: [String: String]?
    /// Arm labels of the registry's `results_only: true` experiments.
    public var resultsOnly: [String]?
    /// `{comparison: {model: member}}`: the registry's cross-model pairs.
    public var comparisons: [String: [String: Member]]?
    /// The registry's `schema_version`.
    public var registrySchemaVersion: Int?

    enum CodingKeys: String, CodingKey {
        case teacherKind = "teacher_kind", teacherIdentity = "teacher_identity", modelName = "model_name"
        case teacherSettings = "teacher_settings", resolution
        case numSteps = "num_steps", shift, maxT = "max_t", timeList = "t_list"
        case guidanceScale = "guidance_scale", guidanceText = "guidance_text", guidanceAudio = "guidance_audio"
        case guidanceSource = "guidance_source", cfgForm = "cfg_form", dropMode = "drop_mode"
        case syncModel = "sync_model", syncPreset = "sync_preset", lpipsWeightsSHA256 = "lpips_weights_sha256"
        case metrics, audioFeatures = "audio_features", faceSyncFit = "facesync_fit"
        case probedSteps = "steps", seeds, arms, clips
        case source, metricRules = "metric_rules", preprocessing, baseline, experiments
        case resultsOnly = "results_only", comparisons
        case registrySchemaVersion = "registry_schema_version"
    }

    /// Parameters with everything unknown but what is given.
    public init(teacherKind: String? = nil, teacherIdentity: String? = nil, modelName: String? = nil,
                dropMode: String? = nil, syncModel: String? = nil, source: String? = nil) {
        self.teacherKind = teacherKind
        self.teacherIdentity = teacherIdentity
        self.modelName = modelName
        self.dropMode = dropMode
        self.syncModel = syncModel
        self.source = source
    }

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

    /// The sync provenance as one value, when recorded and valid.
    public var sync: SyncProvenance? {
        get { syncModel.flatMap { try? SyncProvenance(model: $0, preset: syncPreset) } }
        set { syncModel = newValue?.model; syncPreset = newValue?.preset }
    }

    /// The JSON text Store keeps in `runs.parameters_json`: sorted keys, so equal parameters are
    /// equal text.
    public func json() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(self) else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }

    /// Reads `runs.parameters_json`; nil when the text is not parameters.
    public init?(json: String) {
        guard let value = try? JSONDecoder().decode(StudyParameters.self, from: Data(json.utf8)) else { return nil }
        self = value
    }

    /// Names of the fields in which `other` differs from `self` (empty when equal).
    public func differences(from other: StudyParameters) -> [String] {
        guard self != other else { return [] }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        func object(_ p: StudyParameters) -> [String: Any] {
            ((try? encoder.encode(p)).flatMap { try? JSONSerialization.jsonObject(with: $0) } as? [String: Any]) ?? [:]
        }
        let a = object(self), b = object(other)
        return Set(a.keys).union(b.keys).sorted().filter { key in
            switch (a[key], b[key]) {
            case (nil, nil): return false
            case (let x?, let y?): return !NSDictionary(dictionary: ["v": x]).isEqual(to: ["v": y])
            default: return true
            }
        }.map { "parameter \($0)" }
    }

    /// `self` without the values `other` does not record: what a study created before a field
    /// existed can be compared on (its unrecorded fields are unknown, not different).
    public func restricted(toKnownIn other: StudyParameters) -> StudyParameters {
        let encoder = JSONEncoder()
        guard let mine = (try? encoder.encode(self)).flatMap({ try? JSONSerialization.jsonObject(with: $0) }) as? [String: Any],
              let theirs = (try? encoder.encode(other)).flatMap({ try? JSONSerialization.jsonObject(with: $0) }) as? [String: Any],
              let data = try? JSONSerialization.data(withJSONObject: mine.filter { theirs[$0.key] != nil }),
              let out = try? JSONDecoder().decode(StudyParameters.self, from: data) else { return self }
        return out
    }

    /// `self` with `other`'s known values added; the names of keys (or map entries) the two
    /// disagree on. How a second import into the same study merges.
    public func merged(with other: StudyParameters) -> (StudyParameters, conflicts: [String]) {
        var out = self
        var conflicts: [String] = []
        func scalar<T: Equatable>(_ key: String, _ path: WritableKeyPath<StudyParameters, T?>) {
            guard let theirs = other[keyPath: path] else { return }
            if let ours = out[keyPath: path] {
                if ours != theirs { conflicts.append("\(key) \(ours) vs \(theirs)") }
            } else {
                out[keyPath: path] = theirs
            }
        }
        func map<V: Equatable>(_ key: String, _ path: WritableKeyPath<StudyParameters, [String: V]?>) {
            guard let theirs = other[keyPath: path] else { return }
            var ours = out[keyPath: path] ?? [:]
            for (k, v) in theirs {
                if let mine = ours[k], mine != v { conflicts.append("\(key).\(k)") } else { ours[k] = v }
            }
            out[keyPath: path] = ours
        }
        scalar("source", \.source)
        scalar("guidance_scale", \.guidanceScale)
        scalar("guidance_text", \.guidanceText)
        scalar("guidance_audio", \.guidanceAudio)
        if out.guidanceSource == nil { out.guidanceSource = other.guidanceSource }
        scalar("cfg_form", \.cfgForm)
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

extension StudyParameters {
    /// The parameters of a v1 study: its `runs` columns and its free-form `config_json`, read
    /// leniently (a key of an unexpected type is unknown, never an error; keys this type has no
    /// field for become labelled settings, so nothing recorded is lost). Schema v2's migration
    /// and read-only handles on v1 files both read v1 rows with this.
    static func legacy(configJSON: String, teacherKind: String, teacherIdentity: String, modelName: String,
                       dropMode: String, syncModel: String) -> StudyParameters {
        let object = (try? JSONSerialization.jsonObject(with: Data(configJSON.utf8))) as? [String: Any] ?? [:]
        func known(_ text: String) -> String? { text == "unknown" || text.isEmpty ? nil : text }
        func number(_ key: String) -> Double? {
            guard let n = object[key] as? NSNumber, String(cString: n.objCType) != "c" else { return nil }
            return n.doubleValue
        }
        func integer(_ key: String) -> Int? {
            guard let v = number(key), v.rounded() == v, abs(v) < 1e15 else { return nil }
            return Int(v)
        }
        func integers(_ key: String) -> [Int]? {
            guard let a = object[key] as? [Any] else { return nil }
            let out = a.compactMap { ($0 as? NSNumber).flatMap { n -> Int? in
                String(cString: n.objCType) == "c" || n.doubleValue.rounded() != n.doubleValue ? nil : n.intValue } }
            return out.count == a.count ? out : nil
        }
        func strings(_ key: String) -> [String]? {
            guard let a = object[key] as? [Any] else { return nil }
            let out = a.compactMap { $0 as? String }
            return out.count == a.count ? out : nil
        }
        func stringMap(_ key: String) -> [String: String]? {
            guard let m = object[key] as? [String: Any] else { return nil }
            return m.mapValues { ($0 as? String) ?? "\($0)" }
        }
        func text(_ value: Any) -> String {
            if let s = value as? String { return s }
            if let n = value as? NSNumber { return n.stringValue }
            if let d = try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys]) {
                return String(decoding: d, as: UTF8.self)
            }
            return "\(value)"
        }
        var p = StudyParameters(teacherKind: known(teacherKind), teacherIdentity: known(teacherIdentity),
                                modelName: known(modelName), dropMode: known(dropMode).map(dropModeSpelling),
                                syncModel: known(syncModel) ?? (object["sync_model"] as? String))
        p.numSteps = integer("num_steps")
        p.shift = number("shift")
        p.maxT = number("max_t")
        p.guidanceScale = number("guidance_scale")
        p.guidanceText = number("guidance_text")
        p.guidanceAudio = number("guidance_audio")
        p.guidanceSource = object["guidance_source"] as? String
        p.syncPreset = object["sync_preset"].flatMap { $0 is NSNull ? nil : text($0) }
        p.lpipsWeightsSHA256 = object["lpips_weights_sha256"] as? String
        p.metrics = strings("metrics")
        p.audioFeatures = object["audio_features"] as? String
        p.faceSyncFit = object["facesync_fit"] as? String
        if let a = object["t_list"] as? [Any] {
            let times = a.compactMap { ($0 as? NSNumber)?.doubleValue }
            if times.count == a.count { p.timeList = times }
        }
        p.probedSteps = integers("steps")
        p.seeds = integers("seeds")
        p.arms = strings("arms")
        p.clips = strings("clips")
        p.resolution = integer("resolution")
        p.source = object["source"] as? String
        p.metricRules = stringMap("metric_rules")
        if let v = object["preprocessing"], let data = try? JSONSerialization.data(withJSONObject: ["v": v]) {
            p.preprocessing = (try? JSONDecoder().decode([String: JSONValue].self, from: data))?["v"]
        }
        p.baseline = stringMap("baseline")
        p.experiments = stringMap("experiments")
        p.resultsOnly = strings("results_only")
        if let c = object["comparisons"], let data = try? JSONSerialization.data(withJSONObject: c) {
            p.comparisons = try? JSONDecoder().decode([String: [String: Member]].self, from: data)
        }
        p.registrySchemaVersion = integer("registry_schema_version")
        // The v1 probe recorded the teacher as its description; kept as the identity when the
        // column said nothing more.
        if p.teacherIdentity == nil, let t = object["teacher"] as? String { p.teacherIdentity = t }
        // Keys with no field, or with a value of a type the field cannot hold (the v1 synthetic
        // study's `"steps": 50`), are kept as written.
        let held = Set(((try? JSONSerialization.jsonObject(with: Data(p.json().utf8))) as? [String: Any] ?? [:]).keys)
        let rest = object.keys.filter { $0 != "teacher" && !held.contains($0) && !(object[$0] is NSNull) }.sorted()
        if !rest.isEmpty { p.teacherSettings = rest.map { StudySetting(label: $0, value: text(object[$0]!)) } }
        return p
    }
}

extension StudyParameters {
    /// The one spelling of a drop mode: `audio` or `text+audio` (the probe and registries of
    /// earlier versions wrote `audio-only`/`audio_only`, read as `audio` so old studies resume
    /// and compare side by side with new ones). Other values are kept as written.
    public static func dropModeSpelling(_ text: String) -> String {
        text == "audio-only" || text == "audio_only" ? "audio" : text
    }
}
