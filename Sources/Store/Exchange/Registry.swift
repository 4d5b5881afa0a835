import Foundation
import GRDB
import Yams

/// One experiment of a registry YAML: an arm of some model's study and the CSV holding its rows.
///
/// ```yaml
/// experiments:            # or a top-level list
///   - id: omni_ej_1_45
///     model: omniavatar-14b
///     family: euler_jump
///     knobs: {s0: 1, s1: 4.5}   # or `guidance: 4.5` for one-knob families (w),
///                               # `guidance: [1, 4.5]` for euler_jump (s0, s1)
///     drop: text+audio          # optional: unknown
///     baseline: omni_ej_1_1     # optional: true (this is a baseline) or the baseline's id
///     csv: results/omni_ej_1_45.csv   # relative to the YAML file
/// ```
public struct RegistryEntry: Sendable, Hashable {
    public var id: String
    public var model: String
    public var arm: ArmSpec
    public var drop: String
    public var isBaseline: Bool
    /// The `id` of the experiment this one is compared against.
    public var baselineID: String?
    public var csv: URL
}

public struct RegistryImportSummary: Sendable, Hashable {
    /// Study names created or extended, in registry order.
    public var studies: [String]
    public var files: [CSVImportSummary]
}

extension StudyStore {
    /// Parses a registry YAML, resolving CSV paths against its directory.
    public static func parseRegistry(_ url: URL) throws -> [RegistryEntry] {
        let path = url.path
        func bad(_ problem: String) -> StoreError { .malformedRegistry(path: path, problem: problem) }
        let text: String
        do { text = try String(contentsOf: url, encoding: .utf8) } catch {
            throw StoreError.io(path: path, problem: "cannot read: \(error.localizedDescription)")
        }
        let root: Any?
        do { root = try Yams.load(yaml: text) } catch { throw bad("not YAML: \(error)") }
        let list: [Any]
        if let l = root as? [Any] { list = l } else if let d = root as? [String: Any], let l = d["experiments"] as? [Any] { list = l } else {
            throw bad("expected a list of experiments (top level or under 'experiments:')")
        }
        let base = url.deletingLastPathComponent()
        var entries: [RegistryEntry] = []
        for (n, item) in list.enumerated() {
            guard let e = item as? [String: Any] else { throw bad("experiment #\(n + 1) is not a mapping") }
            func string(_ key: String) -> String? {
                guard let v = e[key] else { return nil }
                if let s = v as? String { return s }
                return "\(v)"
            }
            guard let id = string("id"), !id.isEmpty else { throw bad("experiment #\(n + 1) has no id") }
            func badEntry(_ problem: String) -> StoreError { bad("experiment '\(id)': \(problem)") }
            guard let model = string("model"), !model.isEmpty else { throw badEntry("no model") }
            guard let familyText = string("family"),
                  let family = ArmFamily(rawValue: familyText.replacingOccurrences(of: "-", with: "_").lowercased()) else {
                throw badEntry("family '\(string("family") ?? "")' is not one of \(ArmFamily.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            guard family != .studentSchedule else {
                throw badEntry("student_schedule arms are run by trajprobe on the teacher (probe, search), not imported: a registry's tables cannot say which student sampling produced them")
            }
            var knobs: [String: Double] = [:]
            if let k = e["knobs"] {
                guard let map = k as? [String: Any] else { throw badEntry("knobs must be a mapping like {s0: 1, s1: 4.5}") }
                for (name, value) in map {
                    guard let v = number(value) else { throw badEntry("knob \(name) is not a number") }
                    knobs[name] = v
                }
            }
            if let g = e["guidance"] {
                if let v = number(g) {
                    switch family {
                    case .trajectory, .freshNoise, .spatial, .scheduledCFG: knobs["w"] = knobs["w"] ?? v
                    case .eulerJump: throw badEntry("euler_jump needs two scales: guidance: [s0, s1] or knobs: {s0: .., s1: ..}")
                    case .scored: throw badEntry("scored has no guidance")
                    case .studentSchedule: throw badEntry("student_schedule is not imported")
                    }
                } else if let pair = g as? [Any], pair.count == 2, family == .eulerJump, let s0 = number(pair[0]), let s1 = number(pair[1]) {
                    knobs["s0"] = s0; knobs["s1"] = s1
                } else {
                    throw badEntry("guidance must be a number (or [s0, s1] for euler_jump)")
                }
            }
            if let tau = e["tau"] {
                guard let v = number(tau) else { throw badEntry("tau is not a number") }
                knobs["tau"] = v
            }
            let required: [String] = switch family {
            case .trajectory, .freshNoise, .spatial: ["w"]
            case .eulerJump: ["s0", "s1"]
            case .scheduledCFG: ["tau", "w"]
            case .scored, .studentSchedule: []
            }
            let missing = required.filter { knobs[$0] == nil }
            guard missing.isEmpty else { throw badEntry("\(family.rawValue) needs \(missing.joined(separator: ", "))") }
            guard let csv = string("csv"), !csv.isEmpty else { throw badEntry("no csv") }
            var isBaseline = false
            var baselineID: String?
            if let b = e["baseline"] {
                if let flag = b as? Bool { isBaseline = flag } else if let s = string("baseline"), !s.isEmpty { baselineID = s }
            }
            let csvURL = csv.hasPrefix("/") ? URL(fileURLWithPath: csv) : base.appendingPathComponent(csv)
            entries.append(RegistryEntry(id: id, model: model, arm: ArmSpec(family: family, knobs: knobs),
                                         drop: string("drop") ?? "unknown", isBaseline: isBaseline, baselineID: baselineID, csv: csvURL))
        }
        let ids = entries.map(\.id)
        if let dup = ids.first(where: { id in ids.filter { $0 == id }.count > 1 }) { throw bad("id '\(dup)' appears twice") }
        for e in entries {
            if let b = e.baselineID, !ids.contains(b) { throw bad("experiment '\(e.id)': baseline '\(b)' is not an id of this registry") }
        }
        return entries
    }

    private static func number(_ value: Any) -> Double? {
        if let d = value as? Double { return d }
        if let i = value as? Int { return Double(i) }
        if let s = value as? String { return Double(s) }
        return nil
    }

    /// The study config of imported results: the registry names only the model and drop mode.
    public static func importedConfig(name: String, model: String, drop: String, syncModel: String = "unknown") -> StudyConfig {
        StudyConfig(name: name, teacherKind: "imported", teacherIdentity: model, modelName: model, dropMode: drop,
                    syncModel: syncModel, configJSON: "{\"source\":\"long-csv\"}")
    }

    /// Imports every experiment of a registry YAML into `database` (created if missing): one study
    /// per model (named after the model; `model (drop)` when a model appears with several drop
    /// modes), one arm per experiment. Everything is parsed first and written in one transaction:
    /// a malformed file or conflicting unit leaves the database untouched.
    @discardableResult
    public static func importRegistry(_ registry: URL, into database: URL) throws -> RegistryImportSummary {
        let entries = try parseRegistry(registry)
        let parsed = try entries.map { try readCSV($0.csv) }
        var dropsByModel: [String: Set<String>] = [:]
        for e in entries { dropsByModel[e.model, default: []].insert(e.drop) }
        func studyName(_ e: RegistryEntry) -> String { dropsByModel[e.model]!.count > 1 ? "\(e.model) (\(e.drop))" : e.model }
        let labelByID = Dictionary(uniqueKeysWithValues: entries.map { ($0.id, $0.arm.label) })
        let queue = try connect(database, readOnly: false, mayCreate: true)
        return try queue.write { db in
            var stores: [String: StudyStore] = [:]
            var studies: [String] = []
            var files: [CSVImportSummary] = []
            for (entry, csv) in zip(entries, parsed) {
                let name = studyName(entry)
                let config = importedConfig(name: name, model: entry.model, drop: entry.drop)
                let store: StudyStore
                if let s = stores[name] { store = s } else {
                    let run: RunID
                    if let row = try Row.fetchOne(db, sql: "SELECT * FROM runs WHERE name = ?", arguments: [name]) {
                        let diff = runConfig(row).differences(from: config)
                        guard diff.isEmpty else { throw StoreError.configMismatch(path: database.path, study: name, fields: diff) }
                        run = RunID(row["id"])
                    } else {
                        run = try insertRun(db, config: config, status: .imported)
                    }
                    store = StudyStore(url: database, db: queue, readOnly: false, runID: run, config: config)
                    stores[name] = store
                    studies.append(name)
                }
                files.append(try store.importCSV(db, csv, arm: entry.arm, seed: 0, source: "registry \(registry.lastPathComponent) id=\(entry.id)",
                                                 isBaseline: entry.isBaseline, baselineLabel: entry.baselineID.map { labelByID[$0]! }))
            }
            for store in stores.values {
                try db.execute(sql: "UPDATE runs SET status = 'imported', finished = ? WHERE id = ?", arguments: [timestamp(), store.runID.rawValue])
            }
            return RegistryImportSummary(studies: studies, files: files)
        }
    }
}
