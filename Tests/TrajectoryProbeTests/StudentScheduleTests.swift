import Foundation
import Measurement
import Testing
import Store
@testable import TrajectoryProbe

/// The `student_schedule` arm family: label grammar, the tree that shares passes, and the
/// student's sampling computed by hand.
struct StudentScheduleTests {
    let schedule = try! ShiftedSchedule(numSteps: 50, shift: 5, maxT: 0.999)

    func setup() throws -> (AnalyticTeacher, ProbeClip) {
        let bank = try TestBanks.random(side: 4, identities: 2, clipsPerIdentity: 3, framesPerClip: 6)
        let teacher = try AnalyticTeacher(bank: bank, heldOut: ["id1c2"], configuration: .init(kappa: 4))
        var clip = try TestBanks.clip("id1c2", from: bank, teacher: teacher, identity: "id1")
        clip.conditioning.audioFeatures = bank.audio(rows: bank.rows(ofClip: "id1c0"))   // dubbed
        return (teacher, clip)
    }

    func student(_ text: String) throws -> ArmSpec { try ArmSpec(parsing: text) }

    @Test func labelsRoundTripThroughKnobsAndParsing() throws {
        let a = try student("student_schedule euler steps=0,30 g=1,4.5")
        #expect(a.family == .studentSchedule)
        #expect(a.knobs == ["g0": 1, "g1": 4.5, "j1": 30, "renoise": 0])
        #expect(a.label == "student_schedule euler steps=0,30 g=1,4.5")
        // The database keeps family + knobs; the label is rebuilt from them.
        #expect(ArmSpec(family: .studentSchedule, knobs: a.knobs).label == a.label)
        let b = try student("student_schedule renoise steps=[0, 20,36] g=[1,2,2]")
        #expect(b.label == "student_schedule renoise steps=0,20,36 g=1,2,2")
        #expect(try student("student_schedule steps=0 g=2").label == "student_schedule steps=0 g=2")
        #expect(try ArmSpec(parsing: b.label) == b)
    }

    @Test(arguments: [
        ("student_schedule euler steps=0,30", "missing g=…"),
        ("student_schedule euler steps=0,30 g=1", "2 steps need 2 guidance scales, got 1"),
        ("student_schedule steps=0,30 g=1,2", "name the transition: 'student_schedule euler …' or 'student_schedule renoise …'"),
        ("student_schedule euler steps=0 g=2", "a one-step student has no transition: write 'student_schedule steps=0 g=<w>'"),
        ("student_schedule euler steps=5,30 g=1,2", "the first step must be 0 (t_0 = max_t: the student starts from pure noise)"),
        ("student_schedule euler steps=0,30,30 g=1,2,2", "steps must increase strictly (t decreasing)"),
        ("student_schedule euler steps=0,30 g=1,2 w=3", "unknown knob 'w' (student_schedule takes steps, g and a transition)"),
        ("student_schedule jump steps=0,30 g=1,2", "'jump' is neither a transition (euler, renoise) nor steps=… / g=…"),
    ])
    func badLabelsSayWhatIsWrong(text: String, problem: String) {
        #expect(throws: ArmParseError.self) { try ArmSpec(parsing: text) }
        do { _ = try ArmSpec(parsing: text) } catch { #expect(error.problem == problem, "\(text)") }
    }

    @Test func stepsBeyondTheScheduleAreRefused() {
        #expect(throws: ProbeError.invalidArm(label: "student_schedule euler steps=0,50 g=1,2", problem: "step 50 is outside 0..<50")) {
            try ProbePlan(arms: [try student("student_schedule euler steps=0,50 g=1,2")], schedule: schedule)
        }
        #expect(throws: ProbeError.self) {
            try ProbePlan(arms: [ArmSpec(family: .studentSchedule, knobs: ["g0": 1, "j1": 3])], schedule: schedule)
        }
    }

    /// The consistency check of the issue: `[t_0, t_j, 0]` with guidance `[1, w]` and the Euler
    /// jump is `euler_jump s0=1 s1=w` at step j, bit for bit, and costs no extra pass.
    @Test(arguments: [1, 8, 30, 49])
    func twoStepEulerStudentIsTheEulerJumpArm(step j: Int) throws {
        let (teacher, clip) = try setup()
        let w = 4.5
        let jump = ArmSpec.eulerJump(s0: 1, s1: w)
        let two = try student("student_schedule euler steps=0,\(j) g=1,\(ArmSpec.format(w))")
        let both = try ProbePlan(arms: [jump, two], schedule: schedule, steps: [j])
        var out: [ProbeUnit: Tensor] = [:]
        let stats = try both.run(teacher: teacher, clip: clip, seed: 1) { out[$0.unit] = $0.x0 }
        let a = try #require(out[ProbeUnit(clip: clip.id, arm: jump, step: j, seed: 1)])
        let b = try #require(out[ProbeUnit(clip: clip.id, arm: two, step: j, seed: 1)])
        #expect(a == b)
        #expect(stats.teacherPasses == 2 && both.passCount == 2)
        // Alone, the student computes the same thing by itself.
        let alone = try ProbePlan(arms: [two], schedule: schedule, steps: [])
        try alone.run(teacher: teacher, clip: clip, seed: 1) { #expect($0.x0 == a && $0.unit.step == j) }
    }

    /// A three-step re-noising student, sampled by hand: x0 at each step with its guidance, fresh
    /// noise for each move, the last prediction stored at the last step.
    @Test func reNoisingStudentFollowsItsSamplerByHand() throws {
        let (teacher, clip) = try setup()
        let arm = try student("student_schedule renoise steps=0,20,36 g=1,3,2")
        let plan = try ProbePlan(arms: [arm], schedule: schedule, steps: [])
        #expect(plan.units(clip: clip.id, seed: 2) == [ProbeUnit(clip: clip.id, arm: arm, step: 36, seed: 2)])
        #expect(plan.unitSteps == [36] && plan.passCount == 3)
        var got: Tensor?
        let stats = try plan.run(teacher: teacher, clip: clip, seed: 2) { got = $0.x0 }
        #expect(stats.teacherPasses == 3 && stats.outputs == 1)

        func x0(_ x: Tensor, _ j: Int, _ w: Double) throws -> Tensor {
            let t = schedule.t(j)
            let p = try TeacherPass(teacher: teacher, states: x, sigmas: .init(repeating: t, count: x.rows),
                                    conditioning: clip.conditioning, branches: [.cond, .neg])
            return Guidance.combine(cond: p[.cond]!, neg: p[.neg]!, scale: w)
        }
        var x = clip.epsilon(seed: 2)
        var p = try x0(x, 0, 1)
        x = try FlowMath.noised(x0: p, epsilon: clip.renoise(seed: 2, move: 0), t: schedule.t(20))
        p = try x0(x, 20, 3)
        x = try FlowMath.noised(x0: p, epsilon: clip.renoise(seed: 2, move: 1), t: schedule.t(36))
        p = try x0(x, 36, 2)
        #expect(try #require(got) == p)
        // The Euler student with the same steps and guidance is a different sampler.
        var euler: Tensor?
        try ProbePlan(arms: [try student("student_schedule euler steps=0,20,36 g=1,3,2")], schedule: schedule, steps: [])
            .run(teacher: teacher, clip: clip, seed: 2) { euler = $0.x0 }
        #expect(try #require(euler).maxAbsDifference(p) > 1e-3)
    }

    /// Students that share a prefix share its passes; a trajectory shares the pass at (ε, t_0).
    @Test func studentsSharePrefixesWithEachOtherAndTheOtherArms() throws {
        let (teacher, clip) = try setup()
        let arms = try [
            "student_schedule steps=0 g=1", "student_schedule steps=0 g=4.5",          // root only
            "student_schedule euler steps=0,20 g=1,4.5", "student_schedule euler steps=0,20,36 g=1,1,4.5",
            "student_schedule euler steps=0,20,36 g=1,4.5,4.5", "student_schedule euler steps=0,20,40 g=1,1,1",
            "student_schedule renoise steps=0,20,36 g=1,1,4.5",
        ].map(student) + [.eulerJump(s0: 1, s1: 1), .trajectory(w: 1)]
        let plan = try ProbePlan(arms: arms, schedule: schedule, steps: [0, 20])
        // Tree: root; euler(1)→0 and euler(1)→20 for the euler_jump arm, the latter shared by
        // three students; from it euler(1)→36, euler(4.5)→36, euler(1)→40; renoise(1)→20, then
        // renoise(1)→36: 8 nodes. The trajectory's 50 passes share their first with the root.
        #expect(plan.passCount == 8 + 50 - 1)
        var out: [ProbeUnit: Tensor] = [:]
        let stats = try plan.run(teacher: teacher, clip: clip, seed: 0) { out[$0.unit] = $0.x0 }
        #expect(stats.teacherPasses == plan.passCount)
        #expect(stats.outputs == 7 + 2 + 2)
        func x(_ label: String, _ j: Int) throws -> Tensor { try #require(out[ProbeUnit(clip: clip.id, arm: try student(label), step: j, seed: 0)]) }
        #expect(try x("student_schedule steps=0 g=1", 0) == out[ProbeUnit(clip: clip.id, arm: .trajectory(w: 1), step: 0, seed: 0)])
        // Every unit equals the same arm run alone.
        for spec in arms where spec.family == .studentSchedule {
            let alone = try ProbePlan(arms: [spec], schedule: schedule, steps: [])
            try alone.run(teacher: teacher, clip: clip, seed: 0) { #expect($0.x0 == out[$0.unit], "\(spec)") }
        }
    }

    @Test func prunedPlansKeepTheStudentsLeft() throws {
        let (teacher, clip) = try setup()
        let s3 = try student("student_schedule renoise steps=0,20,36 g=1,3,2")
        let plan = try ProbePlan(arms: [.freshNoise(w: 2), s3, try student("student_schedule euler steps=0,44 g=1,2")],
                                 schedule: schedule, steps: [10, 20])
        #expect(plan.unitSteps == [10, 20, 36, 44])
        let left = [ProbeUnit(clip: clip.id, arm: s3, step: 36, seed: 0)]
        let small = try #require(try plan.pruned(to: left))
        #expect(small.arms == [s3] && small.passCount == 3)
        var n = 0
        try small.run(teacher: teacher, clip: clip, seed: 0) { out in n += 1; #expect(out.unit == left[0]) }
        #expect(n == 1)
        // A student unit at another step is not in the plan.
        #expect(throws: ProbeError.self) { try plan.pruned(to: [ProbeUnit(clip: clip.id, arm: s3, step: 20, seed: 0)]) }
    }

    @Test func condFormGuidanceIsConvertedInStudyFiles() throws {
        let specs = try ProbeStudyFile.expand(label: "student_schedule euler steps=0,30 g=0,3.5", form: .cond)
        #expect(specs == [try student("student_schedule euler steps=0,30 g=1,4.5")])
    }
}

/// Imported results have no teacher: asking them for a student schedule is refused before any work.
struct StudentScheduleImportedTests {
    @Test func importedStudiesRefuseStudentSchedules() async throws {
        let text = """
            clips:
              - {id: a1, video: clips/a1.mp4, identity: spk1, box: "8,20,16,8"}
            teacher: {kind: imported, directory: runs/}
            arms: ["euler_jump s0=1 s1=2", "student_schedule euler steps=0,30 g=1,2"]
            """
        let config = try ProbeStudyFile.parse(text: text, file: "study.yaml", baseDirectory: URL(fileURLWithPath: "/data"))
        let arm = "student_schedule euler steps=0,30 g=1,2"
        await #expect(throws: DriverError.studentScheduleNeedsTeacher(source: "study.yaml", arm: arm)) {
            _ = try await ProbeDriver(config: config).run(options: ProbeRunOptions(database: URL(fileURLWithPath: "/nonexistent/x.sqlite"), studyName: "s"))
        }
        let importer = ImportedVideos(root: "/nonexistent/runs")
        let options = ImportedVideos.Options(database: URL(fileURLWithPath: "/nonexistent/x.sqlite"), studyName: "s",
                                             armLabels: ["cfg": try ArmSpec(parsing: arm)])
        #expect(throws: DriverError.studentScheduleNeedsTeacher(source: "/nonexistent/runs/cfg", arm: arm)) {
            _ = try importer.run(options: options)
        }
        #expect(DriverError.studentScheduleNeedsTeacher(source: "study.yaml", arm: arm).description
                == "study.yaml: 'student_schedule euler steps=0,30 g=1,2' is a new sampling the teacher must run, and imported results have no teacher to run it: probe it with teacher.kind analytic or remote")
    }
}
