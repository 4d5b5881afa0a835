import Digest
import Foundation
import Store

extension StudyData {
    /// Step times in [0, 1]. Some teachers' analysis scripts (LatentSync, InfiniteTalk) write
    /// the integer timestep (0..1000) in the `t` column; stored as written, read here as t =
    /// timestep / 1000 so schedules and windows come out in the students' [0, 1] convention.
    static func unitTimes(_ steps: [StepTime]) -> [StepTime] {
        guard let top = steps.map(\.t).max(), top > 1.5, top <= 1000 else { return steps }
        return steps.map { StepTime(j: $0.j, t: $0.t / 1000) }
    }

    /// Every study in a database file (or the one named), read-only: reading never modifies it.
    public static func load(database path: String, study: String? = nil) throws -> [StudyData] {
        let url = URL(fileURLWithPath: path)
        let names = try study.map { [$0] } ?? StudyStore.studyNames(at: url)
        guard !names.isEmpty else { throw ReportError.unreadableInput(file: path, problem: "the database holds no study") }
        let bytes = (try? Data(contentsOf: url)) ?? Data()
        let digest = SHA256Digest.hex(bytes)
        return try names.map { name in
            let store = try StudyStore.open(at: url, readOnly: true, study: name)
            return try StudyData(store: store, source: path, databaseSHA256: digest)
        }
    }

    /// The studies `trajprobe report` and `schedule` read from their positional inputs: a `.json`
    /// file is a `StudyData` written by `writeJSON`, anything else a study database (read through
    /// `database`, by default `load(database:study:)`). `study` picks one study by name.
    public static func load(inputs paths: [String], study: String?,
                            database: (_ path: String, _ study: String?) throws -> [StudyData] = { try load(database: $0, study: $1) }) throws -> [StudyData] {
        var out: [StudyData] = []
        for path in paths {
            guard FileManager.default.fileExists(atPath: path) else {
                throw ReportError.unreadableInput(file: path, problem: "no such file")
            }
            if path.hasSuffix(".json") {
                let s = try StudyData(jsonFile: path)
                if let name = study, s.name != name {
                    throw ReportError.unknownStudy(file: path, study: name, available: [s.name])
                }
                out.append(s)
            } else {
                out.append(contentsOf: try database(path, study))
            }
        }
        return out
    }

    /// The report's view of one stored study.
    public init(store: StudyStore, source: String, databaseSHA256: String) throws {
        let snap = try store.snapshot()
        let config = snap.run.config
        // The typed parameters as stored: nothing below has a default (unknown stays nil).
        let p = config.parameters
        let clipNames = Dictionary(uniqueKeysWithValues: snap.clips.map { ($0.id, $0.name) })
        // Student schedules are whole samplings, not per-step probes: `trajprobe search` reads them
        // (StudentScheduleData); the per-step analysis never sees them.
        let probeArms = snap.arms.filter { $0.spec.family != .studentSchedule }
        let armLabels = Dictionary(uniqueKeysWithValues: probeArms.map { ($0.id, $0.label) })
        let rows = snap.measurements.compactMap { m -> LabelledMeasurement? in
            guard let clip = clipNames[m.clip], let arm = armLabels[m.arm] else { return nil }
            return LabelledMeasurement(arm: arm, clip: clip, step: m.step, seed: m.seed, metric: m.metric,
                                         region: m.region, value: m.value)
        }
        var failureCounts: [String: [String: Int]] = [:]
        for f in snap.failedUnits {
            guard let arm = armLabels[f.key.arm] else { continue }
            failureCounts[arm, default: [:]][f.reason, default: 0] += 1
        }
        let failures = failureCounts.keys.sorted().flatMap { arm in
            failureCounts[arm]!.keys.sorted().map { FailedUnits(arm: arm, reason: $0, count: failureCounts[arm]![$0]!) }
        }
        var series: [SyncSeries] = []
        var spatial: [SpatialMap] = []
        for arm in probeArms {
            let maps = try store.maps(arm: arm.id)
            var floors: [String: Double] = [:]
            for m in maps where m.map.name == MapName.spatialFloor {
                let key = "\(m.key.clip)|\(m.key.step)|\(m.key.seed)"
                floors[key] = m.map.values.isEmpty ? 0 : Double(m.map.values.reduce(0, +)) / Double(m.map.values.count)
            }
            for m in maps {
                guard let clip = clipNames[m.key.clip] else { continue }
                switch m.map.name {
                case MapName.syncSeries:
                    let times = m.map.values.indices.map { (Double($0) + 2.5) / 25 }
                    series.append(SyncSeries(arm: arm.label, clip: clip, step: m.key.step, times: times,
                                             values: m.map.values.map(Double.init)))
                case MapName.spatialDifference where m.map.shape.count == 2 && m.key.seed == 0:
                    let key = "\(m.key.clip)|\(m.key.step)|\(m.key.seed)"
                    spatial.append(SpatialMap(arm: arm.label, clip: clip, step: m.key.step, width: m.map.shape[1],
                                              height: m.map.shape[0], values: m.map.values, noiseFloor: floors[key] ?? 0))
                default: break
                }
            }
        }
        let status: StudyStatus
        switch snap.run.status {
        case .running: status = .running
        case .interrupted, .failed: status = .interrupted
        case .incomplete: status = .incomplete
        case .finished, .imported, .merged: status = .finished
        }
        self.init(name: config.name, source: source, teacher: config.teacherKind, modelName: config.modelName,
                  dropMode: config.dropMode, syncModel: config.syncModel, syncPreset: p.syncPreset ?? "",
                  syncWeightsSHA256: config.syncWeightsSHA256 ?? "", databaseSHA256: databaseSHA256,
                  toolkitVersion: config.toolkitVersion, status: status,
                  numSteps: p.numSteps, shift: p.shift, maxT: p.maxT, parameters: p,
                  guidanceScale: p.guidanceScale, guidanceText: p.guidanceText, guidanceAudio: p.guidanceAudio,
                  metricRules: p.metricRules ?? [:],
                  configuration: [:], steps: Self.unitTimes(Self.probeSteps(snap, studentArms: Set(snap.arms.map(\.id)).subtracting(armLabels.keys))),
                  clips: snap.clips.map(\.name), arms: probeArms.map(\.spec), measurements: rows,
                  failures: failures, syncSeries: series, spatialMaps: spatial)
        // A stored search this version cannot read is named in the configuration table (and
        // replaced by the next `trajprobe search`), never a reason not to read the study.
        if let stored = snap.schedules.first(where: { $0.name == SearchResult.storedName && $0.format == "json" }) {
            do { search = try SearchResult.decode(stored.body, source: source) } catch {
                self.configuration["search"] = "stored result unreadable (\(stored.created)): \(error.description); run `trajprobe search` again"
            }
        }
    }

    /// The study's steps without those only student schedules were stored at (their last steps
    /// may lie off the probed grid). A step nothing is stored at yet (a study still starting) stays.
    static func probeSteps(_ snap: StudySnapshot, studentArms: Set<ArmID>) -> [StepTime] {
        var used: [Int: Bool] = [:]
        for m in snap.measurements where m.step != gtStep {
            used[m.step] = (used[m.step] ?? false) || !studentArms.contains(m.arm)
        }
        return snap.steps.filter { used[$0.j] ?? true }.map { StepTime(j: $0.j, t: $0.t) }
    }
}
