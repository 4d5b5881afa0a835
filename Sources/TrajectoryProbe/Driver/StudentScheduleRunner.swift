import Foundation
import Logging
import Measurement
import Store

/// One probe clip under one seed: the unit a search promotes (candidates are scored on a few
/// pairs first, the best on all of them).
public struct ClipSeed: Hashable, Codable, Sendable, CustomStringConvertible {
    /// The clip's name.
    public var clip: String
    /// The seed.
    public var seed: Int
    /// A (clip, seed) pair.
    public init(clip: String, seed: Int) { self.clip = clip; self.seed = seed }
    /// `<clip> seed <seed>`.
    public var description: String { "\(clip) seed \(seed)" }
}

/// Runs `student_schedule` arms on a study that was already probed, for `trajprobe search`.
///
/// Opens the study under the configuration it was probed with (a different one is an error
/// naming the differences), builds its teacher and sync model once, and then runs any set of
/// student arms on any (clip, seed) pairs, storing each unit as the probe does: resumable, one
/// transaction per unit, units already stored skipped. Imported studies have no teacher to run
/// a new sampling and are refused.
public final class StudentScheduleRunner: @unchecked Sendable {
    private let session: ProbeSession
    /// Every (clip, seed) pair of the study: probe clips in the probe set's order, seeds in the
    /// study's order, seed-major (every clip once before any clip twice).
    public let pairs: [ClipSeed]
    /// The study's store.
    public var store: StudyStore { session.store }
    /// The study's teacher schedule.
    public var schedule: ShiftedSchedule { session.schedule }

    private init(session: ProbeSession, pairs: [ClipSeed]) {
        self.session = session
        self.pairs = pairs
    }

    /// Opens the probed study `options` names under `config` (a different configuration is an error).
    public static func open(config: ProbeStudyFile, options: ProbeRunOptions, logger: Logger = Logger(label: "trajprobe.search"),
                            progress: @escaping @Sendable (ProbeProgress) -> Void = { _ in }) async throws -> StudentScheduleRunner {
        if config.teacher.kind == .imported {
            throw DriverError.studentScheduleNeedsTeacher(source: config.file, arm: "student_schedule")
        }
        let status = Status(phase: "decoding clips", progress: progress)
        let session = try await ProbeSession.open(driver: ProbeDriver(config: config), options: options, status: status,
                                                  logger: logger, create: false)
        let pairs = config.seeds.flatMap { seed in session.probes.map { ClipSeed(clip: $0.id, seed: seed) } }
        return StudentScheduleRunner(session: session, pairs: pairs)
    }

    /// Teacher passes `pairs` (clip, seed) pairs cost for these arms, run fresh: shared states
    /// counted once within each of the chunks ``chunks(_:pairs:)`` runs them in.
    public func passes(arms: [ArmSpec], pairs: Int) throws -> Int {
        var n = 0
        for chunk in Self.chunks(arms, pairs: pairs) where !chunk.isEmpty {
            n += try ProbePlan(arms: chunk, schedule: session.schedule, steps: []).passCount * pairs
        }
        return n
    }

    /// (clip, seed) pairs run one per core; a round on fewer pairs than `minimumLanes` would leave
    /// cores idle, so each pair's arms are then cut into chunks that run side by side. A chunk
    /// holds whole subtrees (every arm with the same first move), so only the pass at (ε, t_0)
    /// is repeated, once per extra chunk. The cut depends on the arms and the pair count only,
    /// never on the machine, so a resumed search counts the same passes.
    public static let minimumLanes = 8

    static func chunks(_ arms: [ArmSpec], pairs: Int) -> [[ArmSpec]] {
        let k = pairs >= minimumLanes ? 1 : (minimumLanes + pairs - 1) / max(1, pairs)
        guard k > 1 else { return [arms] }
        // Group by the first move (steps[1], g0, transition); one-step students alone.
        var groups: [String: [ArmSpec]] = [:]
        for a in arms {
            let key = StudentScheduleKnobs(a.knobs).map { s in
                s.steps.count > 1 ? "\(s.steps[1]) \(s.guidance[0]) \(s.transition!.rawValue)" : "root"
            } ?? "root"
            groups[key, default: []].append(a)
        }
        // Largest groups first, each to the lightest chunk (ties: the lower index).
        let ordered = groups.keys.sorted { (groups[$0]!.count, $1) > (groups[$1]!.count, $0) }
        var out = [[ArmSpec]](repeating: [], count: k)
        for key in ordered {
            let i = out.indices.min { (out[$0].count, $0) < (out[$1].count, $1) }!
            out[i] += groups[key]!
        }
        return out.filter { !$0.isEmpty }
    }

    /// What a run stored.
    public struct Result: Sendable, Equatable {
        /// Units written.
        public var written: Int
        /// Units that failed.
        public var failed: Int
        /// Units already stored, skipped.
        public var skipped: Int
        /// Teacher evaluations made.
        public var teacherPasses: Int
        /// One line per failed unit.
        public var failures: [String]
    }

    /// Runs `arms` (student schedules only) on `pairs`, skipping units already stored.
    public func run(arms: [ArmSpec], on pairs: [ClipSeed],
                    progress: @escaping @Sendable (ProbeProgress) -> Void = { _ in }) async throws -> Result {
        for a in arms where a.family != .studentSchedule {
            throw ProbeError.invalidArm(label: a.label, problem: "a search runs student_schedule arms only")
        }
        guard !arms.isEmpty, !pairs.isEmpty else { return Result(written: 0, failed: 0, skipped: 0, teacherPasses: 0, failures: []) }
        let plan = try ProbePlan(arms: arms, schedule: session.schedule, steps: [])
        let store = session.store
        try store.registerSteps(plan.unitSteps.map { (j: $0, t: session.schedule.t($0)) })
        let armIDs = try session.register(arms: arms)
        let finished = try store.finishedUnits()
        let clips = Dictionary(uniqueKeysWithValues: session.probes.map { ($0.id, $0) })
        let chunks = Self.chunks(arms, pairs: pairs.count).map(Set.init)
        var work: [ProbeSession.Work] = []
        var skipped = 0, total = 0
        for chunk in chunks {
            for pair in pairs {
                guard let clip = clips[pair.clip], let clipID = session.clipIDs[pair.clip] else {
                    throw ProbeError.invalidArm(label: pair.clip, problem: "no such probe clip in the study")
                }
                let all = plan.units(clip: clip.id, seed: pair.seed).filter { chunk.contains($0.arm) }
                let todo = all.filter { !finished.contains(UnitKey(clip: clipID, arm: armIDs[$0.arm]!, step: $0.step, seed: pair.seed)) }
                skipped += all.count - todo.count
                total += todo.count
                if !todo.isEmpty { work.append(ProbeSession.Work(clip: clip, seed: pair.seed, units: todo)) }
            }
        }
        let status = Status(phase: "searching", progress: progress)
        status.start(total: total, skipped: skipped, phase: "searching")
        let (passes, failures, _) = try await session.execute(plan: plan, work: work, armIDs: armIDs, status: status)
        let counts = status.snapshot
        return Result(written: counts.done, failed: counts.failed, skipped: skipped, teacherPasses: passes, failures: failures)
    }
}
