import Foundation
import Yams

// MARK: - Reading

/// One pass over a registry file; the mutable state of `parseRegistry`.
struct RegistryReader {
    let url: URL
    let options: RegistryImportOptions
    var notes: [String] = []

    init(url: URL, options: RegistryImportOptions) {
        self.url = url
        self.options = options
    }

    /// A knob's value as written: a number, or a word to resolve.
    enum Knob: Hashable {
        case number(Double)
        case word(String)
    }

    /// An experiment as written, before words, scales and paths are resolved.
    struct Raw {
        var id: String
        var model: String
        var family: ArmFamily
        var guidance: GuidanceValue?
        /// `guidance: [s0, s1]` of the older flat form.
        var guidancePair: (Double, Double)?
        var knobs: [String: Knob]
        var drop: String
        var declaredBaseline: Bool
        var baselineID: String?
        var resultsOnly: Bool
        var status: String?
        var csv: String
    }

    /// Per-model settings from `models:`.
    struct ModelInfo {
        var preprocessing: JSONValue?
        var guidance: GuidanceValue?
        var syncModel: String?
        var syncPreset: String?
    }

    func bad(_ problem: String) -> StoreError { .malformedRegistry(path: url.path, problem: problem) }

    /// The registry's parts other than the experiments.
    struct Top {
        var schemaVersion: Int?
        var models: [String: ModelInfo]
        var rules: [String: String]?
        var comparisons: Any?
        var sync: SyncProvenance?
    }

    mutating func read() throws -> Registry {
        let (map, list) = try load()
        let top = try readTop(map)
        let raws = try readExperiments(list)
        // Paths first: entries not yet committed drop out of everything below.
        let (csvByID, skipped) = try locateAll(raws)
        let live = raws.filter { csvByID[$0.id] != nil }
        var twoScale: [String: Bool] = [:]
        for model in Set(live.map(\.model)) {
            twoScale[model] = try scaleKind(model: model, raws: live.filter { $0.model == model }, info: top.models[model])
        }
        var arms: [String: ArmSpec] = [:]
        var pendingScale: [Raw] = []   // scheduled_cfg entries waiting for their study's scale
        for r in live {
            let (spec, needsScale) = try arm(r, twoScale: twoScale[r.model] ?? false)
            arms[r.id] = spec
            if needsScale { pendingScale.append(r) }
        }
        var studyOrder: [String] = []
        for r in live where !studyOrder.contains(Self.study(r)) { studyOrder.append(Self.study(r)) }
        let scales = studyScales(studyOrder, live: live, arms: arms, twoScale: twoScale, models: top.models)
        for r in pendingScale {
            guard let (g, source) = scales[Self.study(r)] else {
                throw bad("experiment '\(r.id)': scheduled_cfg gives only tau and the CFG scale of study '\(Self.study(r))' is not known: add guidance: to it")
            }
            switch g {
            case .single(let w): arms[r.id]!.knobs["w"] = w
            case .pair(let t, let a): arms[r.id]!.knobs["st"] = t; arms[r.id]!.knobs["sa"] = a
            }
            notes.append("experiment '\(r.id)': scheduled_cfg with only tau takes the CFG scale \(g) of study '\(Self.study(r))' (\(source)) → '\(arms[r.id]!.label)'")
        }
        let baselines = try relateBaselines(live, arms: arms)
        let comparisons = try readComparisons(top.comparisons, raws: raws, live: live, arms: arms)

        var studies: [RegistryStudy] = []
        for name in studyOrder {
            let members = live.filter { Self.study($0) == name }
            var settings = StudyParameters(source: "registry")
            if let (g, source) = scales[name] { settings.guidance = g; settings.guidanceSource = source }
            settings.sync = try sync(study: name, model: members[0].model, top: top)
            settings.metricRules = top.rules
            settings.preprocessing = top.models[members[0].model]?.preprocessing
            settings.baseline = baselines.byLabel[name]
            settings.experiments = Dictionary(uniqueKeysWithValues: members.map { ($0.id, arms[$0.id]!.label) })
            let resultsOnly = Set(members.filter(\.resultsOnly).map { arms[$0.id]!.label })
            settings.resultsOnly = resultsOnly.isEmpty ? nil : resultsOnly.sorted()
            settings.comparisons = comparisons.isEmpty ? nil : comparisons
            settings.registrySchemaVersion = top.schemaVersion
            studies.append(RegistryStudy(name: name, model: members[0].model, drop: members[0].drop, settings: settings))
        }
        let entries = live.map { r in
            RegistryEntry(id: r.id, model: r.model, study: Self.study(r), arm: arms[r.id]!, drop: r.drop,
                          isBaseline: baselines.flagged.contains(arms[r.id]!.label), baselineID: baselines.of[r.id],
                          resultsOnly: r.resultsOnly, status: r.status, csv: csvByID[r.id]!)
        }
        return Registry(url: url, schemaVersion: top.schemaVersion, entries: entries, skipped: skipped, studies: studies, notes: notes)
    }

    static func study(_ r: Raw) -> String { StudyStore.registryStudyName(model: r.model, drop: r.drop) }

    /// The YAML's top-level mapping (empty for the flat form) and its list of experiments.
    mutating func load() throws -> ([String: Any], [Any]) {
        let text: String
        do { text = try String(contentsOf: url, encoding: .utf8) } catch {
            throw StoreError.io(path: url.path, problem: "cannot read: \(error.localizedDescription)")
        }
        let root: Any?
        // YAML 1.2 booleans: registries write knob words such as `on`, `off`, `yes`, `no`, which
        // YAML 1.1 (Yams' default resolver) would turn into true/false.
        let resolver = try! Resolver.default.removing(.bool).appending(.bool, "^(?:true|True|TRUE|false|False|FALSE)$")
        do {
            // Checked as a node tree first: Yams' `load` force-unwraps a mapping key that is not a
            // scalar (a crash the fuzzer found), and aliases can expand a small file into an
            // exponentially large tree.
            if let node = try Yams.compose(yaml: text, resolver) {
                var budget = 1_000_000
                if let problem = StudyStore.checkTree(node, budget: &budget) { throw bad(problem) }
            }
            root = try Yams.load(yaml: text, resolver)
        } catch let error as StoreError {
            throw error
        } catch {
            throw bad("not YAML: \("\(error)".split(separator: "\n").first.map(String.init) ?? "")")
        }
        if let l = root as? [Any] { return ([:], l) }
        guard let d = root as? [String: Any], let l = d["experiments"] as? [Any] else {
            throw bad("expected a list of experiments (top level or under 'experiments:')")
        }
        let known = ["schema_version", "models", "metric_rules", "experiments", "comparisons", "sync_model", "sync_preset"]
        let ignored = d.keys.filter { !known.contains($0) }.sorted()
        if !ignored.isEmpty { notes.append("top-level keys ignored: \(ignored.joined(separator: ", "))") }
        return (d, l)
    }

    func readTop(_ top: [String: Any]) throws -> Top {
        var schemaVersion: Int?
        if let v = top["schema_version"] {
            guard let n = Self.number(v), n == n.rounded() else { throw bad("schema_version '\(v)' is not an integer") }
            schemaVersion = Int(n)
        }
        return Top(schemaVersion: schemaVersion, models: try readModels(top["models"]), rules: try readRules(top["metric_rules"]),
                   comparisons: top["comparisons"],
                   sync: try syncProvenance(model: top["sync_model"], preset: top["sync_preset"], where: "top level"))
    }

    /// Every experiment as written; ids unique, baselines naming ids of the registry.
    mutating func readExperiments(_ list: [Any]) throws -> [Raw] {
        var raws: [Raw] = []
        var ignoredKeys: [String: [String]] = [:]
        for (n, item) in list.enumerated() {
            raws.append(try readExperiment(item, index: n, ignored: &ignoredKeys))
        }
        for key in ignoredKeys.keys.sorted() {
            let ids = ignoredKeys[key]!
            notes.append("experiment key '\(key)' ignored (\(ids.prefix(3).joined(separator: ", "))\(ids.count > 3 ? " and \(ids.count - 3) more" : ""))")
        }
        var seen = Set<String>()
        for r in raws { guard seen.insert(r.id).inserted else { throw bad("id '\(r.id)' appears twice") } }
        for r in raws {
            if let b = r.baselineID, !seen.contains(b) { throw bad("experiment '\(r.id)': baseline '\(b)' is not an id of this registry") }
        }
        return raws
    }

    /// Each experiment's csv, or the reason it is skipped; a missing csv of a committed entry throws.
    mutating func locateAll(_ raws: [Raw]) throws -> ([String: URL], [RegistrySkip]) {
        let bases = searchFolders()
        var csvByID: [String: URL] = [:]
        var skipped: [RegistrySkip] = []
        var usedBases = Set<String>()
        for r in raws {
            switch locate(r.csv, in: bases) {
            case .found(let file, let base, let others):
                csvByID[r.id] = file
                if let base { usedBases.insert(base) }
                if !others.isEmpty {
                    notes.append("experiment '\(r.id)': '\(r.csv)' exists under \(([base ?? ""] + others).joined(separator: " and ")); used \(base ?? "")")
                }
                if let status = r.status, status.lowercased() != "ok" {
                    notes.append("experiment '\(r.id)': status '\(status)' but its csv exists: imported")
                }
            case .missing(let looked):
                guard let status = r.status, status.lowercased() != "ok" else {
                    throw bad("experiment '\(r.id)': csv '\(r.csv)' not found (looked in \(looked.joined(separator: ", ")))")
                }
                skipped.append(RegistrySkip(id: r.id, reason: "status '\(status)' and '\(r.csv)' does not exist (not yet committed)"))
            }
        }
        if usedBases.contains(where: { $0 != bases[0] }) {
            notes.append("csv paths resolved against \(usedBases.sorted().joined(separator: " and ")) (the YAML is in \(bases[0]))")
        }
        return (csvByID, skipped)
    }

    /// The teacher scale of each study and where it came from (see ``Registry``).
    mutating func studyScales(_ order: [String], live: [Raw], arms: [String: ArmSpec], twoScale: [String: Bool],
                              models: [String: ModelInfo]) -> [String: (GuidanceValue, String)] {
        var scales: [String: (GuidanceValue, String)] = [:]
        for name in order {
            let members = live.filter { Self.study($0) == name }
            let model = members[0].model
            if let g = models[model]?.guidance {
                scales[name] = (g, "models.\(model).guidance in the registry")
                continue
            }
            switch teacherScale(members, arms: arms, twoScale: twoScale[model] ?? false) {
            case .one(let g, let source): scales[name] = (g, source)
            case .several(let values):
                notes.append("study '\(name)': its experiments carry several CFG scales (\(values.map(\.description).joined(separator: "; "))), so its teacher scale is not recorded; add guidance: to models.\(model) to state it")
            case .none:
                if case .one(let g, let source) = teacherScale(live.filter { $0.model == model }, arms: arms, twoScale: twoScale[model] ?? false) {
                    scales[name] = (g, source + " (the model's other studies)")
                }
            }
        }
        return scales
    }

    /// Baseline relations: experiment id → baseline id, the labels flagged as baselines, and per
    /// study arm label → baseline label.
    mutating func relateBaselines(_ live: [Raw], arms: [String: ArmSpec]) throws -> (of: [String: String], flagged: Set<String>, byLabel: [String: [String: String]]) {
        var of: [String: String] = [:]
        var flagged = Set<String>()
        var byLabel: [String: [String: String]] = [:]
        for r in live {
            if r.declaredBaseline { flagged.insert(arms[r.id]!.label) }
            guard let b = r.baselineID else { continue }
            guard let target = live.first(where: { $0.id == b }) else {
                notes.append("experiment '\(r.id)': baseline '\(b)' is not imported (skipped), so it has none")
                continue
            }
            guard Self.study(target) == Self.study(r) else {
                throw bad("experiment '\(r.id)': baseline '\(b)' is in study '\(Self.study(target))', not '\(Self.study(r))'")
            }
            of[r.id] = b
            flagged.insert(arms[b]!.label)
            let label = arms[r.id]!.label, base = arms[b]!.label
            if let prior = byLabel[Self.study(r)]?[label], prior != base {
                throw bad("experiment '\(r.id)': arm '\(label)' is normalised against '\(base)' here and against '\(prior)' by another experiment")
            }
            byLabel[Self.study(r), default: [:]][label] = base
        }
        return (of, flagged, byLabel)
    }

    /// The sync provenance of a study: the model's registry keys, else the top-level ones; the
    /// flags must agree with them.
    func sync(study name: String, model: String, top: Top) throws -> SyncProvenance? {
        var sync = top.sync
        if let info = top.models[model], info.syncModel != nil || info.syncPreset != nil {
            sync = try syncProvenance(model: info.syncModel, preset: info.syncPreset, where: "models.\(model)")
        }
        guard let flag = options.sync else { return sync }
        if let file = sync, file != flag {
            throw bad("study '\(name)': the registry says sync model \(file.model)\(file.preset.map { " (\($0))" } ?? ""), the flags say \(flag.model)\(flag.preset.map { " (\($0))" } ?? "")")
        }
        return flag
    }

    // MARK: Sections

    func readModels(_ value: Any?) throws -> [String: ModelInfo] {
        guard let value else { return [:] }
        guard let map = value as? [String: Any] else { throw bad("models must be a mapping of model name → settings") }
        var out: [String: ModelInfo] = [:]
        for (name, v) in map {
            var info = ModelInfo()
            guard let m = v as? [String: Any] ?? (v is NSNull ? [:] : nil) else { throw bad("models.\(name) must be a mapping") }
            if let p = m["preprocessing"] {
                guard let json = JSONValue(yaml: p) else { throw bad("models.\(name).preprocessing cannot be stored as JSON") }
                info.preprocessing = json
            }
            if let g = m["guidance"] {
                guard let value = Self.guidance(g) else { throw bad("models.\(name).guidance must be {cfg: W} or {text: T, audio: A}") }
                info.guidance = value
            }
            info.syncModel = m["sync_model"].map { "\($0)" }
            info.syncPreset = m["sync_preset"].map { "\($0)" }
            out[name] = info
        }
        return out
    }

    func readRules(_ value: Any?) throws -> [String: String]? {
        guard let value else { return nil }
        guard let map = value as? [String: Any] else { throw bad("metric_rules must be a mapping of metric → rule") }
        var out: [String: String] = [:]
        for (metric, rule) in map {
            guard let r = rule as? String else { throw bad("metric_rules.\(metric) must be a word (face_value, normalized_only, diagnostic_only)") }
            out[metric] = r
        }
        return out
    }

    mutating func readExperiment(_ item: Any, index n: Int, ignored: inout [String: [String]]) throws -> Raw {
        guard let e = item as? [String: Any] else { throw bad("experiment #\(n + 1) is not a mapping") }
        func string(_ key: String) -> String? {
            guard let v = e[key], !(v is NSNull) else { return nil }
            if let s = v as? String { return s }
            return "\(v)"
        }
        guard let id = string("id"), !id.isEmpty else { throw bad("experiment #\(n + 1) has no id") }
        func badEntry(_ problem: String) -> StoreError { bad("experiment '\(id)': \(problem)") }
        let known = ["id", "model", "family", "guidance", "knobs", "tau", "drop", "baseline", "results_only", "status", "csv"]
        for key in e.keys where !known.contains(key) { ignored[key, default: []].append(id) }
        guard let model = string("model"), !model.isEmpty else { throw badEntry("no model") }
        guard let familyText = string("family") else { throw badEntry("no family") }
        let normalised = familyText.replacingOccurrences(of: "-", with: "_").lowercased()
        guard let family = normalised == "spatial_probe" ? .spatial : ArmFamily(rawValue: normalised), family != .scored else {
            throw badEntry("family '\(familyText)' is not one of trajectory, euler_jump, fresh_noise, scheduled_cfg, spatial_probe")
        }
        guard family != .studentSchedule else {
            throw badEntry("student_schedule arms are run by trajprobe on the teacher (probe, search), not imported: a registry's tables cannot say which student sampling produced them")
        }
        var raw = Raw(id: id, model: model, family: family, knobs: [:], drop: "unknown", declaredBaseline: false,
                      resultsOnly: false, csv: "")
        if let g = e["guidance"] {
            if let v = Self.guidance(g) {
                raw.guidance = v
            } else if let pair = g as? [Any], pair.count == 2, let s0 = Self.number(pair[0]), let s1 = Self.number(pair[1]) {
                raw.guidancePair = (s0, s1)
            } else {
                throw badEntry("guidance must be {cfg: W}, {text: T, audio: A}, a number, or [s0, s1]")
            }
        }
        if let k = e["knobs"] {
            guard let map = k as? [String: Any] else { throw badEntry("knobs must be a mapping like {step0: nocfg, teacher: cfg45} or {s0: 1, s1: 4.5}") }
            for (name, value) in map {
                if let v = Self.number(value) { raw.knobs[name] = .number(v) }
                else if let w = value as? String, !w.isEmpty { raw.knobs[name] = .word(w) }
                else { throw badEntry("knob \(name) is neither a number nor a word") }
            }
        }
        if let tau = e["tau"] {
            guard let v = Self.number(tau) else { throw badEntry("tau is not a number") }
            raw.knobs["tau"] = .number(v)
        }
        if let d = string("drop") {
            switch d.lowercased() {
            case "text+audio": raw.drop = "text+audio"
            case "audio-only", "audio", "audio_only": raw.drop = "audio"
            case "unknown": raw.drop = "unknown"
            default: throw badEntry("drop '\(d)' is not text+audio or audio-only")
            }
        }
        if let b = e["baseline"], !(b is NSNull) {
            if let flag = b as? Bool { raw.declaredBaseline = flag } else if let s = string("baseline"), !s.isEmpty { raw.baselineID = s }
        }
        if let r = e["results_only"], !(r is NSNull) {
            guard let flag = r as? Bool else { throw badEntry("results_only must be true or false") }
            raw.resultsOnly = flag
        }
        raw.status = string("status")
        guard let csv = string("csv"), !csv.isEmpty else { throw badEntry("no csv") }
        raw.csv = csv
        return raw
    }

    func readComparisons(_ value: Any?, raws: [Raw], live: [Raw], arms: [String: ArmSpec]) throws -> [String: [String: StudyParameters.Member]] {
        guard let value else { return [:] }
        guard let list = value as? [Any] else { throw bad("comparisons must be a list of {name, <model>: <id>, ...}") }
        var out: [String: [String: StudyParameters.Member]] = [:]
        for (n, item) in list.enumerated() {
            guard let c = item as? [String: Any], let name = c["name"].map({ "\($0)" }), !name.isEmpty else {
                throw bad("comparison #\(n + 1) has no name")
            }
            guard out[name] == nil else { throw bad("comparison '\(name)' appears twice") }
            var members: [String: StudyParameters.Member] = [:]
            for (model, idValue) in c where model != "name" {
                let id = "\(idValue)"
                guard let r = raws.first(where: { $0.id == id }) else { throw bad("comparison '\(name)': \(model): '\(id)' is not an id of this registry") }
                guard r.model == model else { throw bad("comparison '\(name)': \(model): '\(id)' is an experiment of model '\(r.model)'") }
                guard live.contains(where: { $0.id == id }) else {
                    throw bad("comparison '\(name)': \(model): '\(id)' is skipped (not yet committed); remove it from the comparison or commit its csv")
                }
                members[model] = StudyParameters.Member(study: Self.study(r), arm: arms[id]!.label)
            }
            guard members.count >= 2 else { throw bad("comparison '\(name)' names fewer than two experiments") }
            out[name] = members
        }
        return out
    }

    func syncProvenance(model: Any?, preset: Any?, where place: String) throws -> SyncProvenance? {
        let m = model.map { "\($0)" }, p = preset.map { "\($0)" }
        guard m != nil || p != nil else { return nil }
        do { return try SyncProvenance(model: m, preset: p) } catch { throw bad("\(place): sync_model/sync_preset \(error.description)") }
    }

    // MARK: Scales and arms

    /// Whether a model's teacher has two scales (text, audio): from its experiments' `guidance`,
    /// else from the values of its knob words.
    func scaleKind(model: String, raws: [Raw], info: ModelInfo?) throws -> Bool {
        var kinds = Set<Bool>()
        var evidence: [Bool: String] = [:]
        func saw(_ two: Bool, _ why: String) { kinds.insert(two); if evidence[two] == nil { evidence[two] = why } }
        if let g = info?.guidance { saw(g.isPair, "models.\(model).guidance") }
        for r in raws {
            if let g = r.guidance { saw(g.isPair, "experiment '\(r.id)' guidance") }
            if r.guidancePair != nil { saw(false, "experiment '\(r.id)' guidance [s0, s1]") }
            for (name, k) in r.knobs {
                if case .number = k, ["st", "sa", "s0t", "s0a", "s1t", "s1a"].contains(name) { saw(true, "experiment '\(r.id)' knob \(name)") }
                if case .number = k, ["w", "s0", "s1"].contains(name) { saw(false, "experiment '\(r.id)' knob \(name)") }
            }
        }
        if kinds.isEmpty {
            for r in raws {
                for case .word(let w) in r.knobs.values {
                    if let v = options.knobs[w] { saw(v.isPair, "--knob \(w)=\(v)") } else if Self.cfgWord(w) != nil { saw(false, "knob word '\(w)'") }
                }
            }
        }
        guard kinds.count <= 1 else {
            throw bad("model '\(model)' has one-scale guidance (\(evidence[false]!)) and two-scale guidance (\(evidence[true]!))")
        }
        return kinds.first ?? false
    }

    /// `cfgNN` → N.N (`cfg45` = 4.5, `cfg15` = 1.5, `cfg3` = 3), `cfg4.5` → 4.5.
    static func cfgWord(_ word: String) -> Double? {
        let w = word.lowercased()
        guard w.hasPrefix("cfg") else { return nil }
        let digits = String(w.dropFirst(3))
        guard !digits.isEmpty else { return nil }
        if digits.contains(".") { return Double(digits).flatMap { $0.isFinite ? $0 : nil } }
        guard digits.allSatisfy(\.isASCII), digits.allSatisfy(\.isNumber) else { return nil }
        return Double(digits.prefix(1) + (digits.count > 1 ? "." + digits.dropFirst() : ""))
    }

    /// The value of a knob word for `model`, or the one-line refusal.
    func word(_ w: String, experiment id: String, model: String, twoScale: Bool) -> Result<GuidanceValue, StoreError> {
        let flagHint = twoScale ? "--knob \(w)='text=T,audio=A'" : "--knob \(w)=W"
        if let v = options.knobs[w] {
            guard v.isPair == twoScale else {
                return .failure(bad("experiment '\(id)': --knob \(w)=\(v) is \(v.isPair ? "a (text, audio) pair" : "one scale") but model '\(model)' has \(twoScale ? "two scales (text, audio)" : "one scale"): give \(flagHint)"))
            }
            return .success(v)
        }
        if w.lowercased() == "nocfg" { return .success(twoScale ? .pair(text: 1, audio: 1) : .single(1)) }
        if let v = Self.cfgWord(w) {
            guard !twoScale else {
                return .failure(bad("experiment '\(id)': knob word '\(w)' is one scale but model '\(model)' has two (text, audio): give \(flagHint)"))
            }
            return .success(.single(v))
        }
        return .failure(bad("experiment '\(id)': knob word '\(w)' is not defined by the registry: give \(flagHint)"))
    }

    /// The arm of an experiment, and whether it still needs the study's scale (scheduled_cfg with
    /// only tau). Results-only entries whose knobs are not all known become `family id=<id>`.
    func arm(_ r: Raw, twoScale: Bool) throws -> (ArmSpec, needsScale: Bool) {
        var knobs: [String: Double] = [:]
        var missing: [String] = []
        var firstError: StoreError?
        func value(_ k: Knob?) -> GuidanceValue? {
            switch k {
            case .number(let v)?: return twoScale ? nil : .single(v)
            case .word(let w)?:
                switch word(w, experiment: r.id, model: r.model, twoScale: twoScale) {
                case .success(let v): return v
                case .failure(let e): if firstError == nil { firstError = e }; return nil
                }
            case nil: return nil
            }
        }
        func put(_ g: GuidanceValue?, one: String, text: String, audio: String, what: String) {
            switch g {
            case .single(let w)?: knobs[one] = w
            case .pair(let t, let a)?: knobs[text] = t; knobs[audio] = a
            case nil: missing.append(what)
            }
        }
        // Numeric knobs written out in the canonical names are taken as they are.
        let canonical = twoScale ? ["st", "sa", "s0t", "s0a", "s1t", "s1a", "tau"] : ["w", "s0", "s1", "tau"]
        for (name, k) in r.knobs {
            if case .number(let v) = k, canonical.contains(name) { knobs[name] = v }
        }
        let words = r.knobs.filter { !canonical.contains($0.key) }
        let allowed: Set<String> = r.family == .eulerJump ? ["step0", "teacher"] : (r.family == .scheduledCFG ? ["tau"] : [])
        for name in words.keys.sorted() where !allowed.contains(name) {
            throw bad("experiment '\(r.id)': knob '\(name)' means nothing for \(r.family.rawValue) (\(r.family == .eulerJump ? "step0, teacher" : r.family == .scheduledCFG ? "tau" : "use guidance:"))")
        }
        var needsScale = false
        switch r.family {
        case .trajectory, .freshNoise, .spatial, .scored:
            if knobs["w"] == nil && knobs["st"] == nil {
                if r.guidancePair != nil { throw bad("experiment '\(r.id)': guidance [s0, s1] is for euler_jump only") }
                put(r.guidance, one: "w", text: "st", audio: "sa", what: "guidance")
            }
        case .eulerJump:
            if let g = r.guidance {
                guard r.resultsOnly else {
                    throw bad("experiment '\(r.id)': euler_jump needs two scales: knobs {step0: …, teacher: …} (or guidance: [s0, s1]), not guidance \(g)")
                }
                missing.append("step0 and teacher")
            }
            if let (s0, s1) = r.guidancePair, !twoScale { knobs["s0"] = s0; knobs["s1"] = s1 }
            if knobs["s0"] == nil && knobs["s0t"] == nil { put(value(r.knobs["step0"]), one: "s0", text: "s0t", audio: "s0a", what: "step0") }
            if knobs["s1"] == nil && knobs["s1t"] == nil { put(value(r.knobs["teacher"]), one: "s1", text: "s1t", audio: "s1a", what: "teacher") }
        case .studentSchedule:
            throw bad("experiment '\(r.id)': student_schedule arms are not imported")
        case .scheduledCFG:
            if knobs["tau"] == nil {
                if case .number(let v)? = r.knobs["tau"] { knobs["tau"] = v } else { missing.append("tau") }
            }
            if knobs["w"] == nil && knobs["st"] == nil {
                if let g = r.guidance { put(g, one: "w", text: "st", audio: "sa", what: "guidance") } else { needsScale = true }
            }
        }
        if let g = r.guidance, g.isPair != twoScale {
            throw bad("experiment '\(r.id)': guidance \(g) does not fit model '\(r.model)' (\(twoScale ? "two scales" : "one scale"))")
        }
        if missing.isEmpty && firstError == nil {
            // A results-only entry never borrows the study's scale: that would be a guess.
            if r.resultsOnly && needsScale { return (Self.tagged(r, knobs: knobs), false) }
            return (ArmSpec(family: r.family, knobs: knobs), needsScale)
        }
        guard r.resultsOnly else {
            if let firstError { throw firstError }
            let hint = r.family == .eulerJump ? "knobs {step0: …, teacher: …}" : (r.family == .scheduledCFG ? "knobs {tau: …}" : "guidance: {cfg: W} or {text: T, audio: A}")
            throw bad("experiment '\(r.id)': \(r.family.rawValue) needs \(missing.joined(separator: ", ")): give \(hint)")
        }
        return (Self.tagged(r, knobs: knobs), false)
    }

    static func tagged(_ r: Raw, knobs: [String: Double]) -> ArmSpec {
        ArmSpec(family: r.family, knobs: knobs, tag: ArmSpec.isValidTag(r.id) ? r.id
                : String(r.id.map { $0.isASCII && ($0.isLetter || $0.isNumber || "._+-".contains($0)) ? $0 : "_" }))
    }

    enum ScaleAnswer {
        case none
        case one(GuidanceValue, String)
        case several([GuidanceValue])
    }

    /// The one CFG scale (or pair) other than no-guidance that `members` carry, by the groups of
    /// ``Registry``'s teacher-scale rule.
    func teacherScale(_ members: [Raw], arms: [String: ArmSpec], twoScale: Bool) -> ScaleAnswer {
        func scales(_ r: Raw) -> [GuidanceValue] {
            guard let spec = arms[r.id], spec.tag == nil else { return [] }
            let k = spec.knobs
            var out: [GuidanceValue] = []
            if twoScale {
                for (t, a) in [("st", "sa"), ("s0t", "s0a"), ("s1t", "s1a")] {
                    if let tv = k[t], let av = k[a] { out.append(.pair(text: tv, audio: av)) }
                }
            } else {
                for name in ["w", "s0", "s1"] { if let v = k[name] { out.append(.single(v)) } }
            }
            return out.filter { !$0.isUnguided }
        }
        let single: Set<ArmFamily> = [.eulerJump, .freshNoise]
        let groups: [(String, [Raw])] = [
            ("single-prediction experiments with a baseline", members.filter { single.contains($0.family) && $0.baselineID != nil }),
            ("single-prediction experiments", members.filter { single.contains($0.family) }),
            ("experiments with a baseline", members.filter { $0.baselineID != nil }),
            ("experiments", members),
        ]
        for (what, group) in groups {
            var values: [GuidanceValue] = []
            var ids: [String] = []
            for r in group {
                let s = scales(r)
                if !s.isEmpty { ids.append(r.id) }
                for v in s where !values.contains(v) { values.append(v) }
            }
            if values.count == 1 {
                return .one(values[0], "the one CFG scale of the registry's \(what): \(ids.prefix(3).joined(separator: ", "))\(ids.count > 3 ? " and \(ids.count - 3) more" : "")")
            }
            if values.count > 1 { return .several(values) }
        }
        return .none
    }

    // MARK: Paths

    /// The YAML's folder, then each folder above it up to the first holding `.git`.
    func searchFolders() -> [String] {
        let fm = FileManager.default
        var dir = url.deletingLastPathComponent().standardizedFileURL.path
        var out = [dir]
        while !fm.fileExists(atPath: (dir as NSString).appendingPathComponent(".git")) {
            let parent = (dir as NSString).deletingLastPathComponent
            if parent == dir || parent.isEmpty { break }
            out.append(parent)
            dir = parent
        }
        return out
    }

    enum Location {
        /// The file, the folder it was found under (nil for absolute paths) and other folders
        /// that also hold it.
        case found(URL, String?, [String])
        case missing([String])
    }

    func locate(_ path: String, in bases: [String]) -> Location {
        let fm = FileManager.default
        if path.hasPrefix("/") {
            return fm.fileExists(atPath: path) ? .found(URL(fileURLWithPath: path), nil, []) : .missing([path])
        }
        let hits = bases.filter { fm.fileExists(atPath: ($0 as NSString).appendingPathComponent(path)) }
        guard let first = hits.first else { return .missing(bases) }
        return .found(URL(fileURLWithPath: (first as NSString).appendingPathComponent(path)), first, Array(hits.dropFirst()))
    }

    // MARK: Values

    static func number(_ value: Any) -> Double? {
        if value is Bool { return nil }
        if let d = value as? Double { return d }
        if let i = value as? Int { return Double(i) }
        if let s = value as? String { return Double(s) }
        return nil
    }

    /// `{cfg: W}`, `{text: T, audio: A}` or a bare number.
    static func guidance(_ value: Any) -> GuidanceValue? {
        if let v = number(value) { return .single(v) }
        guard let m = value as? [String: Any] else { return nil }
        if m.count == 1, let c = m["cfg"].flatMap(number) { return .single(c) }
        if m.count == 2, let t = m["text"].flatMap(number), let a = m["audio"].flatMap(number) { return .pair(text: t, audio: a) }
        return nil
    }
}
