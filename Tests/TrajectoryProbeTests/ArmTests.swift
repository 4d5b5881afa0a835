import Measurement
import Testing
import Store
@testable import TrajectoryProbe

/// A teacher that returns a fixed point whatever it is asked: the exact denoiser of a one-point
/// bank, in velocity form to exercise the conversion.
struct PointTeacher: Teacher {
    var point: Tensor
    var name: String { "point" }
    var predictionKind: PredictionKind { .velocity }
    var supportedBranches: Set<BranchName> { [.cond, .neg] }
    var stateShape: [Int]? { [point.rowSize] }
    func predict(states: Tensor, sigmas: [Double], conditioning: Conditioning, branches: [BranchName]) throws -> [BranchName: Tensor] {
        // v = (x_t - x0) / σ for x0 = point.
        var v = states.data
        for r in 0..<states.rows { for j in 0..<states.rowSize {
            v[r * states.rowSize + j] = (states.data[r * states.rowSize + j] - point.data[r * states.rowSize + j]) / Float(sigmas[r])
        } }
        let t = try Tensor(shape: states.shape, data: v)
        return Dictionary(uniqueKeysWithValues: branches.map { ($0, t) })
    }
}

/// Returns NaN or a wrong shape on demand.
struct FaultyTeacher: Teacher {
    enum Fault: Sendable { case nan, shape, throwing }
    var fault: Fault
    var name: String { "faulty" }
    var predictionKind: PredictionKind { .x0 }
    var supportedBranches: Set<BranchName> { [.cond, .neg] }
    var stateShape: [Int]? { nil }
    struct Boom: Error {}
    func predict(states: Tensor, sigmas: [Double], conditioning: Conditioning, branches: [BranchName]) throws -> [BranchName: Tensor] {
        switch fault {
        case .nan:
            var t = states; t.data[3] = .nan
            return [.cond: states, .neg: t]
        case .shape:
            return [.cond: states, .neg: Tensor(zeros: [states.rows, states.rowSize + 1])]
        case .throwing:
            throw Boom()
        }
    }
}

struct ArmTests {
    let schedule = try! ShiftedSchedule(numSteps: 50, shift: 5, maxT: 0.999)

    @Test func eulerSamplerWithOnePointBankReachesThePoint() throws {
        // Both the analytic teacher over a one-frame bank and the velocity-form point teacher.
        var bank = try FrameBank(width: 2, height: 2, channels: 3, featureCount: 1)
        let frame: [Float] = [0.1, 0.9, 0.4, 0.3, 0.2, 0.8, 0.5, 0.6, 0.7, 0.0, 1.0, 0.25]
        try bank.append(frame: frame, audio: [0.5], identity: "a", clip: "c")
        let analytic = try AnalyticTeacher(bank: bank, configuration: .init(kappa: 1, audioFeatureNoise: 0))
        // One-point bank: the space is centred on the point, so the point's state is 0; use a
        // shifted space by comparing decoded frames.
        let target = try analytic.space.encode(Tensor(shape: [1, 12], data: frame))
        let clip = ProbeClip(id: "c", reference: target, conditioning: Conditioning(clip: "c", identity: "a", audioFeatures: try Tensor(shape: [1, 1], data: [0.5])))
        let plan = try ProbePlan(arms: [.trajectory(w: 1), .trajectory(w: 3)], schedule: schedule, steps: [0, 49])
        var last: [String: Tensor] = [:]
        try plan.run(teacher: analytic, clip: clip, seed: 0) { out in if out.unit.step == 49 { last[out.unit.arm.label] = out.x0 } }
        for (_, x0) in last { #expect(try analytic.space.decode(x0).maxAbsDifference(Tensor(shape: [1, 12], data: frame)) < 1e-6) }

        let point = GaussianNoise(seed: 5).tensor(shape: [2, 6])
        let teacher = PointTeacher(point: point)
        // Sample by hand with the Euler step through all 50 steps: lands on the point.
        var x = GaussianNoise(seed: 6).tensor(shape: [2, 6])
        for j in 0..<50 {
            let p = try TeacherPass(teacher: teacher, states: x, sigmas: [schedule.t(j), schedule.t(j)],
                                    conditioning: Conditioning(clip: "c", identity: "a"), branches: [.cond])
            x = try FlowMath.eulerStep(xt: x, x0: p[.cond]!, sigma: schedule.t(j), to: schedule.t(j + 1))
        }
        #expect(x.maxAbsDifference(point) < 1e-5)
    }

    func analyticSetup() throws -> (AnalyticTeacher, ProbeClip) {
        let bank = try TestBanks.random(side: 4, identities: 2, clipsPerIdentity: 3, framesPerClip: 6)
        let teacher = try AnalyticTeacher(bank: bank, heldOut: ["id1c2"], configuration: .init(kappa: 4))
        var clip = try TestBanks.clip("id1c2", from: bank, teacher: teacher, identity: "id1")
        clip.conditioning.audioFeatures = bank.audio(rows: bank.rows(ofClip: "id1c0"))   // dubbed
        return (teacher, clip)
    }

    @Test func sharedPassesEqualSeparateEvaluationForEveryScale() throws {
        let (teacher, clip) = try analyticSetup()
        let scales = [1.0, 1.5, 2, 3, 4.5, 6, 7.5, 0.5]
        let steps = [0, 10, 20, 30, 40, 49]
        let shared = try ProbePlan(arms: scales.map { .freshNoise(w: $0) } + scales.map { .eulerJump(s0: 1, s1: $0) },
                                   schedule: schedule, steps: steps)
        var together: [ProbeUnit: Tensor] = [:]
        let stats = try shared.run(teacher: teacher, clip: clip, seed: 3) { together[$0.unit] = $0.x0 }
        #expect(stats.teacherPasses == shared.passCount)
        #expect(stats.outputs == 2 * scales.count * steps.count)
        for w in scales {
            let alone = try ProbePlan(arms: [.freshNoise(w: w), .eulerJump(s0: 1, s1: w)], schedule: schedule, steps: steps)
            try alone.run(teacher: teacher, clip: clip, seed: 3) { out in
                #expect(out.x0.maxAbsDifference(together[out.unit]!) < 1e-6, "\(out.unit)")
            }
            // ... and separate evaluation by hand: neg + w (cond - neg) from a direct pass.
            let j = 30, t = schedule.t(j)
            let xt = try FlowMath.noised(x0: clip.reference, epsilon: clip.epsilon(seed: 3), t: t)
            let post = try teacher.posterior(states: xt, sigmas: .init(repeating: t, count: xt.rows), conditioning: clip.conditioning, branches: [.cond, .neg])
            let direct = Guidance.combine(cond: post.x0[.cond]!, neg: post.x0[.neg]!, scale: w)
            #expect(direct.maxAbsDifference(together[ProbeUnit(clip: clip.id, arm: .freshNoise(w: w), step: j, seed: 3)]!) < 1e-6)
        }
        // A K-scale sweep costs the passes of one scale.
        let one = try ProbePlan(arms: [.freshNoise(w: 4.5), .eulerJump(s0: 1, s1: 4.5)], schedule: schedule, steps: steps)
        #expect(one.passCount == shared.passCount)
        #expect(shared.passCount == steps.count + 1 + steps.count)
    }

    @Test func eulerJumpWithoutGuidanceAtStepZeroIsTheStepZeroPrediction() throws {
        let (teacher, clip) = try analyticSetup()
        let plan = try ProbePlan(arms: EulerJumpArm.factorial(w: 4.5).map(\.spec) + [.trajectory(w: 1)], schedule: schedule, steps: [0, 30])
        var out: [ProbeUnit: Tensor] = [:]
        try plan.run(teacher: teacher, clip: clip, seed: 0) { out[$0.unit] = $0.x0 }
        let eps = clip.epsilon(seed: 0)
        let t0 = schedule.t(0)
        let p0 = try TeacherPass(teacher: teacher, states: eps, sigmas: .init(repeating: t0, count: eps.rows), conditioning: clip.conditioning, branches: [.cond])
        let jump = out[ProbeUnit(clip: clip.id, arm: .eulerJump(s0: 1, s1: 1), step: 0, seed: 0)]!
        let scale = p0[.cond]!.data.map(abs).max()!
        #expect(jump.maxAbsDifference(p0[.cond]!) <= 1e-4 * scale)
        #expect(out[ProbeUnit(clip: clip.id, arm: .trajectory(w: 1), step: 0, seed: 0)]!.maxAbsDifference(p0[.cond]!) == 0)
        // The factorial's four arms at step 30 are four distinct predictions from two passes per step.
        #expect(plan.eulerJump!.s1BySs0.count == 2)
        let a = out[ProbeUnit(clip: clip.id, arm: .eulerJump(s0: 1, s1: 4.5), step: 30, seed: 0)]!
        let b = out[ProbeUnit(clip: clip.id, arm: .eulerJump(s0: 4.5, s1: 4.5), step: 30, seed: 0)]!
        #expect(a.maxAbsDifference(b) > 1e-3)
    }

    @Test func scheduledCFGSharesTheUnguidedPrefix() throws {
        let (teacher, clip) = try analyticSetup()
        let plan = try ProbePlan(arms: [.trajectory(w: 1), .scheduledCFG(tau: 20, w: 4.5), .trajectory(w: 4.5), .scheduledCFG(tau: 0, w: 4.5)],
                                 schedule: schedule, steps: [10, 19, 20, 30])
        // Step 0: one state for all four. Steps 1...20: the all-ones prefix (trajectory(1) and
        // scheduled(20, 4.5), which first uses 4.5 at step 20 on the shared state) and the 4.5
        // prefix (trajectory(4.5) = scheduled(0, 4.5)). Steps 21..<50: three paths.
        #expect(plan.passCount == 1 + 2 * 20 + 3 * 29)
        var out: [ProbeUnit: Tensor] = [:]
        let stats = try plan.run(teacher: teacher, clip: clip, seed: 1) { out[$0.unit] = $0.x0 }
        #expect(stats.teacherPasses == plan.passCount)
        func x(_ a: ArmSpec, _ j: Int) -> Tensor { out[ProbeUnit(clip: clip.id, arm: a, step: j, seed: 1)]! }
        #expect(x(.trajectory(w: 1), 19) == x(.scheduledCFG(tau: 20, w: 4.5), 19))
        #expect(x(.trajectory(w: 1), 20).maxAbsDifference(x(.scheduledCFG(tau: 20, w: 4.5), 20)) > 1e-4)
        #expect(x(.trajectory(w: 4.5), 30) == x(.scheduledCFG(tau: 0, w: 4.5), 30))
    }

    @Test func prunedPlanRunsOnlyWhatIsLeft() throws {
        let (teacher, clip) = try analyticSetup()
        let plan = try ProbePlan(arms: [.freshNoise(w: 1), .freshNoise(w: 4.5), .eulerJump(s0: 1, s1: 4.5), .trajectory(w: 1)],
                                 schedule: schedule, steps: [0, 10, 20, 30])
        var full: [ProbeUnit: Tensor] = [:]
        try plan.run(teacher: teacher, clip: clip, seed: 2) { full[$0.unit] = $0.x0 }
        let left = [ProbeUnit(clip: clip.id, arm: .freshNoise(w: 4.5), step: 20, seed: 2),
                    ProbeUnit(clip: clip.id, arm: .eulerJump(s0: 1, s1: 4.5), step: 30, seed: 2)]
        let small = try #require(try plan.pruned(to: left))
        #expect(small.arms == [.freshNoise(w: 4.5), .eulerJump(s0: 1, s1: 4.5)] && small.steps == [20, 30])
        #expect(small.passCount == 2 + 1 + 2)
        try small.run(teacher: teacher, clip: clip, seed: 2) { out in #expect(out.x0 == full[out.unit]!) }
        #expect(try plan.pruned(to: [ProbeUnit]()) == nil)
        #expect(throws: ProbeError.self) { try plan.pruned(to: [ProbeUnit(clip: clip.id, arm: .spatial(w: 2), step: 0, seed: 2)]) }
    }

    @Test func spatialMapsAndNoiseFloor() throws {
        let (teacher, clip) = try analyticSetup()
        let plan = try ProbePlan(arms: [.spatial(w: 4.5), .freshNoise(w: 1)], schedule: schedule, steps: [30])
        var maps: SpatialMaps?
        var base: Tensor?
        let stats = try plan.run(teacher: teacher, clip: clip, seed: 0, decode: { (t: Tensor) throws(ProbeError) -> Tensor in try teacher.space.decode(t) }) { out in
            if let m = out.spatial { maps = m } else { base = out.x0 }
        }
        #expect(stats.teacherPasses == 2)
        let m = try #require(maps)
        #expect(m.difference.shape == [6, 48])
        let full = [Float](repeating: 1, count: 16)
        let diff = try SpatialMaps.regionMean(m.difference, mask: full, channels: 3)
        let floor = try SpatialMaps.regionMean(m.floor, mask: full, channels: 3)
        #expect(diff > 0 && floor > 0)
        #expect(base != nil)
        #expect(throws: ProbeError.self) { try plan.run(teacher: teacher, clip: clip, seed: 0) { _ in } }
    }

    @Test func teacherFaultsAreTypedErrors() throws {
        let clip = ProbeClip(id: "c", reference: Tensor(zeros: [2, 4]), conditioning: Conditioning(clip: "c", identity: "a"))
        let plan = try ProbePlan(arms: [.freshNoise(w: 2)], schedule: schedule, steps: [5])
        #expect(throws: ProbeError.nonFiniteOutput(teacher: "faulty", branch: "neg", index: 3, value: "nan")) {
            try plan.run(teacher: FaultyTeacher(fault: .nan), clip: clip, seed: 0) { _ in }
        }
        #expect(throws: ProbeError.shapeMismatch(what: "teacher 'faulty' branch 'neg'", expected: [2, 4], got: [2, 5])) {
            try plan.run(teacher: FaultyTeacher(fault: .shape), clip: clip, seed: 0) { _ in }
        }
        #expect(throws: ProbeError.teacherFailed(teacher: "faulty", reason: "Boom()")) {
            try plan.run(teacher: FaultyTeacher(fault: .throwing), clip: clip, seed: 0) { _ in }
        }
    }

    @Test func armKnobsAreValidated() throws {
        #expect(throws: ProbeError.invalidArm(label: "trajectory s=2", problem: "unknown knob 's' (trajectory takes w)")) {
            try ProbePlan(arms: [ArmSpec(family: .trajectory, knobs: ["s": 2])], schedule: schedule)
        }
        #expect(throws: ProbeError.self) { try ProbePlan(arms: [ArmSpec(family: .eulerJump, knobs: ["s0": 1])], schedule: schedule) }
        #expect(throws: ProbeError.self) { try ProbePlan(arms: [.scheduledCFG(tau: 60, w: 2)], schedule: schedule) }
    }

    @Test func guidanceFormsAndTwoScale() throws {
        #expect(CFGForm.uncond.convert(4.5, to: .cond) == 3.5)
        #expect(CFGForm.cond.convert(3.5, to: .uncond) == 4.5)
        let u = GaussianNoise(seed: 1).tensor(shape: [3, 4]), t = GaussianNoise(seed: 2).tensor(shape: [3, 4]), c = GaussianNoise(seed: 3).tensor(shape: [3, 4])
        let p = Guidance.twoScale(uncond: u, text: t, cond: c, textScale: 5, audioScale: 4)
        for i in 0..<u.count {
            let e = u.data[i] + 5 * (t.data[i] - u.data[i]) + 4 * (c.data[i] - t.data[i])
            #expect(abs(p.data[i] - e) < 1e-5)
        }
        // Equal scales: single-scale CFG against p(∅,∅).
        #expect(Guidance.twoScale(uncond: u, text: t, cond: c, textScale: 3, audioScale: 3).maxAbsDifference(Guidance.combine(cond: c, neg: u, scale: 3)) < 1e-5)
        // cond-based form: cond + g (cond - neg) equals neg-based with w = g + 1.
        let g = 2.5
        let condForm = c.combined(Float(1 + g), u, Float(-g))
        #expect(condForm.maxAbsDifference(Guidance.combine(cond: c, neg: u, scale: CFGForm.cond.convert(g, to: .uncond))) < 1e-5)
    }
}
