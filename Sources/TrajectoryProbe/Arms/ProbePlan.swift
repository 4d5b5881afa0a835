import Measurement
import Store

/// The arms of a study grouped by the teacher passes they share.
///
/// CFG is linear, so one (cond, neg) pass at a state gives x0 at every scale. Arms whose states
/// coincide therefore share passes:
/// - fresh noise: every `fresh_noise(w)` and `spatial(w)` arm sees `(1-t_j) x0_ref + t_j ε`:
///   one pass per measured step for the whole sweep (spatial adds one cond-only floor pass);
/// - Euler jump: one pass at step 0, then one pass per distinct `s0` per measured step, shared by
///   every `s1` (the 2x2 factorial costs two passes per step);
/// - student schedules: one pass per distinct prefix of (steps, guidance, transition), with the
///   Euler-jump arms in the same ``PredictionTree`` (a two-step Euler student lands on the
///   `euler_jump` arm's state); the pass at (ε, t_0) is shared with the trajectories too;
/// - trajectories: `trajectory(w)` and `scheduled_cfg(τ, w)` are guidance policies along a sampled
///   path; policies that used the same scales so far share the state and its pass, so
///   `scheduled_cfg(τ, ·)` rides on `trajectory(1)` until τ. Different scales are separate paths.
public struct ProbePlan: Sendable {
    /// The sampler's time grid the steps index into.
    public let schedule: ShiftedSchedule
    /// Measured steps, sorted.
    public let steps: [Int]
    /// Every arm of the plan, as given.
    public let arms: [ArmSpec]
    /// The fresh-noise and spatial arms, sharing one pass per step; nil when the plan has none.
    public let freshNoise: FreshNoiseGroup?
    /// The Euler-jump arms, grouped by `s0`; nil when the plan has none.
    public let eulerJump: EulerJumpGroup?
    /// The trajectory and scheduled-CFG policies along sampled paths; nil when the plan has none.
    public let trajectories: TrajectoryGroup?
    /// Student-schedule arms, one unit each per (clip, seed).
    public let students: [StudentScheduleArm]
    /// The Euler-jump and student-schedule arms' states; nil when the plan has neither.
    let tree: PredictionTree?

    // MARK: - Pass-sharing groups

    /// Fresh-noise and spatial arms: both predict from `(1-t_j) x0_ref + t_j ε`.
    public struct FreshNoiseGroup: Sendable {
        /// Every scale measured (fresh-noise scales, spatial scales and 1 for the spatial base).
        public var scales: [Double]
        /// The `fresh_noise(w)` arms.
        public var freshArms: [FreshNoiseArm]
        /// The `spatial(w)` arms, which add one cond-only noise-floor pass per step.
        public var spatialArms: [SpatialArm]
    }

    /// Euler-jump arms: one pass per distinct `s0` per step serves every `s1`.
    public struct EulerJumpGroup: Sendable {
        /// `s1` scales needed per `s0`, keys sorted.
        public var s1BySs0: [(s0: Double, s1: [Double])]
        /// The `euler_jump(s0, s1)` arms.
        public var arms: [EulerJumpArm]
    }

    /// Guidance policies along sampled paths; policies agreeing so far share the state.
    public struct TrajectoryGroup: Sendable {
        /// Each policy: the arm and its scale at every step 0..<N.
        public var policies: [(spec: ArmSpec, scales: [Double])]
    }

    // MARK: - Planning

    /// Groups `arms` by shared passes, measuring `steps` (default: the schedule's probe steps);
    /// throws on an empty arm list, a bad arm or a step outside the schedule.
    public init(arms: [ArmSpec], schedule: ShiftedSchedule, steps: [Int]? = nil) throws(ProbeError) {
        self.schedule = schedule
        do { self.steps = try schedule.validate(steps: steps ?? Array(schedule.probeSteps)) } catch {
            throw .invalidSchedule(error.problem)
        }
        guard !arms.isEmpty else { throw .invalidArm(label: "", problem: "a plan needs at least one arm") }
        guard Set(arms).count == arms.count else {
            throw .invalidArm(label: arms.map(\.label).joined(separator: ", "), problem: "duplicate arm")
        }
        self.arms = arms
        var fresh: [FreshNoiseArm] = [], spatial: [SpatialArm] = [], jumps: [EulerJumpArm] = []
        var policies: [(ArmSpec, [Double])] = []
        var students: [StudentScheduleArm] = []
        for spec in arms {
            switch try ProbeArms.make(spec, numSteps: schedule.numSteps) {
            case let a as FreshNoiseArm: fresh.append(a)
            case let a as SpatialArm: spatial.append(a)
            case let a as EulerJumpArm: jumps.append(a)
            case let a as TrajectoryArm: policies.append((spec, schedule.probeSteps.map(a.scale(atStep:))))
            case let a as ScheduledCFGArm: policies.append((spec, schedule.probeSteps.map(a.scale(atStep:))))
            case let a as StudentScheduleArm: students.append(a)
            default: throw .invalidArm(label: spec.label, problem: "no runner for this family")
            }
        }
        if fresh.isEmpty && spatial.isEmpty {
            freshNoise = nil
        } else {
            var scales = fresh.map(\.w) + spatial.map(\.w)
            if !spatial.isEmpty { scales.append(1) }
            freshNoise = FreshNoiseGroup(scales: Array(Set(scales)).sorted(), freshArms: fresh, spatialArms: spatial)
        }
        if jumps.isEmpty {
            eulerJump = nil
        } else {
            var by: [Double: Set<Double>] = [:]
            for a in jumps { by[a.s0, default: []].insert(a.s1) }
            eulerJump = EulerJumpGroup(s1BySs0: by.keys.sorted().map { ($0, by[$0]!.sorted()) }, arms: jumps)
        }
        trajectories = policies.isEmpty ? nil : TrajectoryGroup(policies: policies)
        self.students = students
        let tree = PredictionTree(eulerJumps: jumps, steps: self.steps, students: students)
        self.tree = tree.isEmpty ? nil : tree
    }

    /// Steps this plan stores units at: the measured steps (for the per-step arms) and each
    /// student's last step.
    public var unitSteps: [Int] {
        let perStep = arms.count > students.count ? steps : []
        return Array(Set(perStep + students.map(\.unitStep))).sorted()
    }

    /// Branches every pass requests.
    public static let branches: [BranchName] = [.cond, .neg]

    /// Teacher passes one (clip, seed) costs; the floor pass of the spatial arm counts as one.
    public var passCount: Int {
        var n = 0
        if let f = freshNoise { n += steps.count * (f.spatialArms.isEmpty ? 1 : 2) }
        if let tree { n += tree.passCount }
        if let t = trajectories {
            // Distinct policy prefixes at each step = passes at that step; the prefixes are
            // refined step by step (linear in num_steps, as the run itself is).
            var groups: [[Int]] = [Array(t.policies.indices)]
            for j in schedule.probeSteps {
                n += groups.count
                groups = groups.flatMap { members in
                    Dictionary(grouping: members) { t.policies[$0].scales[j] }.sorted { $0.key < $1.key }.map(\.value)
                }
            }
            if tree != nil { n -= 1 }   // the pass at (ε, t_0) is the tree's root
        }
        return n
    }

    // MARK: - Running

    /// What a run did.
    public struct RunStats: Sendable, Equatable {
        /// Teacher passes evaluated: the cost the grouping minimises.
        public var teacherPasses: Int
        /// Predictions handed to the sink (units measured).
        public var outputs: Int
    }

    /// Runs every arm for one clip and seed, handing each unit's prediction to `sink` as soon as
    /// it exists (a clip's predictions at every step and arm do not fit in memory together).
    /// `decode` maps working-space states to frames; spatial arms need it, others ignore it.
    @discardableResult
    public func run(teacher: some Teacher, clip: ProbeClip, seed: Int,
                    decode: ((Tensor) throws(ProbeError) -> Tensor)? = nil,
                    sink: (ProbeOutput) throws -> Void) throws -> RunStats {
        var stats = RunStats(teacherPasses: 0, outputs: 0)
        let eps = clip.epsilon(seed: seed)
        func pass(_ x: Tensor, _ t: Double, _ branches: [BranchName] = ProbePlan.branches) throws(ProbeError) -> TeacherPass {
            stats.teacherPasses += 1
            return try TeacherPass(teacher: teacher, states: x, sigmas: [Double](repeating: t, count: x.rows),
                                   conditioning: clip.conditioning, branches: branches)
        }
        func emit(_ spec: ArmSpec, _ j: Int, _ x0: Tensor, _ maps: SpatialMaps? = nil) throws {
            stats.outputs += 1
            try sink(ProbeOutput(unit: ProbeUnit(clip: clip.id, arm: spec, step: j, seed: seed),
                                 t: schedule.t(j), x0: x0, spatial: maps))
        }
        guard eps.shape == clip.reference.shape else {
            throw ProbeError.shapeMismatch(what: "clip '\(clip.id)' reference", expected: eps.shape, got: clip.reference.shape)
        }

        if let f = freshNoise {
            let floorNoise = f.spatialArms.isEmpty ? nil : clip.floorNoise(seed: seed)
            if !f.spatialArms.isEmpty && decode == nil {
                throw ProbeError.invalidArm(label: f.spatialArms[0].spec.label, problem: "spatial maps need a decoder to frames")
            }
            for j in steps {
                let t = schedule.t(j)
                let xt = try FlowMath.noised(x0: clip.reference, epsilon: eps, t: t)
                let p = try pass(xt, t)
                let byScale = Dictionary(uniqueKeysWithValues: zip(f.scales, Guidance.combine(cond: p[.cond]!, neg: p[.neg]!, scales: f.scales)))
                for a in f.freshArms { try emit(a.spec, j, byScale[a.w]!) }
                if let floorNoise, let decode {
                    let base = try decode(byScale[1]!)
                    let perturbed = xt.combined(1, floorNoise, Float(SpatialArm.floorSigma))
                    let floorPass = try pass(perturbed, t, [.cond])
                    let floorMap = try absDifference(decode(floorPass[.cond]!), base)
                    for a in f.spatialArms {
                        let diff = try absDifference(decode(byScale[a.w]!), base)
                        try emit(a.spec, j, byScale[a.w]!, SpatialMaps(difference: diff, floor: floorMap))
                    }
                }
            }
        }

        // The pass at (ε, t_0): the tree's root and the trajectories' first state.
        var rootPass: TeacherPass?
        func root() throws(ProbeError) -> TeacherPass {
            if let rootPass { return rootPass }
            let p = try pass(eps, schedule.t(0))
            rootPass = p
            return p
        }

        if let tree {
            try tree.run(schedule: schedule, clip: clip, seed: seed, root: root, pass: { x, t in try pass(x, t) },
                         emit: { spec, j, x0 in try emit(spec, j, x0) })
        }

        if let tg = trajectories {
            let measured = Set(steps)
            // Groups of policies sharing a state: (policy indices, state).
            var groups: [([Int], Tensor)] = [(Array(tg.policies.indices), eps)]
            for j in schedule.probeSteps {
                let t = schedule.t(j), tNext = schedule.t(j + 1)
                var next: [([Int], Tensor)] = []
                for (members, x) in groups {
                    let scales = Array(Set(members.map { tg.policies[$0].scales[j] })).sorted()
                    let p = j == 0 ? try root() : try pass(x, t)
                    let byScale = Dictionary(uniqueKeysWithValues: zip(scales, Guidance.combine(cond: p[.cond]!, neg: p[.neg]!, scales: scales)))
                    if measured.contains(j) {
                        for m in members { try emit(tg.policies[m].spec, j, byScale[tg.policies[m].scales[j]]!) }
                    }
                    if j + 1 < schedule.numSteps || measured.contains(j + 1) {
                        for w in scales {
                            let sub = members.filter { tg.policies[$0].scales[j] == w }
                            next.append((sub, try FlowMath.eulerStep(xt: x, x0: byScale[w]!, sigma: t, to: tNext)))
                        }
                    }
                }
                groups = next
            }
        }
        return stats
    }

    // MARK: - Subsets for shards and resumes

    /// The smallest plan (same schedule) whose run covers `units` of one (clip, seed): the arms
    /// and steps that appear in them. Nil when `units` is empty. Used to resume (skip finished
    /// units) and to run one shard's units; the caller's sink drops units outside the set, since
    /// arms × steps may cover a few more.
    public func pruned(to units: some Collection<ProbeUnit>) throws(ProbeError) -> ProbePlan? {
        guard !units.isEmpty else { return nil }
        let armSet = Set(units.map(\.arm)), stepSet = Set(units.map(\.step)), planArms = Set(arms), planSteps = Set(steps)
        let studentSteps = Dictionary(students.map { ($0.spec, $0.unitStep) }, uniquingKeysWith: { a, _ in a })
        for u in units where !planArms.contains(u.arm) || (studentSteps[u.arm].map { $0 != u.step } ?? !planSteps.contains(u.step)) {
            throw .invalidArm(label: u.arm.label, problem: "unit \(u) is not in this plan")
        }
        return try ProbePlan(arms: arms.filter(armSet.contains), schedule: schedule, steps: steps.filter(stepSet.contains))
    }

    /// Every unit this plan produces for a clip and seed, in no particular order.
    public func units(clip: String, seed: Int) -> [ProbeUnit] {
        let studentSteps = Dictionary(students.map { ($0.spec, $0.unitStep) }, uniquingKeysWith: { a, _ in a })
        return arms.flatMap { a in
            (studentSteps[a].map { [$0] } ?? steps).map { ProbeUnit(clip: clip, arm: a, step: $0, seed: seed) }
        }
    }
}

func absDifference(_ a: Tensor, _ b: Tensor) throws(ProbeError) -> Tensor {
    guard a.shape == b.shape else { throw .shapeMismatch(what: "spatial map", expected: b.shape, got: a.shape) }
    var out = [Float](repeating: 0, count: a.count)
    for i in 0..<a.count { out[i] = abs(a.data[i] - b.data[i]) }
    return Tensor(unchecked: a.shape, out)
}
