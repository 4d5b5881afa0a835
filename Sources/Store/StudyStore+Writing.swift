import Foundation
import GRDB

extension StudyStore {
    // MARK: - Registration

    /// Registers a clip by name, returning its id. Registering the same name again returns the
    /// same id; a bare name (as CSV imports register) matches any registration, and a full spec
    /// fills in a bare one. Differing attributes are an error.
    @discardableResult
    public func registerClip(_ spec: ClipSpec) throws -> ClipID {
        try checkWritable()
        return try db.write { db in try self.registerClip(db, spec) }
    }

    func registerClip(_ db: Database, _ spec: ClipSpec) throws -> ClipID {
        try Self.checkName(spec.name, what: "clip", path: path)
        if let row = try Row.fetchOne(db, sql: "SELECT * FROM clips WHERE run = ? AND name = ?", arguments: [runID.rawValue, spec.name]) {
            let stored = Self.clipSpec(row)
            let id = ClipID(row["id"])
            if stored == spec || spec == ClipSpec(name: spec.name) { return id }
            if stored == ClipSpec(name: spec.name) {
                try db.execute(sql: """
                    UPDATE clips SET reference_path = ?, audio_path = ?, mask_path = ?, reference_sha256 = ?,
                      audio_sha256 = ?, mask_sha256 = ?, frames = ?, fps = ?, mask = ? WHERE id = ?
                    """, arguments: [spec.referencePath, spec.audioPath, spec.maskPath, spec.referenceSHA256,
                                     spec.audioSHA256, spec.maskSHA256, spec.frames, spec.fps, spec.mask, id.rawValue])
                return id
            }
            throw StoreError.registrationConflict(path: path, what: "clip '\(spec.name)'", problem: Self.clipDifferences(stored, spec).joined(separator: ", "))
        }
        try db.execute(sql: """
            INSERT INTO clips (run, name, reference_path, audio_path, mask_path, reference_sha256, audio_sha256,
                               mask_sha256, frames, fps, mask) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, arguments: [runID.rawValue, spec.name, spec.referencePath, spec.audioPath, spec.maskPath, spec.referenceSHA256,
                             spec.audioSHA256, spec.maskSHA256, spec.frames, spec.fps, spec.mask])
        return ClipID(db.lastInsertedRowID)
    }

    static func clipSpec(_ row: Row) -> ClipSpec {
        ClipSpec(name: row["name"], referencePath: row["reference_path"], audioPath: row["audio_path"],
                 maskPath: row["mask_path"], referenceSHA256: row["reference_sha256"], audioSHA256: row["audio_sha256"],
                 maskSHA256: row["mask_sha256"], frames: row["frames"], fps: row["fps"], mask: row["mask"])
    }

    static func clipDifferences(_ a: ClipSpec, _ b: ClipSpec) -> [String] {
        var out: [String] = []
        if a.referencePath != b.referencePath { out.append("reference path") }
        if a.audioPath != b.audioPath { out.append("audio path") }
        if a.maskPath != b.maskPath { out.append("mask path") }
        if a.referenceSHA256 != b.referenceSHA256 { out.append("reference sha256") }
        if a.audioSHA256 != b.audioSHA256 { out.append("audio sha256") }
        if a.maskSHA256 != b.maskSHA256 { out.append("mask sha256") }
        if a.frames != b.frames { out.append("frames") }
        if a.fps != b.fps { out.append("fps") }
        if a.mask != b.mask { out.append("mask") }
        return out
    }

    /// Registers an arm by its canonical label, returning its id (the same id on repeats).
    /// `isBaseline` / `baselineLabel` record the registry's `baseline` field; registering again
    /// with different baseline declarations is an error.
    @discardableResult
    public func registerArm(_ spec: ArmSpec, isBaseline: Bool = false, baselineLabel: String? = nil) throws -> ArmID {
        try checkWritable()
        return try db.write { db in try self.registerArm(db, spec, isBaseline: isBaseline, baselineLabel: baselineLabel) }
    }

    func registerArm(_ db: Database, _ spec: ArmSpec, isBaseline: Bool = false, baselineLabel: String? = nil) throws -> ArmID {
        let label = spec.label
        if let row = try Row.fetchOne(db, sql: "SELECT id, is_baseline, baseline_label FROM arms WHERE run = ? AND label = ?",
                                      arguments: [runID.rawValue, label]) {
            let id = ArmID(row["id"])
            let storedBase: Bool = row["is_baseline"]
            let storedLabel: String? = row["baseline_label"]
            if (storedBase, storedLabel) == (isBaseline, baselineLabel) || (!isBaseline && baselineLabel == nil) { return id }
            if !storedBase && storedLabel == nil {
                try db.execute(sql: "UPDATE arms SET is_baseline = ?, baseline_label = ? WHERE id = ?",
                               arguments: [isBaseline, baselineLabel, id.rawValue])
                return id
            }
            throw StoreError.registrationConflict(path: path, what: "arm '\(label)'", problem: "declared with another baseline")
        }
        try db.execute(sql: "INSERT INTO arms (run, family, knobs_json, label, is_baseline, baseline_label) VALUES (?, ?, ?, ?, ?, ?)",
                       arguments: [runID.rawValue, spec.family.rawValue, Self.knobsJSON(spec.knobs), label, isBaseline, baselineLabel])
        return ArmID(db.lastInsertedRowID)
    }

    /// Knobs as JSON with sorted keys and the label's number format, so equal specs give equal text.
    static func knobsJSON(_ knobs: [String: Double]) -> String {
        "{" + knobs.keys.sorted().map { "\"\($0)\":\(ArmSpec.format(knobs[$0]!))" }.joined(separator: ",") + "}"
    }

    /// Tolerance on t when a step is registered twice: the long CSV files of existing scripts
    /// print t with 6 decimals, the probe with full precision; both name the same step.
    static let stepTolerance = 1e-6

    /// Registers the study's steps (j, t). Repeats within `stepTolerance` keep the stored t;
    /// a different t for a registered j is an error.
    public func registerSteps(_ steps: [Step]) throws {
        try checkWritable()
        try db.write { db in try self.registerSteps(db, steps) }
    }

    /// ``registerSteps(_:)`` from (j, t) pairs, as a schedule lists them.
    public func registerSteps(_ steps: [(j: Int, t: Double)]) throws {
        try registerSteps(steps.map { Step(j: $0.j, t: $0.t) })
    }

    func registerSteps(_ db: Database, _ steps: [Step]) throws {
        let select = try db.cachedStatement(sql: "SELECT t FROM steps WHERE run = ? AND j = ?")
        let insert = try db.cachedStatement(sql: "INSERT INTO steps (run, j, t) VALUES (?, ?, ?)")
        for step in steps {
            guard step.t.isFinite else {
                throw StoreError.registrationConflict(path: path, what: "step \(step.j)", problem: "t = \(step.t) is not a number")
            }
            if let t = try Double.fetchOne(select, arguments: [runID.rawValue, step.j]) {
                if abs(t - step.t) > Self.stepTolerance {
                    throw StoreError.registrationConflict(path: path, what: "step \(step.j)", problem: "t = \(t) stored, \(step.t) given")
                }
            } else {
                try insert.execute(arguments: [runID.rawValue, step.j, step.t])
            }
        }
    }

    // MARK: - Units

    /// Writes one unit (its measurements and maps, and its `done` mark) in one transaction.
    ///
    /// A unit already done with exactly these values (bitwise, NaN equal to NaN) is left as is and
    /// reported `.unchanged`, so a resumed probe may redo a unit harmlessly; other values are a
    /// `StoreError.unitConflict`, never a silent overwrite. A unit marked failed is replaced.
    @discardableResult
    public func writeUnit(_ result: UnitResult) throws -> WriteOutcome {
        try checkWritable()
        return try db.writeWithoutTransaction { db in
            // BEGIN/COMMIT as cached statements: GRDB's inTransaction re-parses both per call,
            // measurable at one transaction per unit. IMMEDIATE takes the write lock up front,
            // so a concurrent writer waits (busy timeout) instead of failing mid-unit.
            try db.cachedStatement(sql: "BEGIN IMMEDIATE TRANSACTION").execute()
            let outcome: WriteOutcome
            do {
                outcome = try self.writeUnit(db, result, finished: Self.timestamp())
                try db.cachedStatement(sql: "COMMIT TRANSACTION").execute()
            } catch {
                if db.isInsideTransaction { try? db.execute(sql: "ROLLBACK TRANSACTION") }
                throw error
            }
            // Remembered only once committed: a rolled-back registration's id may be reused.
            self.validated.insert(result.key)
            return outcome
        }
    }

    /// - parameter mapsKnown: false when the source cannot carry maps (a long CSV file): a stored
    ///   unit then compares on its measurements alone, so a study's own export imports back as
    ///   unchanged.
    func writeUnit(_ db: Database, _ result: UnitResult, finished: String, mapsKnown: Bool = true) throws -> WriteOutcome {
        let key = result.key
        try checkUnitKey(db, key)
        let measurements = try uniqueMeasurements(result)
        for map in result.maps { try checkMap(db, key, map) }
        let run = runID.rawValue, arm = key.arm.rawValue, clip = key.clip.rawValue
        // Claim the unit first: one statement for the common case (a new unit); only when the
        // row exists do we look at what is stored.
        let claim = RawInsert(statement: try db.cachedStatement(sql: """
            INSERT INTO units (run, arm, clip, step, seed, status, reason, finished) VALUES (?, ?, ?, ?, ?, 'done', NULL, ?)
            ON CONFLICT DO NOTHING
            """))
        if try !claim.claimUnit(db, run: run, arm: arm, clip: clip, step: key.step, seed: key.seed, finished: finished) {
            let status = try String.fetchOne(
                db.cachedStatement(sql: "SELECT status FROM units WHERE run = ? AND arm = ? AND clip = ? AND step = ? AND seed = ?"),
                arguments: [run, arm, clip, key.step, key.seed])
            if status == "done" {
                if let problem = try differenceFromStored(db, key, measurements: measurements, maps: mapsKnown ? result.maps : nil) {
                    throw StoreError.unitConflict(path: path, unit: describe(db, key), problem: problem)
                }
                return .unchanged
            }
            try db.execute(sql: "UPDATE units SET status = 'done', reason = NULL, finished = ? WHERE run = ? AND arm = ? AND clip = ? AND step = ? AND seed = ?",
                           arguments: [finished, run, arm, clip, key.step, key.seed])
        }
        let insert = RawInsert(statement: try db.cachedStatement(sql: """
            INSERT INTO measurements (run, arm, clip, step, seed, metric, region, value, protocol)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            """))
        for m in measurements {
            try insert.insert(db, run: run, arm: arm, clip: clip, step: key.step, seed: key.seed, m)
        }
        if !result.maps.isEmpty {
            let insertMap = try db.cachedStatement(sql: """
                INSERT INTO maps (run, arm, clip, step, seed, name, shape, dtype, data) VALUES (?, ?, ?, ?, ?, ?, ?, 'f32le', ?)
                """)
            for map in result.maps {
                try insertMap.execute(arguments: [run, arm, clip, key.step, key.seed, map.name,
                                                  Self.shapeText(map.shape), Self.blob(map.values)])
            }
        }
        return .written
    }

    /// Marks a unit failed with a reason code (`no_face`, `too_short: 3 frames`, …) so the report
    /// can say why a number is missing; a later `writeUnit` replaces the mark.
    /// - throws: `StoreError.unitConflict` when the unit is already done.
    public func markFailed(_ key: UnitKey, reason: String) throws {
        try checkWritable()
        try db.write { db in
            try self.checkUnitKey(db, key)
            let status = try String.fetchOne(db, sql: "SELECT status FROM units WHERE run = ? AND arm = ? AND clip = ? AND step = ? AND seed = ?",
                                             arguments: [self.runID.rawValue, key.arm.rawValue, key.clip.rawValue, key.step, key.seed])
            if status == "done" {
                throw StoreError.unitConflict(path: self.path, unit: self.describe(db, key), problem: "it is done; cannot mark it failed")
            }
            try db.execute(sql: "INSERT OR REPLACE INTO units (run, arm, clip, step, seed, status, reason, finished) VALUES (?, ?, ?, ?, ?, 'failed', ?, ?)",
                           arguments: [self.runID.rawValue, key.arm.rawValue, key.clip.rawValue, key.step, key.seed, reason, Self.timestamp()])
        }
    }

    /// The units whose results are stored whole: what a resumed probe skips.
    public func finishedUnits() throws -> Set<UnitKey> {
        try db.read { db in
            let rows = try Row.fetchCursor(db, sql: "SELECT arm, clip, step, seed FROM units WHERE run = ? AND status = 'done'",
                                           arguments: [runID.rawValue])
            var out = Set<UnitKey>()
            while let row = try rows.next() {
                out.insert(UnitKey(clip: ClipID(row[1]), arm: ArmID(row[0]), step: row[2], seed: row[3]))
            }
            return out
        }
    }

    /// The units stored as failed, with their reasons.
    public func failedUnits() throws -> [FailedUnit] {
        try db.read { db in try self.failedUnits(db) }
    }

    func failedUnits(_ db: Database) throws -> [FailedUnit] {
        try Row.fetchAll(db, sql: "SELECT arm, clip, step, seed, reason FROM units WHERE run = ? AND status = 'failed' ORDER BY arm, clip, step, seed",
                         arguments: [runID.rawValue]).map {
            FailedUnit(key: UnitKey(clip: ClipID($0[1]), arm: ArmID($0[0]), step: $0[2], seed: $0[3]), reason: $0[4] ?? "")
        }
    }

    /// Sets the study's status; `finished`, `incomplete` and `failed` also stamp the finish time.
    public func setStatus(_ status: RunStatus) throws {
        try checkWritable()
        try db.write { db in
            let stamp: String? = (status == .finished || status == .failed || status == .imported || status == .merged
                                  || status == .incomplete) ? Self.timestamp() : nil
            try db.execute(sql: "UPDATE runs SET status = ?, finished = ? WHERE id = ?", arguments: [status.rawValue, stamp, self.runID.rawValue])
        }
    }

    /// Saves a derived schedule (YAML or JSON text) with the study; saving a name again replaces it.
    public func saveSchedule(name: String, format: String, body: String) throws {
        try checkWritable()
        try db.write { db in
            try db.execute(sql: "INSERT OR REPLACE INTO schedules (run, name, created, format, body) VALUES (?, ?, ?, ?, ?)",
                           arguments: [self.runID.rawValue, name, Self.timestamp(), format, body])
        }
    }

    // MARK: - Helpers

    /// Names are SQLite text, which a NUL would cut short (`id0\0c2` read back as `id0`).
    static func checkName(_ name: String, what: String, path: String) throws {
        if name.unicodeScalars.contains(where: { $0.value == 0 }) {
            throw StoreError.invalidName(path: path, what: what, name: name.replacingOccurrences(of: "\0", with: "\\0"),
                                         problem: "it contains a NUL character")
        }
    }

    func checkUnitKey(_ db: Database, _ key: UnitKey) throws {
        // Registrations are never deleted, so a key part checked in a committed write stays valid.
        if validated.contains(key) { return }
        if !validated.contains(arm: key.arm) {
            let armOK = try Bool.fetchOne(db.cachedStatement(sql: "SELECT 1 FROM arms WHERE id = ? AND run = ?"),
                                          arguments: [key.arm.rawValue, runID.rawValue]) ?? false
            guard armOK else { throw StoreError.unknownReference(path: path, what: "\(key.arm)") }
        }
        if !validated.contains(clip: key.clip) {
            let clipOK = try Bool.fetchOne(db.cachedStatement(sql: "SELECT 1 FROM clips WHERE id = ? AND run = ?"),
                                           arguments: [key.clip.rawValue, runID.rawValue]) ?? false
            guard clipOK else { throw StoreError.unknownReference(path: path, what: "\(key.clip)") }
        }
        if key.step != gtStep && !validated.contains(step: key.step) {
            let stepOK = try Bool.fetchOne(db.cachedStatement(sql: "SELECT 1 FROM steps WHERE run = ? AND j = ?"),
                                           arguments: [runID.rawValue, key.step]) ?? false
            guard stepOK else { throw StoreError.unknownReference(path: path, what: "step \(key.step) (register the steps first)") }
        }
    }

    /// The unit's measurements with exact repeats dropped; the same (metric, region) with two
    /// values is refused.
    func uniqueMeasurements(_ result: UnitResult) throws -> [MeasurementValue] {
        // Units hold a handful of rows: a quadratic scan beats hashing concatenated keys.
        let all = result.measurements
        var drop: [Int] = []
        for i in all.indices {
            for j in all.indices where j < i && all[j].metric == all[i].metric && all[j].region == all[i].region {
                if all[j].sameAs(all[i]) { drop.append(i); break }
                throw StoreError.unitConflict(path: path, unit: "\(result.key)", problem: "\(all[i].metric)/\(all[i].region) given twice with different values")
            }
        }
        if drop.isEmpty { return all }
        return all.indices.filter { !drop.contains($0) }.map { all[$0] }
    }

    /// nil when the stored unit holds exactly these measurements and maps (nil `maps`: not
    /// compared); otherwise what differs.
    func differenceFromStored(_ db: Database, _ key: UnitKey, measurements: [MeasurementValue], maps: [MapBlob]?) throws -> String? {
        let stored = try storedMeasurements(db, key)
        var byKey: [String: MeasurementValue] = [:]
        for m in stored { byKey[m.metric + "\u{1F}" + m.region] = m }
        if stored.count != measurements.count {
            return "\(stored.count) measurements stored, \(measurements.count) given"
        }
        for m in measurements {
            guard let s = byKey[m.metric + "\u{1F}" + m.region] else { return "\(m.metric)/\(m.region) not stored" }
            if !s.sameAs(m) { return "\(m.metric)/\(m.region): \(Self.format(s.value)) stored, \(Self.format(m.value)) given" }
        }
        guard let maps else { return nil }
        let storedMaps = try storedMaps(db, key)
        if Set(storedMaps) != Set(maps) { return "maps differ" }
        return nil
    }

    func storedMeasurements(_ db: Database, _ key: UnitKey) throws -> [MeasurementValue] {
        try Row.fetchAll(db.cachedStatement(sql: """
            SELECT metric, region, value, protocol FROM measurements WHERE run = ? AND arm = ? AND step = ? AND clip = ? AND seed = ?
            """), arguments: [runID.rawValue, key.arm.rawValue, key.step, key.clip.rawValue, key.seed]).map {
            MeasurementValue(metric: $0[0], region: $0[1], value: ($0[2] as Double?) ?? .nan, protocolName: $0[3])
        }
    }

    func storedMaps(_ db: Database, _ key: UnitKey) throws -> [MapBlob] {
        try Row.fetchAll(db, sql: "SELECT name, shape, data FROM maps WHERE run = ? AND arm = ? AND clip = ? AND step = ? AND seed = ? ORDER BY name",
                         arguments: [runID.rawValue, key.arm.rawValue, key.clip.rawValue, key.step, key.seed]).map {
            MapBlob(name: $0[0], shape: Self.parseShape($0[1]), values: Self.floats($0[2]))
        }
    }

    func checkMap(_ db: Database, _ key: UnitKey, _ map: MapBlob) throws {
        let count = map.shape.reduce(1, *)
        guard !map.shape.isEmpty, map.shape.allSatisfy({ $0 >= 0 }), count == map.values.count else {
            throw StoreError.unitConflict(path: path, unit: "\(key)", problem: "map '\(map.name)' has shape \(map.shape) but \(map.values.count) values")
        }
    }

    func describe(_ db: Database, _ key: UnitKey) -> String {
        let clip = (try? String.fetchOne(db, sql: "SELECT name FROM clips WHERE id = ?", arguments: [key.clip.rawValue])) ?? nil
        let arm = (try? String.fetchOne(db, sql: "SELECT label FROM arms WHERE id = ?", arguments: [key.arm.rawValue])) ?? nil
        return "clip=\(clip ?? "\(key.clip)") arm='\(arm ?? "\(key.arm)")' step=\(key.step) seed=\(key.seed)"
    }

    static func shapeText(_ shape: [Int]) -> String { "[" + shape.map(String.init).joined(separator: ",") + "]" }

    static func parseShape(_ text: String) -> [Int] {
        text.trimmingCharacters(in: CharacterSet(charactersIn: "[]")).split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
    }

    /// float32 little-endian bytes.
    static func blob(_ values: [Float]) -> Data {
        var data = Data(count: values.count * 4)
        data.withUnsafeMutableBytes { raw in
            for (i, v) in values.enumerated() { raw.storeBytes(of: v.bitPattern.littleEndian, toByteOffset: i * 4, as: UInt32.self) }
        }
        return data
    }

    static func floats(_ data: Data) -> [Float] {
        data.withUnsafeBytes { raw in
            (0..<(raw.count / 4)).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self))) }
        }
    }

    /// The exact text of a stored number: shortest round-trip form, `nan`, `inf`, `-inf`.
    package static func format(_ value: Double) -> String {
        if value.isNaN { return "nan" }
        if value.isInfinite { return value < 0 ? "-inf" : "inf" }
        return "\(value)"
    }
}
