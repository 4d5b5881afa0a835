import Foundation
import Testing
import Yams
@testable import Report
import Store

@Suite struct ScheduleTests {
    static let report: StudyReport = try! StudyReport(study: Planted.study(clips: 6), options: Planted.options())

    @Test func landingStepAndTimesAreExact() throws {
        let s = try #require(Self.report.schedule)
        #expect(s.source == .eulerJump && s.note == nil)
        #expect(s.landingStep == 30)
        #expect(s.tList == [0.999, (try! ShiftedSchedule(numSteps: 50, shift: 5, maxT: 0.999)).t(30), 0])
        #expect(abs(s.tList[1] - 0.768935) < 5e-7)
        // The landing is judged against its no-CFG twin at the same step: euler_jump(1,4.5) costs
        // 0 SSIM up to step 30 and 0.03 after (the pair's peak), so the limit is 0.15 × 0.03.
        #expect(abs(s.peakCost - 0.03) < 0.002 && s.peakCostStep > 30)
        #expect(abs(s.fidelityGap) < 0.002 && abs(s.landing.limit - 0.0045) < 0.0003)
        #expect(abs(s.twinFidelity - 0.9) < 0.002)
        // CFG Sync-C best is euler_jump(4.5,4.5) at step 49.
        #expect(s.syncCeilingArm == ArmSpec.eulerJump(s0: 4.5, s1: 4.5).label && s.syncCeilingStep == 49)
        #expect(abs(s.syncGap - ((5.1 + 0.98 + 0.8) - (5.1 + 0.6 + 0.5))) < 0.03)
        // Steps 31..40 are in the window but cost 0.03 against their twins.
        #expect(s.candidates.filter(\.withinTolerance).map(\.step) == Array(20...30))
    }

    @Test func configsCarryTheScheduleInBothCFGForms() throws {
        let uncond = try Self.report.studentConfig(form: .uncond, date: "2026-11-25")
        #expect(uncond.t_list == [0.999, 0.769, 0.0])
        #expect(uncond.denoising_step_list == [999, 769])
        #expect(uncond.student_sample_steps == 2)
        #expect(uncond.guidance_scale == 4.5 && uncond.cfg_form == "uncond")
        #expect(uncond.sync_window_cfg == .init(enabled: true, t_lo: 0.555, t_hi: 0.882, reverse: false))
        #expect(uncond.sample_t_cfg == .init(time_dist_type: "shifted", shift: 5, min_t: 0, max_t: 0.999))
        #expect(uncond.teacher_guidance.per_step.count == 50)
        #expect(uncond.teacher_guidance.per_step[19] == 1 && uncond.teacher_guidance.per_step[20] == 4.5
                && uncond.teacher_guidance.per_step[40] == 4.5 && uncond.teacher_guidance.per_step[41] == 1)
        let cond = try Self.report.studentConfig(form: .cond, date: "2026-11-25")
        #expect(cond.guidance_scale == 3.5 && cond.cfg_form == "cond")
        #expect(cond.teacher_guidance.per_step[0] == 0 && cond.teacher_guidance.per_step[30] == 3.5)
    }

    @Test func yamlAndJSONReadBack() throws {
        let config = try Self.report.studentConfig(form: .cond, date: "2026-11-25")
        let yaml = try config.yaml()
        #expect(yaml.hasPrefix("# trajprobe schedule for study \"planted\"; CFG form cond"))
        #expect(yaml.contains("\nt_list: [0.999, 0.769, 0.0]\n") && yaml.contains("\n  shift: 5.0\n") && !yaml.contains("e+"))
        let back = try YAMLDecoder().decode(StudentConfig.self, from: yaml)
        #expect(back == config)
        let node = try #require(try Yams.load(yaml: yaml) as? [String: Any])
        #expect(node["t_list"] as? [Double] == [0.999, 0.769, 0.0])
        #expect(node["denoising_step_list"] as? [Int] == [999, 769])
        let prov = try #require(node["provenance"] as? [String: Any])
        #expect(prov["study"] as? String == "planted" && prov["database_sha256"] as? String == String(repeating: "ab", count: 32))
        #expect(prov["sync_model"] as? String == "facesync-cca pad" && prov["date"] as? String == "2026-11-25")
        let json = try config.json()
        #expect(try JSONDecoder().decode(StudentConfig.self, from: Data(json.utf8)) == config)
    }

    @Test func pythonLinesAreAssignments() throws {
        let py = try Self.report.studentConfig(form: .uncond, date: "2026-11-25").python()
        let lines = py.split(separator: "\n").map(String.init)
        #expect(lines.contains("config.model.t_list = [0.999, 0.769, 0.0]"))
        #expect(lines.contains("config.model.denoising_step_list = [999, 769]"))
        #expect(lines.contains("config.model.guidance_scale = 4.5"))
        #expect(lines.contains("config.model.sync_window_cfg = dict(enabled=True, t_lo=0.555, t_hi=0.882, reverse=False)"))
        #expect(lines.contains("config.model.sample_t_cfg = dict(time_dist_type=\"shifted\", shift=5.0, min_t=0.0, max_t=0.999)"))
        #expect(lines.filter { !$0.hasPrefix("#") }.allSatisfy { $0.hasPrefix("config.model.") && $0.contains(" = ") })
    }

    @Test func trajectoryFallbackSaysSo() throws {
        let drop = Set([ArmSpec.eulerJump(s0: 1, s1: 1), .eulerJump(s0: 1, s1: 4.5)].map(\.label))
        let r = try StudyReport(study: Planted.study(clips: 4, dropArms: drop), options: Planted.options())
        guard let s = r.schedule else { Issue.record("no schedule: \(String(describing: r.scheduleProblem))"); return }
        #expect(s.landingStep == 25)
        #expect(s.source == .trajectory && s.note?.contains("No euler_jump arms") == true)
        #expect(s.cfgArm == ArmSpec.trajectory(w: 4.5).label)
    }

    @Test func paretoFrontOfTwoScaleArms() throws {
        let r = try StudyReport(study: Planted.study(clips: 4, steps: [10, 25, 30, 35, 45], extras: true), options: Planted.options())
        let front = try #require(r.pareto)
        #expect(front.family == .freshNoise && front.points.count == 11)
        // Planted: gain = 0.3(sa−1) + 0.05(st−1), cost = 0.004(sa−1) + 0.003(st−1)²: st = 4 is dominated.
        #expect(front.points.filter(\.onFront).allSatisfy { $0.textScale < 4 || $0.audioScale == 6 })
        let chosen = try #require(front.chosen)
        // Half the largest cost among the scale pairs (the rule's peak form).
        let limit = 0.5 * front.points.map(\.cost).max()!
        #expect(chosen.cost <= limit)
        #expect(front.points.filter { $0.onFront && $0.cost <= limit }.allSatisfy { $0.gain <= chosen.gain })
    }
}
