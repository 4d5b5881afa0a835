import CBLAS
import Foundation
import Logging
import Media
import Metrics
import Store

/// Where and how a probe run writes.
public struct ProbeRunOptions: Sendable {
    /// The study database (created, or resumed when it exists with the same configuration).
    public var database: URL
    /// The study's name inside the database.
    public var studyName: String
    /// This process's slice of the units (`--shard i/n`); each (clip, seed) stays on one shard so
    /// that no teacher pass is repeated across machines.
    public var shard: Shard
    /// (clip, seed) pairs probed at once; 0 means one per core.
    public var concurrency: Int

    public init(database: URL, studyName: String, shard: Shard = .all, concurrency: Int = 0) {
        self.database = database
        self.studyName = studyName
        self.shard = shard
        self.concurrency = concurrency
    }
}

/// Progress of a run, reported after every unit.
public struct ProbeProgress: Sendable, Equatable {
    /// Units this run has to do (after resume and sharding).
    public var total: Int
    public var done: Int
    public var failed: Int
    /// Units found finished in the database and skipped.
    public var skipped: Int
    /// What the run is doing now, for a status line ("decoding bank", "probing").
    public var phase: String
}

/// What a finished run did.
public struct ProbeSummary: Sendable {
    public var database: URL
    public var studyName: String
    public var written: Int
    public var failed: Int
    public var skipped: Int
    public var seconds: Double
    public var teacherPasses: Int
    /// The fitted FaceSync-CCA model file, when the study uses it.
    public var syncModelPath: String?
    public var failures: [String]
}

/// Runs a study: decodes the probe set, builds the teacher and the sync model, and probes every
/// (clip, arm, step, seed) unit, writing each unit to the Store in one transaction.
///
/// Resumable: units already in the database are skipped, so a killed run continues where it
/// stopped and ends with the same numbers as an uninterrupted one (every unit is a deterministic
/// function of the configuration and its seed).
public struct ProbeDriver: Sendable {
    public let config: StudyConfig

    public init(config: StudyConfig) { self.config = config }

    public func run(options: ProbeRunOptions, logger: Logger = Logger(label: "trajprobe.probe"),
                    progress: @escaping @Sendable (ProbeProgress) -> Void = { _ in }) async throws -> ProbeSummary {
        let started = Date()
        if config.teacher.kind == .imported, let student = config.arms.first(where: { $0.family == .studentSchedule }) {
            throw DriverError.studentScheduleNeedsTeacher(source: config.file, arm: student.label)
        }
        guard config.teacher.kind != .imported else {
            throw DriverError.unsupportedTeacher(kind: "imported", hint: "measure imported prediction videos with `trajprobe import videos`")
        }
        var lpips: LPIPS?
        if config.metrics.contains(MetricName.lpips) {
            guard let weights = config.lpips.weights else {
                throw DriverError.missingWeights(metric: "lpips", hint: StudyConfig.lpipsNeedsWeights)
            }
            lpips = try LPIPS(weights: URL(fileURLWithPath: weights))
        }
        let status = Status(phase: "decoding clips", progress: progress)

        let (bankClips, probes, heldOut) = try await loadClips()
        if lpips != nil {
            for p in probes { try ProbeDriver.checkLPIPSSize(p, logger: logger) }
        }
        status.set(phase: config.teacher.kind == .remote ? "connecting to the teacher" : "building the teacher")
        let backend = try ProbeDriver.backend(config: config, bankClips: bankClips, probes: probes, heldOut: heldOut)
        let teacher = backend.teacher

        // The sync model: SyncNet-v2 when the config gives weights, else FaceSync-CCA fitted on the
        // bank (in-sync clips) at the same resolution.
        let syncModel: ClipSyncModel, syncModelPath: String, syncSHA: String
        if config.sync.model == .syncNetV2, let weights = config.sync.weights {
            let net = try SyncNet(weights: URL(fileURLWithPath: weights))
            let preset = config.sync.preset.flatMap(SyncPreset.named) ?? .syncnetPython
            syncModel = .syncNet(net, preset)
            syncModelPath = weights
            syncSHA = net.weightsSHA256()
        } else {
            guard !bankClips.isEmpty else { throw DriverError.syncModelNeedsBank(file: config.file) }
            status.set(phase: "fitting FaceSync-CCA")
            let syncClips = bankClips.filter { !heldOut.contains($0.id) }.map {
                FaceSyncClip(name: $0.id, frames: $0.frames, audio: $0.audio, mouth: $0.regions.mouthBox)
            }
            let faceSync = try FaceSyncModel.fit(clips: syncClips)
            syncModelPath = options.database.path + ".facesync.json"
            try faceSync.save(to: syncModelPath)
            syncModel = .faceSync(faceSync)
            syncSHA = try fileSHA256(syncModelPath)
        }

        // The study in the database.
        let schedule = try config.schedule()
        let plan = try ProbePlan(arms: config.arms, schedule: schedule, steps: config.steps.subset)
        let studyConfig = Store.StudyConfig(
            name: options.studyName, teacherKind: config.teacher.kind.rawValue,
            teacherIdentity: backend.identity,
            modelName: backend.modelName, dropMode: config.teacher.dropMode.rawValue,
            syncModel: syncModel.name, syncWeightsSHA256: syncSHA,
            libavVersion: MediaLibraries.version,
            configJSON: configJSON(schedule: schedule, plan: plan, sync: syncModel, teacher: backend.description, lpips: lpips))
        let store = try StudyStore.openOrCreate(at: options.database, config: studyConfig)
        try store.registerSteps(plan.unitSteps.map { (j: $0, t: schedule.t($0)) })
        var clipIDMap: [String: ClipID] = [:], armIDMap: [ArmSpec: ArmID] = [:]
        for p in probes { clipIDMap[p.id] = try store.registerClip(p.spec) }
        for a in plan.arms { armIDMap[a] = try store.registerArm(a, isBaseline: ProbeDriver.isBaseline(a)) }
        let clipIDs = clipIDMap, armIDs = armIDMap
        try store.setStatus(.running)

        // Units: this shard's, minus those already stored.
        let finished = try store.finishedUnits()
        var pending: [(clip: ClipData, seed: Int, units: [ProbeUnit])] = []
        var skipped = 0, total = 0
        for p in probes {
            for seed in config.seeds {
                let owned = plan.units(clip: p.id, seed: seed).filter { options.shard.owns($0, granularity: .clipSeed) }
                let todo = owned.filter { !finished.contains(UnitKey(clip: clipIDs[p.id]!, arm: armIDs[$0.arm]!, step: $0.step, seed: seed)) }
                skipped += owned.count - todo.count
                total += todo.count
                if !todo.isEmpty { pending.append((p, seed, todo)) }
            }
        }
        status.start(total: total, skipped: skipped)
        let work = pending

        // GT rows: the reference clip's own measures, the ceilings the report draws.
        for p in probes where options.shard.owns(key: "\(p.id)|gt") {
            let values = try ProbeDriver.gtMeasurements(p, sync: syncModel)
            for a in plan.arms {
                let key = UnitKey(clip: clipIDs[p.id]!, arm: armIDs[a]!, step: gtStep, seed: 0)
                if !finished.contains(key) { _ = try store.writeUnit(UnitResult(key: key, measurements: values)) }
            }
        }

        // Probe (clip, seed) pairs concurrently; OpenBLAS single-threaded inside each so the
        // cores are not oversubscribed.
        // A remote teacher's lanes mostly wait on the network: as many as requests may be in flight.
        let lanes = options.concurrency > 0 ? options.concurrency
            : config.teacher.kind == .remote ? config.teacher.concurrency : ProcessInfo.processInfo.activeProcessorCount
        // The teacher's products are small (a clip's frames against the bank): threads inside one
        // sgemm mostly spin; parallelism across (clip, seed) pairs is what pays.
        openblas_set_num_threads(1)
        let measurer = UnitMeasurer(sync: syncModel, metrics: Set(config.metrics), lpips: lpips)
        let passes = Counter()
        let failures = FailureLog()
        try await withThrowingTaskGroup(of: Void.self) { group in
            var next = 0
            func launch() {
                guard next < work.count else { return }
                let item = work[next]
                next += 1
                group.addTask { try await ProbeDriver.onOwnThread {
                    let wanted = Set(item.units)
                    var written = Set<ProbeUnit>()
                    let clipID = clipIDs[item.clip.id]!
                    do {
                        guard let sub = try plan.pruned(to: item.units) else { return }
                        let probeClip = try backend.probeClip(item.clip)
                        let stats = try sub.run(teacher: teacher, clip: probeClip, seed: item.seed,
                                                decode: { x throws(ProbeError) in try backend.decodeForArms(x) }) { output in
                            guard wanted.contains(output.unit) else { return }
                            let key = UnitKey(clip: clipID, arm: armIDs[output.unit.arm]!, step: output.unit.step, seed: item.seed)
                            do {
                                let frames = try backend.decode(output.x0)
                                let result = try measurer.measure(output, frames: frames, clip: item.clip, key: key)
                                _ = try store.writeUnit(result)
                                written.insert(output.unit)
                                status.unit(failed: false)
                            } catch let error as StoreError {
                                throw error
                            } catch {
                                try store.markFailed(key, reason: "measure: \(error)")
                                written.insert(output.unit)
                                failures.add("\(output.unit): \(error)")
                                status.unit(failed: true)
                            }
                        }
                        passes.add(stats.teacherPasses)
                    } catch let error as StoreError {
                        throw error
                    } catch {
                        // A teacher fault: the rest of this (clip, seed) is recorded as failed, the
                        // study goes on.
                        for u in wanted.subtracting(written) {
                            try store.markFailed(UnitKey(clip: clipID, arm: armIDs[u.arm]!, step: u.step, seed: u.seed),
                                                 reason: "teacher: \(error)")
                            status.unit(failed: true)
                        }
                        failures.add("\(item.clip.id) seed \(item.seed): \(error)")
                    }
                } }
            }
            for _ in 0..<min(lanes, work.count) { launch() }
            while try await group.next() != nil { launch() }
        }
        let counts = status.snapshot
        if counts.done + counts.failed == counts.total { try store.setStatus(.finished) }
        logger.info("probe finished", metadata: ["written": "\(counts.done)", "failed": "\(counts.failed)"])
        return ProbeSummary(database: options.database, studyName: options.studyName, written: counts.done,
                            failed: counts.failed, skipped: skipped, seconds: Date().timeIntervalSince(started),
                            teacherPasses: passes.value, syncModelPath: syncModelPath, failures: failures.lines)
    }

    /// The bank (the analytic teacher itself; for a remote teacher only the in-sync clips
    /// FaceSync-CCA is fitted on, optional with SyncNet), the probe clips, and the clips held out
    /// of the bank (probes and the sources of their dubbed audio).
    func loadClips() async throws -> (bank: [ClipData], probes: [ClipData], heldOut: Set<String>) {
        let resolution = config.teacher.resolution
        let probeIDs = Set(config.probeSet.clips.map(\.id))
        let heldOut = probeIDs.union(config.probeSet.clips.compactMap(\.audioFrom))
        var bankClips: [ClipData] = []
        if let bankPath = config.teacher.bank {
            let bankSet = try ProbeSet.load(URL(fileURLWithPath: bankPath))
            bankClips = try await ProbeDriver.decode(bankSet.clips.filter { !probeIDs.contains($0.id) }, resolution: resolution, gt: { _ in nil })
        } else if config.teacher.kind == .analytic {
            throw ProbeError.missingKey(file: config.file, key: "teacher.bank")
        }
        let probes = try await ProbeDriver.decode(config.probeSet.clips, resolution: resolution) { clip in
            clip.isDubbed ? clip.audio : nil
        }
        return (bankClips, probes, heldOut)
    }

    /// No-CFG arms are the baselines the report normalises against.
    static func isBaseline(_ arm: ArmSpec) -> Bool {
        switch arm.family {
        case .trajectory, .freshNoise, .spatial: return arm.knobs["w"] == 1
        case .eulerJump: return arm.knobs["s0"] == 1 && arm.knobs["s1"] == 1
        case .scheduledCFG: return arm.knobs["w"] == 1
        case .scored: return true
        case .studentSchedule: return StudentScheduleKnobs(arm.knobs)?.guidance.allSatisfy { $0 == 1 } ?? false
        }
    }

    static func decode(_ clips: [ProbeSetClip], resolution: Int,
                       gt: @escaping @Sendable (ProbeSetClip) -> String?) async throws -> [ClipData] {
        try await withThrowingTaskGroup(of: (Int, ClipData).self) { group in
            for (i, c) in clips.enumerated() {
                group.addTask { (i, try ClipData.load(c, resolution: resolution, gtVideo: gt(c))) }
            }
            var out = [ClipData?](repeating: nil, count: clips.count)
            for try await (i, d) in group { out[i] = d }
            return out.map { $0! }
        }
    }

    static func gtMeasurements(_ clip: ClipData, sync model: ClipSyncModel) throws -> [MeasurementValue] {
        var out: [MeasurementValue] = []
        let sync = try model.score(frames: clip.gtFrames, audio: clip.audio, mouth: clip.regions.mouthBox, source: clip.id)
        out.append(MeasurementValue(metric: MetricName.syncC, region: RegionName.face, value: sync.lseC))
        out.append(MeasurementValue(metric: MetricName.syncD, region: RegionName.face, value: sync.lseD))
        out.append(MeasurementValue(metric: MetricName.syncOffset, region: RegionName.face, value: Double(sync.offsetFrames)))
        let sharp = clip.gtFrames.map { (try? Sharpness.laplacianVariance($0, box: clip.regions.mouthBox)) ?? .nan }
        out.append(MeasurementValue(metric: MetricName.sharpness, region: RegionName.mouth, value: sharp.reduce(0, +) / Double(sharp.count)))
        return out
    }

    /// The configuration JSON stored with the study: every setting that changes a number, sorted,
    /// plus the keys the report reads (`num_steps`, `shift`, `max_t`, `guidance_scale`).
    /// Refuses frames too small for LPIPS-AlexNet; warns once per clip when only the mouth crop
    /// is (the study then holds LPIPS for the full frame only).
    static func checkLPIPSSize(_ clip: ClipData, logger: Logger) throws {
        let w = clip.frames[0].width, h = clip.frames[0].height
        guard let regions = UnitMeasurer.lpipsRegions(width: w, height: h, mouth: clip.regions.mouthBox) else {
            throw DriverError.frameTooSmall(clip: clip.id, metric: MetricName.lpips, width: w, height: h, minimum: LPIPS.minimumSide)
        }
        if !regions.contains(.mouth) {
            let b = clip.regions.mouthBox
            logger.warning("clip '\(clip.id)': lpips on the full frame only: the mouth box padded by 4 px (\(b.width + 8)x\(b.height + 8) px at most) is under LPIPS-AlexNet's \(LPIPS.minimumSide) px")
        }
    }

    func configJSON(schedule: TimeSchedule, plan: ProbePlan, sync: ClipSyncModel, teacher: String, lpips: LPIPS? = nil) -> String {
        let scales = plan.arms.compactMap { $0.knobs["w"] ?? $0.knobs["s1"] }.filter { $0 != 1 }
        let guidance = config.teacher.guidanceScale ?? (scales.contains(4.5) ? 4.5 : (scales.max() ?? 1))
        var object: [String: Any] = [
            "num_steps": schedule.numSteps, "shift": config.steps.shift, "max_t": config.steps.maxT,
            "guidance_scale": guidance, "steps": plan.steps, "arms": plan.arms.map(\.label), "seeds": config.seeds,
            "metrics": config.metrics,
            "sync_model": sync.name, "sync_preset": sync.presetDescription,
            "teacher": teacher, "resolution": config.teacher.resolution,
            "audio_features": "log energy dB, zero-crossing rate, MFCC c1 per 40 ms video frame",
            "clips": config.probeSet.clips.map { $0.isDubbed ? "\($0.id) (audio from \($0.audioFrom!))" : $0.id },
        ]
        if let lpips { object["lpips_weights_sha256"] = lpips.weightsSHA256() }
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }
}

/// Thread-safe progress bookkeeping shared by the probe's tasks.
final class Status: @unchecked Sendable {
    private let lock = NSLock()
    private var progress: ProbeProgress
    private let report: @Sendable (ProbeProgress) -> Void

    init(phase: String, progress report: @escaping @Sendable (ProbeProgress) -> Void) {
        self.progress = ProbeProgress(total: 0, done: 0, failed: 0, skipped: 0, phase: phase)
        self.report = report
        report(progress)
    }

    func set(phase: String) { update { $0.phase = phase } }
    func start(total: Int, skipped: Int, phase: String = "probing") { update { $0.total = total; $0.skipped = skipped; $0.phase = phase } }
    func unit(failed: Bool) { update { if failed { $0.failed += 1 } else { $0.done += 1 } } }
    var snapshot: ProbeProgress { lock.lock(); defer { lock.unlock() }; return progress }

    private func update(_ body: (inout ProbeProgress) -> Void) {
        lock.lock()
        body(&progress)
        let copy = progress
        lock.unlock()
        report(copy)
    }
}

final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var total = 0
    func add(_ n: Int) { lock.lock(); total += n; lock.unlock() }
    var value: Int { lock.lock(); defer { lock.unlock() }; return total }
}

final class FailureLog: @unchecked Sendable {
    private let lock = NSLock()
    private var entries: [String] = []
    func add(_ line: String) { lock.lock(); entries.append(line); lock.unlock() }
    var lines: [String] { lock.lock(); defer { lock.unlock() }; return entries }
}
