import Foundation
import GRDB
import Yams

/// A registry YAML as analysis repositories write it (the published Lip Forcing analysis keeps
/// one `configs/registry.yaml` over three teachers and two drop modes), read without edits:
///
/// ```yaml
/// schema_version: 1
/// sync_model: syncnet-v2            # optional, also per model; or --sync-model
/// sync_preset: syncnet_python       # optional, also per model; or --sync-preset
/// models:
///   omniavatar:
///     preprocessing: {resolution: 512, crop: pre-aligned, mask: latentsync_png,
///                     regions: [mouth, upper_face, full], gt_row: -1}
///     guidance: {cfg: 4.5}          # optional: the teacher's scale when its experiments disagree
/// metric_rules: {sync_c: face_value, ssim: normalized_only, cfg_diff_raw: diagnostic_only}
/// experiments:
///   - {id: omni_ta_default, model: omniavatar, family: trajectory, guidance: {cfg: 4.5},
///      drop: text+audio, baseline: omni_ta_nocfg, csv: results/omni/default.csv}
///   - {id: omni_ta_euler_nocfg_on, model: omniavatar, family: euler_jump,
///      knobs: {step0: nocfg, teacher: cfg45}, drop: text+audio, csv: ...}
///   - {id: omni_ta_schedule25, model: omniavatar, family: scheduled_cfg, knobs: {tau: 25}, ...}
///   - {id: it_euler_on_on, model: infinitetalk, family: euler_jump,
///      knobs: {step0: on, teacher: on}, csv: ...}          # `on`: --knob on='text=5,audio=4'
///   - {id: ls_default, model: latentsync, family: trajectory, results_only: true, csv: ...}
///   - {id: it_gap, model: infinitetalk, family: euler_jump, status: pending, csv: not/yet.csv}
/// comparisons:
///   - {name: default_trajectory, omniavatar: omni_ta_default, infinitetalk: it_t5.0_a4.0}
/// ```
///
/// The older flat form (a top-level list; `guidance: 4.5`, `guidance: [s0, s1]`, numeric knobs
/// `{s0: 1, s1: 4.5}`, `baseline: true`) is read too.
///
/// Reading rules, each stated where it applies:
/// - **Studies**: one per (model, drop mode), named `<model> <drop mode>` with the drop mode as
///   stored (`text+audio`, `audio`; the registry's `audio-only` is `audio`), or `<model>` alone
///   when the experiments do not say (`drop` absent). These names are stable: reports, `--study`
///   and the `comparisons` settings use them.
/// - **Knob words**: `nocfg` is no guidance (w = 1; text = audio = 1), `cfgNN` is N.N (`cfg45` =
///   4.5, `cfg15` = 1.5; `cfg4.5` also reads), any other word (`on`, `noaudio`) must come from
///   `--knob WORD=VALUE` and is refused otherwise. `step0` is euler_jump's step-0 guidance (s0),
///   `teacher` its landing guidance (s1).
/// - **Arm knobs**: one-scale teachers: trajectory, fresh_noise, spatial `w`; euler_jump `s0`,
///   `s1`; scheduled_cfg `tau`, `w`. Two-scale (text, audio) teachers: `st`, `sa`; euler_jump
///   `s0t`, `s0a`, `s1t`, `s1a`; scheduled_cfg `tau`, `st`, `sa`. `spatial_probe` is `spatial`.
/// - **Teacher scale** of a study (stored as `guidance_scale`, or `guidance_text` and
///   `guidance_audio`): the model's `guidance:` in `models:` when given; else the one scale other
///   than no-guidance that the study's experiments carry, looking first at single-prediction
///   experiments (euler_jump, fresh_noise) with a `baseline:`, then all single-prediction ones,
///   then all with a baseline, then all (the first group that carries any scale decides; two
///   scales there leave it unknown, and the import says so); a study with no guided experiment
///   takes its model's scale the same way. A scheduled_cfg entry with only `tau` takes it.
/// - **Results-only** experiments (`results_only: true`) are measurements: their arm has the
///   family and the knobs when the entry states them, else the family and `id=<id>`
///   (`euler_jump id=ls_euler_on_on`), which no analysis looks up, so a guessed scale never
///   decides anything.
/// - **Not yet committed**: an entry whose `status:` is neither `ok` nor absent and whose csv
///   does not exist is skipped with a warning.
/// - **Paths**: relative csv paths are tried against the YAML's folder, then each folder above
///   it up to the first holding `.git` (the repository root) or the filesystem root; the first
///   that has the file wins, and the import says when several did.
public struct Registry: Sendable {
    /// The registry YAML.
    public var url: URL
    /// Its `schema_version`, when it has one.
    public var schemaVersion: Int?
    /// Experiments to import, in registry order.
    public var entries: [RegistryEntry]
    /// Experiments left out (not yet committed), with the reason.
    public var skipped: [RegistrySkip]
    /// One per (model, drop mode), in order of first appearance.
    public var studies: [RegistryStudy]
    /// What the reader decided for the user that they should see (scales taken, paths resolved,
    /// keys ignored).
    public var notes: [String]
}

/// One experiment of a registry: an arm of one study and the CSV holding its rows.
public struct RegistryEntry: Sendable, Hashable {
    /// The experiment's registry id.
    public var id: String
    /// The model whose numbers it holds.
    public var model: String
    /// The study (model, drop mode) it belongs to.
    public var study: String
    /// The arm its rows are stored under.
    public var arm: ArmSpec
    /// `text+audio`, `audio` or `unknown`.
    public var drop: String
    /// Declared `baseline: true`, or named as another experiment's baseline.
    public var isBaseline: Bool
    /// The `id` of the experiment this one is normalised against.
    public var baselineID: String?
    /// Declared `results_only: true`: numbers without knobs, never used to decide.
    public var resultsOnly: Bool
    /// The registry's `status` word, as written.
    public var status: String?
    /// The long CSV holding its rows (resolved).
    public var csv: URL
}

/// An experiment the import leaves out, with why.
public struct RegistrySkip: Sendable, Hashable {
    /// The experiment's registry id.
    public var id: String
    /// Why it is skipped.
    public var reason: String
}

/// A study an import creates or extends, with the parameters it records (``StudyParameters``).
public struct RegistryStudy: Sendable, Equatable {
    /// The study's name (`<model> <drop mode>`, or `<model>`).
    public var name: String
    /// The model.
    public var model: String
    /// The drop mode, or `unknown`.
    public var drop: String
    /// What the registry says about the study (guidance, sync, rules, comparisons).
    public var settings: StudyParameters
}

/// What `import registry` takes from the command line.
public struct RegistryImportOptions: Sendable {
    /// Knob words the registry uses without defining them (`--knob on='text=5,audio=4'`).
    public var knobs: [String: GuidanceValue]
    /// The sync model behind every number (`--sync-model`, `--sync-preset`); a registry's own
    /// `sync_model:` must agree with it.
    public var sync: SyncProvenance?

    /// Options as the CLI parsed them.
    public init(knobs: [String: GuidanceValue] = [:], sync: SyncProvenance? = nil) {
        self.knobs = knobs
        self.sync = sync
    }
}

/// What `import registry` did.
public struct RegistryImportSummary: Sendable, Hashable {
    /// Study names created or extended, in registry order.
    public var studies: [String]
    /// One summary per CSV imported.
    public var files: [CSVImportSummary]
    /// Experiments left out.
    public var skipped: [RegistrySkip]
    /// Decisions the user should see.
    public var notes: [String]
}

extension StudyStore {
    /// A problem with a registry's YAML tree that its reading cannot handle, or nil: a mapping key
    /// that is not a scalar, or more than `budget` nodes once aliases are expanded.
    static func checkTree(_ node: Node, budget: inout Int) -> String? {
        budget -= 1
        if budget < 0 { return "the YAML expands to more than 1,000,000 nodes (aliases?)" }
        switch node {
        case .mapping(let m):
            for (key, value) in m {
                guard case .scalar = key else { return "a mapping key that is not a string" + (key.mark.map { " (line \($0.line))" } ?? "") }
                if let problem = checkTree(value, budget: &budget) { return problem }
            }
        case .sequence(let s):
            for item in s { if let problem = checkTree(item, budget: &budget) { return problem } }
        default:
            break
        }
        return nil
    }

    /// Imports every experiment of a registry YAML into `database` (created if missing): one study
    /// per (model, drop mode), one arm per experiment (see ``Registry`` for the rules).
    /// Everything is parsed and every CSV read and checked first, then written in one
    /// transaction: a malformed file or conflicting unit leaves the database untouched.
    @discardableResult
    public static func importRegistry(_ registry: URL, into database: URL, options: RegistryImportOptions = RegistryImportOptions()) throws -> RegistryImportSummary {
        let existed = FileManager.default.fileExists(atPath: database.path)
        do {
            return try importRegistryWriting(registry, into: database, options: options)
        } catch {
            // A refused registry leaves no new database behind (the queue is closed by then).
            if !existed { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: database.path + suffix) } }
            throw error
        }
    }

    private static func importRegistryWriting(_ registry: URL, into database: URL, options: RegistryImportOptions) throws -> RegistryImportSummary {
        let parsed = try parseRegistry(registry, options: options)
        let csvs = try parsed.entries.map { try readCSV($0.csv) }
        var largestT: [String: Double] = [:]
        for (entry, csv) in zip(parsed.entries, csvs) {
            let t = csv.table.rows.compactMap(\.t).max() ?? 0
            largestT[entry.study] = max(largestT[entry.study] ?? 0, t)
        }
        let timestepNotes = parsed.studies.map(\.name).filter { (largestT[$0] ?? 0) > 1 }.map {
            "study '\($0)': t goes up to \(ArmSpec.format(largestT[$0]!)) (integer timesteps, not t in [0, 1]): stored as written"
        }
        let labelByID = Dictionary(uniqueKeysWithValues: parsed.entries.map { ($0.id, $0.arm.label) })
        let queue = try connect(database, readOnly: false, mayCreate: true)
        return try queue.write { db in
            var stores: [String: StudyStore] = [:]
            var notes = parsed.notes + timestepNotes
            for study in parsed.studies {
                let config = importedConfig(name: study.name, model: study.model, drop: study.drop, settings: study.settings)
                let (run, stored, changes) = try adoptImportedStudy(db, database: database, config: config, settings: study.settings)
                notes += changes
                stores[study.name] = StudyStore(url: database, db: queue, readOnly: false, runID: run, config: stored)
            }
            var files: [CSVImportSummary] = []
            for (entry, csv) in zip(parsed.entries, csvs) {
                files.append(try stores[entry.study]!.importCSV(db, csv, arm: entry.arm, seed: 0,
                                                                source: "registry \(registry.lastPathComponent) id=\(entry.id)",
                                                                isBaseline: entry.isBaseline, baselineLabel: entry.baselineID.map { labelByID[$0]! }))
            }
            for store in stores.values {
                try db.execute(sql: "UPDATE runs SET status = 'imported', finished = ? WHERE id = ?", arguments: [timestamp(), store.runID.rawValue])
            }
            return RegistryImportSummary(studies: parsed.studies.map(\.name), files: files, skipped: parsed.skipped, notes: notes)
        }
    }

    /// Reads a registry YAML and resolves everything it leaves implicit (knob words, scales, paths,
    /// studies) without touching any database.
    public static func parseRegistry(_ url: URL, options: RegistryImportOptions = RegistryImportOptions()) throws -> Registry {
        var reader = RegistryReader(url: url, options: options)
        return try reader.read()
    }

    /// The study config of imported results: the files name only the model and drop mode; the
    /// rest of what the report needs is in `settings` (see ``StudyParameters``).
    public static func importedConfig(name: String, model: String, drop: String, settings: StudyParameters = StudyParameters(source: "long-csv")) -> StudyRecord {
        StudyRecord(name: name, teacherKind: "imported", teacherIdentity: model, modelName: model, dropMode: drop,
                    syncModel: settings.syncModel ?? "unknown", parameters: settings)
    }

    /// The name of the study of a (model, drop mode): `<model> <drop mode>`, or `<model>` when the
    /// drop mode is unknown.
    public static func registryStudyName(model: String, drop: String) -> String {
        drop == "unknown" ? model : "\(model) \(drop)"
    }
}
