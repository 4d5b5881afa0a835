import Digest
import Foundation
import GRDB

/// What one imported long CSV file contributed.
public struct CSVImportSummary: Sendable, Hashable {
    /// The file.
    public var path: String
    /// sha256 of its bytes.
    public var sha256: String
    /// Data rows read.
    public var rows: Int
    /// Of those, GT rows.
    public var gtRows: Int
    /// Units the rows make.
    public var units: Int
    /// Units newly written; the rest were already stored with the same values.
    public var written: Int
    /// Units already stored with the same values.
    public var unchanged: Int
    /// Arm labels the file held.
    public var arms: [String]
    /// Clips the file held.
    public var clips: Int
    /// Columns the file had that the format does not use (skipped, not stored).
    public var ignoredColumns: [String]
}

extension StudyStore {
    // MARK: - Import

    /// Imports one long CSV file into this study in one transaction: any malformed row (reported
    /// with its line number) or any unit stored with other values aborts the file and leaves the
    /// database as it was.
    ///
    /// - parameter arm: the arm every row belongs to (`--arm`); nil when the file has an `arm`
    ///   column (as exported files do). Both given and disagreeing is an error.
    /// - parameter seed: the seed of rows without a `seed` column.
    /// - parameter source: provenance note stored with the import (registry id, …).
    @discardableResult
    public func importCSV(_ file: URL, arm: ArmSpec?, seed: Int = 0, source: String? = nil) throws -> CSVImportSummary {
        try checkWritable()
        let parsed = try Self.readCSV(file)
        return try db.write { db in try self.importCSV(db, parsed, arm: arm, seed: seed, source: source) }
    }

    /// Opens (or creates) the study that `trajprobe import csv` writes into, recording what the
    /// user said produced the numbers.
    ///
    /// The study is the one named `study` (else `model`), created when missing with teacher kind
    /// `imported`; without a name, a database holding one study imports into it, and an empty one
    /// gets a study named `imported`. `guidance` and `sync` are written into the study's settings
    /// (``StudyParameters``) and `runs.sync_model`; a study that already records other values is
    /// refused, one that records none takes them.
    /// - returns: the study and one line per setting it newly recorded.
    public static func openForImport(at url: URL, study: String?, model: String?, drop: String?,
                                     guidance: GuidanceValue? = nil, sync: SyncProvenance? = nil) throws -> (StudyStore, notes: [String]) {
        var settings = StudyParameters(source: "long-csv")
        settings.guidance = guidance
        if guidance != nil { settings.guidanceSource = "import csv --guidance" }
        settings.sync = sync
        let names = FileManager.default.fileExists(atPath: url.path) ? try studyNames(at: url) : []
        let name: String
        if let n = study ?? model {
            name = n
        } else if names.isEmpty {
            name = "imported"
        } else if names.count == 1 {
            name = names[0]
        } else {
            throw StoreError.ambiguousStudy(path: url.path, available: names)
        }
        let queue = try connect(url, readOnly: false, mayCreate: true)
        let (run, config, notes) = try queue.write { db -> (RunID, StudyRecord, [String]) in
            if let row = try Row.fetchOne(db, sql: "SELECT * FROM runs WHERE name = ?", arguments: [name]) {
                let stored = runConfig(row)
                var mismatched: [String] = []
                if let model, stored.modelName != model { mismatched.append("model '\(stored.modelName)' vs '\(model)'") }
                if let drop, stored.dropMode != drop { mismatched.append("drop mode '\(stored.dropMode)' vs '\(drop)'") }
                if !mismatched.isEmpty { throw StoreError.configMismatch(path: url.path, study: name, fields: mismatched) }
                return try adoptImportedStudy(db, database: url, config: stored, settings: settings, checkIdentity: false)
            }
            let config = importedConfig(name: name, model: model ?? (study == nil ? "unknown" : name), drop: drop ?? "unknown", settings: settings)
            return (try insertRun(db, config: config, status: .running), config, [])
        }
        return (StudyStore(url: url, db: queue, readOnly: false, runID: run, config: config), notes)
    }

    /// Finds the imported study `config.name` (or creates it) and merges `settings` into its
    /// stored settings: keys it lacks are added, keys it holds with other values are refused, and
    /// a sync model it records as `unknown` is replaced by the one now given.
    /// - returns: the run, its config as now stored, and one line per setting newly recorded.
    static func adoptImportedStudy(_ db: Database, database: URL, config: StudyRecord, settings: StudyParameters,
                                   checkIdentity: Bool = true) throws -> (RunID, StudyRecord, [String]) {
        guard let row = try Row.fetchOne(db, sql: "SELECT * FROM runs WHERE name = ?", arguments: [config.name]) else {
            return (try insertRun(db, config: config, status: .running), config, [])
        }
        var stored = runConfig(row)
        let run = RunID(row["id"])
        if checkIdentity {
            var diff: [String] = []
            if stored.teacherKind != config.teacherKind { diff.append("teacher kind '\(stored.teacherKind)' vs '\(config.teacherKind)'") }
            if stored.modelName != config.modelName { diff.append("model '\(stored.modelName)' vs '\(config.modelName)'") }
            if stored.dropMode != config.dropMode { diff.append("drop mode '\(stored.dropMode)' vs '\(config.dropMode)'") }
            guard diff.isEmpty else { throw StoreError.configMismatch(path: database.path, study: config.name, fields: diff) }
        }
        var notes: [String] = []
        let old = stored.parameters
        if stored.teacherKind != "imported" || old.source == nil {
            // A probed study: its settings are the probe's, not an import's; only check the sync model.
            if let model = settings.syncModel, stored.syncModel != model {
                throw StoreError.configMismatch(path: database.path, study: config.name, fields: ["sync model '\(stored.syncModel)' vs '\(model)'"])
            }
            if let g = settings.guidance {
                notes.append("study '\(config.name)' was probed with its own settings: guidance \(g) not recorded")
            }
            return (run, stored, notes)
        }
        var (merged, conflicts) = old.merged(with: settings)
        if let model = settings.syncModel, let had = old.syncModel, had != model, !conflicts.contains(where: { $0.hasPrefix("sync_model ") }) {
            conflicts.append("sync model '\(had)' vs '\(model)'")
        } else if let model = settings.syncModel, old.syncModel == nil {
            notes.append("study '\(config.name)': sync model recorded as \(model) (was unknown)")
        }
        guard conflicts.isEmpty else { throw StoreError.configMismatch(path: database.path, study: config.name, fields: conflicts) }
        if merged.guidance != nil && old.guidance == nil {
            notes.append("study '\(config.name)': teacher guidance recorded as \(merged.guidance!)")
        }
        if merged.guidanceSource == nil { merged.guidanceSource = settings.guidanceSource }
        if merged != stored.parameters {
            try updateParameters(db, run: run, merged)
            stored.parameters = merged
        }
        return (run, stored, notes)
    }

    struct ParsedCSV: Sendable {
        var path: String
        var sha256: String
        var table: LongCSV.Table
    }

    static func readCSV(_ file: URL) throws -> ParsedCSV {
        let bytes: [UInt8]
        do { bytes = [UInt8](try Data(contentsOf: file)) } catch {
            throw StoreError.io(path: file.path, problem: "cannot read: \(error.localizedDescription)")
        }
        return ParsedCSV(path: file.path, sha256: SHA256Digest.hex(bytes), table: try LongCSV.parse(bytes, path: file.path))
    }

    private struct ImportUnit: Hashable {
        var arm: String
        var sample: String
        var step: Int
        var seed: Int
    }

    func importCSV(_ db: Database, _ parsed: ParsedCSV, arm: ArmSpec?, seed: Int, source: String?,
                   isBaseline: Bool = false, baselineLabel: String? = nil) throws -> CSVImportSummary {
        let path = parsed.path
        let table = parsed.table
        let fixedLabel = arm?.label
        if fixedLabel == nil && !table.hasArmColumn {
            throw StoreError.malformedCSV(path: path, line: 1, problem: "no arm column: name the arm (--arm 'euler_jump s0=1 s1=4.5')")
        }
        // Group rows into units, checking arms, repeated keys and step times as we go.
        var units: [ImportUnit: [(line: Int, m: MeasurementValue)]] = [:]
        var order: [ImportUnit] = []
        var stepTimes: [Int: (t: Double, line: Int)] = [:]
        var armLabels: [String] = []
        var gtRows = 0
        for row in table.rows {
            let label: String
            if let fixedLabel {
                if let a = row.arm, a != fixedLabel {
                    throw StoreError.malformedCSV(path: path, line: row.line, problem: "arm '\(a)' but the import is for '\(fixedLabel)'")
                }
                label = fixedLabel
            } else {
                label = row.arm!
            }
            if !armLabels.contains(label) { armLabels.append(label) }
            if let t = row.t {
                if let prior = stepTimes[row.step] {
                    if abs(prior.t - t) > Self.stepTolerance {
                        throw StoreError.malformedCSV(path: path, line: row.line, problem: "step \(row.step) has t \(t), line \(prior.line) says \(prior.t)")
                    }
                } else {
                    stepTimes[row.step] = (t, row.line)
                }
            } else {
                gtRows += 1
            }
            let key = ImportUnit(arm: label, sample: row.sample, step: row.step, seed: row.seed ?? seed)
            let m = MeasurementValue(metric: row.metric, region: row.region, value: row.value, protocolName: row.protocolName)
            if units[key] == nil { order.append(key); units[key] = [] }
            if let prior = units[key]!.first(where: { $0.m.metric == m.metric && $0.m.region == m.region }) {
                if prior.m.sameAs(m) { continue }
                throw StoreError.malformedCSV(path: path, line: row.line,
                                              problem: "\(m.metric)/\(m.region) of \(row.sample) step \(row.step) repeats line \(prior.line) with another value")
            }
            units[key]!.append((row.line, m))
        }
        // Register, then write unit by unit inside the caller's transaction.
        var armIDs: [String: ArmID] = [:]
        for label in armLabels {
            let spec = try ArmSpec(parsing: label)
            armIDs[label] = try registerArm(db, spec, isBaseline: isBaseline, baselineLabel: baselineLabel)
        }
        do {
            try registerSteps(db, stepTimes.keys.sorted().map { Step(j: $0, t: stepTimes[$0]!.t) })
        } catch let StoreError.registrationConflict(_, what, problem) {
            let line = stepTimes.values.map(\.line).min() ?? 1
            throw StoreError.malformedCSV(path: path, line: line, problem: "\(what) conflicts with the study: \(problem)")
        }
        var clipIDs: [String: ClipID] = [:]
        var written = 0, unchanged = 0
        let finished = Self.timestamp()
        for key in order {
            let clip: ClipID
            if let id = clipIDs[key.sample] { clip = id } else {
                clip = try registerClip(db, ClipSpec(name: key.sample))
                clipIDs[key.sample] = clip
            }
            let rows = units[key]!
            let result = UnitResult(key: UnitKey(clip: clip, arm: armIDs[key.arm]!, step: key.step, seed: key.seed),
                                    measurements: rows.map(\.m))
            do {
                switch try writeUnit(db, result, finished: finished, mapsKnown: false) {
                case .written: written += 1
                case .unchanged: unchanged += 1
                }
            } catch let StoreError.unitConflict(_, unit, problem) {
                throw StoreError.malformedCSV(path: path, line: rows[0].line, problem: "unit \(unit) is already stored with other values (\(problem))")
            }
        }
        try db.execute(sql: "INSERT INTO imports (run, arm, path, sha256, rows, imported, source) VALUES (?, ?, ?, ?, ?, ?, ?)",
                       arguments: [runID.rawValue, armLabels.count == 1 ? armIDs[armLabels[0]]!.rawValue : nil,
                                   path, parsed.sha256, table.rows.count, finished, source])
        return CSVImportSummary(path: path, sha256: parsed.sha256, rows: table.rows.count, gtRows: gtRows, units: order.count,
                                written: written, unchanged: unchanged, arms: armLabels, clips: clipIDs.count,
                                ignoredColumns: table.ignoredColumns)
    }

    // MARK: - Export

    /// One arm's rows in the long CSV format with `arm` and `seed` columns (and `protocol` when
    /// any row has one), GT rows first, then by step, sample, seed, metric, region.
    public func exportCSV(arm: ArmID) throws -> String {
        try db.read { db in
            guard let label = try String.fetchOne(db, sql: "SELECT label FROM arms WHERE id = ? AND run = ?", arguments: [arm.rawValue, runID.rawValue]) else {
                throw StoreError.unknownReference(path: path, what: "\(arm)")
            }
            let hasProtocol = try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM measurements WHERE run = ? AND arm = ? AND protocol IS NOT NULL)",
                                                arguments: [runID.rawValue, arm.rawValue]) ?? false
            var out = "step,t,sample,metric,region,value" + (hasProtocol ? ",protocol" : "") + ",arm,seed\n"
            let armField = LongCSV.field(label)
            let cursor = try Row.fetchCursor(db, sql: """
                SELECT m.step, s.t, c.name, m.metric, m.region, m.value, m.protocol, m.seed FROM measurements m
                JOIN clips c ON c.id = m.clip LEFT JOIN steps s ON s.run = m.run AND s.j = m.step
                WHERE m.run = ? AND m.arm = ? ORDER BY m.step, c.name, m.seed, m.metric, m.region
                """, arguments: [runID.rawValue, arm.rawValue])
            while let row = try cursor.next() {
                let step: Int = row[0]
                let t: Double? = row[1]
                out += String(step)
                out += ","
                out += step == gtStep ? "gt" : (t.map(LongCSV.number) ?? "nan")
                out += "," + LongCSV.field(row[2]) + "," + LongCSV.field(row[3]) + "," + LongCSV.field(row[4])
                out += "," + LongCSV.number((row[5] as Double?) ?? .nan)
                if hasProtocol { out += "," + ((row[6] as String?).map(LongCSV.field) ?? "") }
                out += "," + armField + "," + String(row[7] as Int) + "\n"
            }
            return out
        }
    }

    /// File name of an arm's export: its label with anything but `[A-Za-z0-9._=-]` as `_`.
    public static func exportFileName(label: String) -> String {
        String(label.map { $0.isASCII && ($0.isLetter || $0.isNumber || "._=-".contains($0)) ? $0 : "_" }) + ".csv"
    }

    /// Writes one long CSV file per arm into `directory` (created if needed); returns the files.
    @discardableResult
    public func exportCSV(to directory: URL) throws -> [URL] {
        do { try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true) } catch {
            throw StoreError.io(path: directory.path, problem: "cannot create directory: \(error.localizedDescription)")
        }
        var files: [URL] = []
        for arm in try arms() {
            let file = directory.appendingPathComponent(Self.exportFileName(label: arm.label))
            do { try Data(try exportCSV(arm: arm.id).utf8).write(to: file) } catch let error as StoreError { throw error } catch {
                throw StoreError.io(path: file.path, problem: "cannot write: \(error.localizedDescription)")
            }
            files.append(file)
        }
        return files
    }

    /// Every measurement as JSON lines: `{"study","arm","seed","step","t","sample","metric",
    /// "region","value"[,"protocol"]}`; GT rows have `"t":"gt"`, missing values `null`, infinite
    /// values the strings `"inf"`/`"-inf"`.
    public func exportJSONLines() throws -> String {
        try db.read { db in
            let study = Self.jsonString(config.name)
            var out = ""
            let cursor = try Row.fetchCursor(db, sql: """
                SELECT a.label, m.seed, m.step, s.t, c.name, m.metric, m.region, m.value, m.protocol FROM measurements m
                JOIN arms a ON a.id = m.arm JOIN clips c ON c.id = m.clip LEFT JOIN steps s ON s.run = m.run AND s.j = m.step
                WHERE m.run = ? ORDER BY a.label, m.step, c.name, m.seed, m.metric, m.region
                """, arguments: [runID.rawValue])
            while let row = try cursor.next() {
                let step: Int = row[2]
                let t: Double? = row[3]
                let value: Double? = row[7]
                let tText = step == gtStep ? "\"gt\"" : (t.map { "\($0)" } ?? "null")
                let valueText: String
                if let value { valueText = value.isInfinite ? (value < 0 ? "\"-inf\"" : "\"inf\"") : "\(value)" } else { valueText = "null" }
                out += "{\"study\":\(study),\"arm\":\(Self.jsonString(row[0])),\"seed\":\(row[1] as Int),\"step\":\(step),\"t\":\(tText),"
                out += "\"sample\":\(Self.jsonString(row[4])),\"metric\":\(Self.jsonString(row[5])),\"region\":\(Self.jsonString(row[6])),\"value\":\(valueText)"
                if let p = row[8] as String? { out += ",\"protocol\":\(Self.jsonString(p))" }
                out += "}\n"
            }
            return out
        }
    }

    /// `s` as a JSON string literal (also the remote teacher's request writer).
    package static func jsonString(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}
