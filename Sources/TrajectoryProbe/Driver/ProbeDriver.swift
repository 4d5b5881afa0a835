import CBLAS
import Digest
import Foundation
import Logging
import Measurement
import Media
import Metrics
import Store
import Support

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
            let values = try UnitMeasurer.gtMeasurements(p, sync: session.measurer.sync)
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

final class Counter: Sendable {
    private let total = Locked(0)
    func add(_ n: Int) { total.withLock { $0 += n } }
    var value: Int { total.snapshot }
}

final class FailureLog: Sendable {
    private let entries = Locked<[String]>([])
    func add(_ line: String) { entries.withLock { $0.append(line) } }
    var lines: [String] { entries.snapshot }
}
