import CBLAS
import Digest
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

    /// Options of one run; all units, one lane per core unless given.
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
    /// Units written so far.
    public var done: Int
    /// Units that failed so far.
    public var failed: Int
    /// Units found finished in the database and skipped.
    public var skipped: Int
    /// What the run is doing now, for a status line ("decoding bank", "probing").
    public var phase: String
}

/// What a finished run did.
public struct ProbeSummary: Sendable {
    /// The database written.
    public var database: URL
    /// The study's name.
    public var studyName: String
    /// Units written by this run.
    public var written: Int
    /// Units that failed in this run.
    public var failed: Int
    /// Units already stored, skipped.
    public var skipped: Int
    /// Wall time of the run.
    public var seconds: Double
    /// Teacher evaluations this run made.
    public var teacherPasses: Int
    /// The fitted FaceSync-CCA model file, when the study uses it.
    public var syncModelPath: String?
    /// One line per failed unit.
    public var failures: [String]
    /// Units this run probed but found already stored with the same values when it came to
    /// write them: another process (a concurrent probe of the same study) wrote them first.
    public var storedByOthers: Int = 0
    /// The study's status when the run ended: `finished`, or `incomplete` with failed units.
    public var status: RunStatus = .running
    /// Peak resident memory of the process (bytes), for the limits the README states.
    public var peakResidentBytes: Int = 0
}

/// Runs a study: decodes the probe set, builds the teacher and the sync model, and probes every
/// (clip, arm, step, seed) unit, writing each unit to the Store in one transaction.
///
/// Resumable: units already in the database are skipped, so a killed run continues where it
/// stopped and ends with the same numbers as an uninterrupted one (every unit is a deterministic
/// function of the configuration and its seed).
public struct ProbeDriver: Sendable {
    /// The study file the run follows.
    public let config: ProbeStudyFile

    /// A driver for `config`.
    public init(config: ProbeStudyFile) { self.config = config }

    /// Probes every unit not yet stored; `progress` is called after each.
    public func run(options: ProbeRunOptions, logger: Logger = Logger(label: "trajprobe.probe"),
                    progress: @escaping @Sendable (ProbeProgress) -> Void = { _ in }) async throws -> ProbeSummary {
        let started = Date()
        let status = Status(phase: "decoding clips", progress: progress)
        let session = try await ProbeSession.open(driver: self, options: options, status: status, logger: logger, create: true)
        let (plan, schedule, store) = (session.plan, session.schedule, session.store)
        try store.registerSteps(plan.unitSteps.map { (j: $0, t: schedule.t($0)) })
        let armIDs = try session.register(arms: plan.arms)
        let clipIDs = session.clipIDs
        try store.setStatus(.running)

        // Units: this shard's, minus those already stored.
        let finished = try store.finishedUnits()
        var pending: [ProbeSession.Work] = []
        var skipped = 0, total = 0
        for p in session.probes {
            for seed in config.seeds {
                let owned = plan.units(clip: p.id, seed: seed).filter { options.shard.owns($0, granularity: .clipSeed) }
                let todo = owned.filter { !finished.contains(UnitKey(clip: clipIDs[p.id]!, arm: armIDs[$0.arm]!, step: $0.step, seed: seed)) }
                skipped += owned.count - todo.count
                total += todo.count
                if !todo.isEmpty { pending.append(ProbeSession.Work(clip: p, seed: seed, units: todo)) }
            }
        }
        status.start(total: total, skipped: skipped)

        // GT rows: the reference clip's own measures, the ceilings the report draws.
        for p in session.probes where options.shard.owns(key: "\(p.id)|gt") {
            let values = try ProbeDriver.gtMeasurements(p, sync: session.measurer.sync)
            for a in plan.arms {
                let key = UnitKey(clip: clipIDs[p.id]!, arm: armIDs[a]!, step: gtStep, seed: 0)
                if !finished.contains(key) { _ = try store.writeUnit(UnitResult(key: key, measurements: values)) }
            }
        }

        let (passes, failures, byOthers) = try await session.execute(plan: plan, work: pending, armIDs: armIDs, status: status)
        let counts = status.snapshot
        var final = RunStatus.running
        if counts.done + counts.failed == counts.total {
            final = counts.failed == 0 ? .finished : .incomplete
            try store.setStatus(final)
        }
        // The last connection checkpoints the WAL into the file, so the .sqlite alone holds the study.
        try? store.close()
        logger.info("probe finished", metadata: ["written": "\(counts.done)", "failed": "\(counts.failed)"])
        return ProbeSummary(database: options.database, studyName: options.studyName, written: counts.done - byOthers,
                            failed: counts.failed, skipped: skipped, seconds: Date().timeIntervalSince(started),
                            teacherPasses: passes, syncModelPath: session.syncModelPath, failures: failures,
                            storedByOthers: byOthers, status: final, peakResidentBytes: peakResidentBytes())
    }

    /// Refuses, before decoding, clips that would not fit in memory at `teacher.resolution`: every
    /// clip is held as 8-bit frames twice (reference and GT), as a float tensor, and once more in
    /// the analytic bank; the estimate counts frames from the containers at 25 fps.
    func checkMemory() throws {
        let side = config.teacher.resolution
        var paths = config.probeSet.clips.map(\.video)
        if let bank = config.teacher.bank, let set = try? ProbeSet.load(URL(fileURLWithPath: bank)) { paths += set.clips.map(\.video) }
        var frames = 0
        for path in Set(paths) {
            guard let info = try? VideoReader(path: path).info else { continue }   // decoding names the file later
            frames += Int(min(info.duration * 25 + 1, 1e9))
        }
        let bytesPerFrame = Double(side) * Double(side) * 3 * (1 + 1 + 4 + 4)
        let needed = Double(frames) * bytesPerFrame
        let available = Double(ProcessInfo.processInfo.physicalMemory)
        guard needed <= available * 0.8 else {
            let gb = { (x: Double) in String(format: "%.1f GB", x / 1e9) }
            throw ProbeError.invalidValue(file: config.file, key: "teacher.resolution",
                                          problem: "\(side)x\(side) needs about \(gb(needed)) for the \(frames) frames of the probe set and bank, more than this machine's \(gb(available)) of memory allows: lower it")
        }
    }
}

/// Peak resident set size of this process in bytes (`getrusage`: kilobytes on Linux).
func peakResidentBytes() -> Int {
    var usage = rusage()
    #if os(Linux)
    guard getrusage(RUSAGE_SELF.rawValue, &usage) == 0 else { return 0 }
    return Int(usage.ru_maxrss) * 1024
    #else
    guard getrusage(RUSAGE_SELF, &usage) == 0 else { return 0 }
    return Int(usage.ru_maxrss)
    #endif
}

extension ProbeDriver {

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

    /// The study's parameters as the probe knows them: every setting that changes a number
    /// (schedule, guidance, arms, steps, seeds, metrics, scoring, the teacher's own settings).
    /// The teacher's guidance scale is the file's `teacher.guidance_scale`, else 4.5 when an arm
    /// probes it (OmniAvatar's), else the largest probed scale; the probe's scales are uncond-form.
    func parameters(schedule: ShiftedSchedule, plan: ProbePlan, sync: ClipSyncModel, backend: ProbeBackend,
                    lpips: LPIPS? = nil) -> StudyParameters {
        let scales = plan.arms.compactMap { $0.knobs["w"] ?? $0.knobs["s1"] }.filter { $0 != 1 }
        let guidance = config.teacher.guidanceScale ?? (scales.contains(4.5) ? 4.5 : (scales.max() ?? 1))
        var p = StudyParameters(teacherKind: config.teacher.kind.rawValue, teacherIdentity: backend.identity,
                                modelName: backend.modelName, dropMode: config.teacher.dropMode.rawValue, syncModel: sync.name)
        p.teacherSettings = backend.settings
        p.resolution = config.teacher.resolution
        p.numSteps = schedule.numSteps
        p.shift = config.steps.shift
        p.maxT = config.steps.maxT
        p.guidanceScale = guidance
        p.guidanceSource = config.teacher.guidanceScale != nil ? "teacher.guidance_scale"
            : scales.contains(4.5) ? "probed arms (4.5 probed)" : "probed arms (largest scale)"
        p.cfgForm = .uncond
        p.syncPreset = sync.presetDescription
        p.lpipsWeightsSHA256 = lpips?.weightsSHA256()
        p.metrics = config.metrics
        p.audioFeatures = "log energy dB, zero-crossing rate, MFCC c1 per 40 ms video frame"
        p.probedSteps = plan.steps
        p.seeds = config.seeds
        p.arms = plan.arms.map(\.label)
        p.clips = config.probeSet.clips.map { $0.isDubbed ? "\($0.id) (audio from \($0.audioFrom!))" : $0.id }
        return p
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
