import Foundation
import GRDB

/// What a merge did.
public struct MergeSummary: Sendable, Hashable {
    /// The database merged into.
    public var target: String
    /// Studies merged, by name.
    public var studies: [String]
    /// Units copied from the shards.
    public var written: Int
    /// Units already present with identical values (in the target or an earlier shard).
    public var duplicates: Int
    /// Failed-unit marks copied (only where no shard had the unit done).
    public var failed: Int
}

extension StudyStore {
    /// Merges shard databases of the same studies (several machines, each a subset of clips, arms
    /// or steps) into `target`, created if missing, in one transaction.
    ///
    /// Studies are matched by name and must have equal configs (`StudyRecord.differences`);
    /// clips, arms and steps are matched by name, label and j. Identical units are kept once;
    /// units with different values are collected and the merge is refused with all of them
    /// listed (`StoreError.mergeConflicts`), writing nothing. Shards are opened read-only.
    @discardableResult
    public static func merge(shards: [URL], into target: URL) throws -> MergeSummary {
        // Refuse mismatched configs before touching the target.
        var configs: [String: (config: StudyRecord, from: String)] = [:]
        var sources: [(url: URL, queue: DatabaseQueue, runs: [Row])] = []
        for shard in shards {
            let queue = try connect(shard, readOnly: true, mayCreate: false)
            let runs = try queue.read { db in try Row.fetchAll(db, sql: "SELECT * FROM runs ORDER BY id") }
            for row in runs {
                let config = runConfig(row)
                if let prior = configs[config.name] {
                    let diff = prior.config.differences(from: config)
                    guard diff.isEmpty else { throw StoreError.configMismatch(path: shard.path, study: config.name, fields: diff + ["vs \(prior.from)"]) }
                } else {
                    configs[config.name] = (config, shard.path)
                }
            }
            sources.append((shard, queue, runs))
        }
        if FileManager.default.fileExists(atPath: target.path) {
            for summary in try listRuns(at: target) {
                if let shard = configs[summary.name] {
                    let diff = summary.config.differences(from: shard.config)
                    guard diff.isEmpty else { throw StoreError.configMismatch(path: target.path, study: summary.name, fields: diff + ["vs \(shard.from)"]) }
                }
            }
        }
        let queue = try connect(target, readOnly: false, mayCreate: true)
        return try queue.write { db in
            var summary = MergeSummary(target: target.path, studies: [], written: 0, duplicates: 0, failed: 0)
            var conflicts: [MergeConflict] = []
            var statuses: [String: [RunStatus]] = [:]
            for source in sources {
                for runRow in source.runs {
                    let config = runConfig(runRow)
                    let shardRun = RunID(runRow["id"])
                    let runID: RunID
                    if let id = try Int64.fetchOne(db, sql: "SELECT id FROM runs WHERE name = ?", arguments: [config.name]) {
                        runID = RunID(id)
                    } else {
                        runID = try insertRun(db, config: config, status: .running, created: runRow["created"])
                    }
                    if !summary.studies.contains(config.name) { summary.studies.append(config.name) }
                    statuses[config.name, default: []].append(RunStatus(rawValue: runRow["status"]) ?? .interrupted)
                    let into = StudyStore(url: target, db: queue, readOnly: false, runID: runID, config: config)
                    let from = StudyStore(url: source.url, db: source.queue, readOnly: true, runID: shardRun, config: config)
                    try source.queue.read { sdb in
                        try merge(from: from, sdb, into: into, db, summary: &summary, conflicts: &conflicts)
                    }
                }
            }
            guard conflicts.isEmpty else { throw StoreError.mergeConflicts(path: target.path, conflicts: conflicts) }
            for (name, list) in statuses {
                // A shard with failed units leaves the merged study incomplete, never finished.
                let status: RunStatus = list.allSatisfy { $0 == list[0] } ? list[0]
                    : list.contains(.running) ? .running
                    : list.allSatisfy({ $0 == .finished || $0 == .incomplete }) ? .incomplete : .interrupted
                let finished: String? = try String.fetchOne(db, sql: "SELECT max(finished) FROM runs WHERE name = ?", arguments: [name])
                try db.execute(sql: "UPDATE runs SET status = ?, finished = ? WHERE name = ?",
                               arguments: [status.rawValue, status == .running ? nil : finished ?? timestamp(), name])
            }
            return summary
        }
    }

    private static func merge(from: StudyStore, _ sdb: Database, into: StudyStore, _ db: Database,
                              summary: inout MergeSummary, conflicts: inout [MergeConflict]) throws {
        // Registrations, mapped shard id → target id.
        var clipMap: [ClipID: ClipID] = [:]
        var clipNames: [ClipID: String] = [:]
        for clip in try from.clips(sdb) {
            clipMap[clip.id] = try into.registerClip(db, clip.spec)
            clipNames[clip.id] = clip.name
        }
        var armMap: [ArmID: ArmID] = [:]
        var armLabels: [ArmID: String] = [:]
        for arm in try from.arms(sdb) {
            armMap[arm.id] = try into.registerArm(db, arm.spec, isBaseline: arm.isBaseline, baselineLabel: arm.baselineLabel)
            armLabels[arm.id] = arm.label
        }
        try into.registerSteps(db, try from.steps(sdb))
        // Done units with their measurements and maps.
        var measurementsByUnit: [UnitKey: [MeasurementValue]] = [:]
        for m in try from.measurements(sdb) {
            measurementsByUnit[UnitKey(clip: m.clip, arm: m.arm, step: m.step, seed: m.seed), default: []]
                .append(MeasurementValue(metric: m.metric, region: m.region, value: m.value, protocolName: m.protocolName))
        }
        let units = try Row.fetchAll(sdb, sql: "SELECT arm, clip, step, seed, status, reason, finished FROM units WHERE run = ? ORDER BY arm, clip, step, seed",
                                     arguments: [from.runID.rawValue])
        for row in units {
            let key = UnitKey(clip: ClipID(row[1]), arm: ArmID(row[0]), step: row[2], seed: row[3])
            let target = UnitKey(clip: clipMap[key.clip]!, arm: armMap[key.arm]!, step: key.step, seed: key.seed)
            let status: String = row[4]
            if status == "done" {
                let result = UnitResult(key: target, measurements: measurementsByUnit[key] ?? [], maps: try from.storedMaps(sdb, key))
                do {
                    switch try into.writeUnit(db, result, finished: row[6]) {
                    case .written: summary.written += 1
                    case .unchanged: summary.duplicates += 1
                    }
                } catch let StoreError.unitConflict(_, _, problem) {
                    conflicts.append(MergeConflict(study: from.config.name, clip: clipNames[key.clip] ?? "?", arm: armLabels[key.arm] ?? "?",
                                                   step: key.step, seed: key.seed, shard: from.path, problem: problem))
                }
            } else {
                let existing = try String.fetchOne(db, sql: "SELECT status FROM units WHERE run = ? AND arm = ? AND clip = ? AND step = ? AND seed = ?",
                                                   arguments: [into.runID.rawValue, target.arm.rawValue, target.clip.rawValue, target.step, target.seed])
                if existing == nil {
                    try db.execute(sql: "INSERT INTO units (run, arm, clip, step, seed, status, reason, finished) VALUES (?, ?, ?, ?, ?, 'failed', ?, ?)",
                                   arguments: [into.runID.rawValue, target.arm.rawValue, target.clip.rawValue, target.step, target.seed, row[5], row[6]])
                    summary.failed += 1
                }
            }
        }
        for schedule in try from.schedules(sdb) {
            try db.execute(sql: "INSERT OR IGNORE INTO schedules (run, name, created, format, body) VALUES (?, ?, ?, ?, ?)",
                           arguments: [into.runID.rawValue, schedule.name, schedule.created, schedule.format, schedule.body])
        }
        let imports = try Row.fetchAll(sdb, sql: "SELECT i.path, i.sha256, i.rows, i.imported, i.source, a.label FROM imports i LEFT JOIN arms a ON a.id = i.arm WHERE i.run = ?",
                                       arguments: [from.runID.rawValue])
        for row in imports {
            let exists = try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM imports WHERE run = ? AND path = ? AND sha256 = ?)",
                                           arguments: [into.runID.rawValue, row[0], row[1]]) ?? false
            if exists { continue }
            let arm: Int64? = try (row[5] as String?).flatMap { try Int64.fetchOne(db, sql: "SELECT id FROM arms WHERE run = ? AND label = ?", arguments: [into.runID.rawValue, $0]) }
            try db.execute(sql: "INSERT INTO imports (run, arm, path, sha256, rows, imported, source) VALUES (?, ?, ?, ?, ?, ?, ?)",
                           arguments: [into.runID.rawValue, arm, row[0], row[1], row[2], row[3], row[4]])
        }
    }
}
