import Foundation
import GRDB

extension StudyStore {
    // MARK: - Study contents

    /// The study's line of `trajprobe runs`: status and counts.
    public func summary() throws -> RunSummary {
        try db.read { db in try Self.fetchSummaries(db, only: self.runID)[0] }
    }

    /// The clips registered, in registration order.
    public func clips() throws -> [ClipInfo] {
        try db.read { db in try self.clips(db) }
    }

    func clips(_ db: Database) throws -> [ClipInfo] {
        try Row.fetchAll(db, sql: "SELECT * FROM clips WHERE run = ? ORDER BY name", arguments: [runID.rawValue]).map {
            ClipInfo(id: ClipID($0["id"]), spec: Self.clipSpec($0))
        }
    }

    /// The arms registered, in registration order.
    public func arms() throws -> [ArmInfo] {
        try db.read { db in try self.arms(db) }
    }

    func arms(_ db: Database) throws -> [ArmInfo] {
        try Row.fetchAll(db, sql: "SELECT * FROM arms WHERE run = ? ORDER BY label", arguments: [runID.rawValue]).map { row in
            let family = ArmFamily(rawValue: row["family"]) ?? .trajectory
            let knobs = (try? JSONDecoder().decode([String: Double].self, from: Data((row["knobs_json"] as String).utf8))) ?? [:]
            return ArmInfo(id: ArmID(row["id"]), spec: ArmSpec(family: family, knobs: knobs, tag: ArmSpec.tag(inLabel: row["label"])), label: row["label"],
                           isBaseline: row["is_baseline"], baselineLabel: row["baseline_label"])
        }
    }

    /// The arm registered under this canonical label, if any.
    public func arm(label: String) throws -> ArmInfo? {
        try arms().first { $0.label == label }
    }

    /// The steps registered, sorted by j.
    public func steps() throws -> [Step] {
        try db.read { db in try self.steps(db) }
    }

    func steps(_ db: Database) throws -> [Step] {
        try Row.fetchAll(db, sql: "SELECT j, t FROM steps WHERE run = ? ORDER BY j", arguments: [runID.rawValue]).map {
            Step(j: $0[0], t: $0[1])
        }
    }

    /// The schedules saved with the study.
    public func schedules() throws -> [SavedSchedule] {
        try db.read { db in try self.schedules(db) }
    }

    func schedules(_ db: Database) throws -> [SavedSchedule] {
        try Row.fetchAll(db, sql: "SELECT name, created, format, body FROM schedules WHERE run = ? ORDER BY name", arguments: [runID.rawValue]).map {
            SavedSchedule(name: $0[0], created: $0[1], format: $0[2], body: $0[3])
        }
    }

    /// The whole study in memory as plain values, read in one consistent transaction: what the
    /// Report module works from. Maps are left out (large); read them with `maps(arm:)`.
    public func snapshot() throws -> StudySnapshot {
        try db.read { db in
            let measurements = try self.measurements(db)
            return StudySnapshot(run: try Self.fetchSummaries(db, only: self.runID)[0], clips: try self.clips(db),
                                 arms: try self.arms(db), steps: try self.steps(db), measurements: measurements,
                                 failedUnits: try self.failedUnits(db), schedules: try self.schedules(db))
        }
    }

    func measurements(_ db: Database) throws -> [MeasurementRow] {
        let cursor = try Row.fetchCursor(db, sql: """
            SELECT arm, clip, step, seed, metric, region, value, protocol FROM measurements WHERE run = ?
            ORDER BY arm, step, metric, region, clip, seed
            """, arguments: [runID.rawValue])
        var out: [MeasurementRow] = []
        while let row = try cursor.next() {
            out.append(MeasurementRow(clip: ClipID(row[1]), arm: ArmID(row[0]), step: row[2], seed: row[3], metric: row[4],
                                   region: row[5], value: (row[6] as Double?) ?? .nan, protocolName: row[7]))
        }
        return out
    }

    // MARK: - Report queries

    /// Every clip's (and seed's) value for one arm, step, metric and region, by clip then seed.
    public func values(arm: ArmID, step: Int, metric: String, region: String) throws -> [ClipValue] {
        try db.read { db in
            try Row.fetchAll(db, sql: """
                SELECT clip, seed, value FROM measurements
                WHERE run = ? AND arm = ? AND step = ? AND metric = ? AND region = ? ORDER BY clip, seed
                """, arguments: [runID.rawValue, arm.rawValue, step, metric, region]).map {
                ClipValue(clip: ClipID($0[0]), seed: $0[1], value: ($0[2] as Double?) ?? .nan)
            }
        }
    }

    /// Values of two arms at one step paired by clip and seed (pairs missing under either arm
    /// are left out): the input of the report's paired differences and bootstrap.
    public func pairedValues(_ a: ArmID, _ b: ArmID, step: Int, metric: String, region: String) throws -> [PairedValue] {
        try db.read { db in
            try Row.fetchAll(db, sql: """
                SELECT x.clip, x.seed, x.value, y.value FROM measurements x
                JOIN measurements y ON y.run = x.run AND y.arm = ? AND y.step = x.step AND y.metric = x.metric
                  AND y.region = x.region AND y.clip = x.clip AND y.seed = x.seed
                WHERE x.run = ? AND x.arm = ? AND x.step = ? AND x.metric = ? AND x.region = ?
                ORDER BY x.clip, x.seed
                """, arguments: [b.rawValue, runID.rawValue, a.rawValue, step, metric, region]).map {
                PairedValue(clip: ClipID($0[0]), seed: $0[1], a: ($0[2] as Double?) ?? .nan, b: ($0[3] as Double?) ?? .nan)
            }
        }
    }

    /// GT values (metrics of the reference clip itself) per clip. GT rows are stored with the arm
    /// that carried them (a long CSV file repeats them in every arm's file); the lowest arm id's
    /// row is returned, seed 0 first.
    public func gtValues(metric: String, region: String) throws -> [ClipID: Double] {
        try db.read { db in
            let rows = try Row.fetchAll(db, sql: """
                SELECT clip, value FROM measurements WHERE run = ? AND step = ? AND metric = ? AND region = ?
                ORDER BY clip, arm DESC, seed DESC
                """, arguments: [runID.rawValue, gtStep, metric, region])
            var out: [ClipID: Double] = [:]
            for row in rows { out[ClipID(row[0])] = (row[1] as Double?) ?? .nan }
            return out
        }
    }

    /// Mean ± sample SD over clips and seeds at every step of one arm (GT row first if stored).
    /// Two-pass over each step's values, so large means do not cancel the variance away.
    public func curve(arm: ArmID, metric: String, region: String) throws -> [CurvePoint] {
        try db.read { db in
            let rows = try Row.fetchAll(db, sql: """
                SELECT m.step, s.t, m.value FROM measurements m
                LEFT JOIN steps s ON s.run = m.run AND s.j = m.step
                WHERE m.run = ? AND m.arm = ? AND m.metric = ? AND m.region = ? AND m.value IS NOT NULL
                ORDER BY m.step
                """, arguments: [runID.rawValue, arm.rawValue, metric, region])
            var points: [CurvePoint] = []
            var start = 0
            while start < rows.count {
                let step: Int = rows[start][0]
                var end = start
                while end < rows.count && rows[end][0] as Int == step { end += 1 }
                let values = rows[start..<end].map { $0[2] as Double }
                let mean = values.reduce(0, +) / Double(values.count)
                let ss = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) }
                let sd = values.count > 1 ? (ss / Double(values.count - 1)).squareRoot() : .nan
                points.append(CurvePoint(step: step, t: rows[start][1], mean: mean, standardDeviation: sd, count: values.count))
                start = end
            }
            return points
        }
    }

    /// Spatial maps of one arm (optionally one step), by clip, step, seed and name.
    public func maps(arm: ArmID, step: Int? = nil) throws -> [StoredMap] {
        try db.read { db in
            try Row.fetchAll(db, sql: """
                SELECT clip, step, seed, name, shape, data FROM maps WHERE run = ? AND arm = ? \(step == nil ? "" : "AND step = \(step!)")
                ORDER BY clip, step, seed, name
                """, arguments: [runID.rawValue, arm.rawValue]).map {
                StoredMap(key: UnitKey(clip: ClipID($0[0]), arm: arm, step: $0[1], seed: $0[2]),
                          map: MapBlob(name: $0[3], shape: Self.parseShape($0[4]), values: Self.floats($0[5])))
            }
        }
    }
}
