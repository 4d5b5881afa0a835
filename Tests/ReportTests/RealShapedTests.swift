import Digest
import Foundation
import Testing
@testable import Report
import Store

/// The committed real-shaped fixture (tools/fixtures/real_shaped_fixture.py): six arms' long CSVs
/// as a 14B teacher's analysis scripts write them, imported through the Store as `import csv`
/// does, then reported with no options.
enum RealShaped {
    struct Truth: Decodable {
        var window: [Int]
        var landing: Int
        var arms: [String: String]
        var gain: [Double]
        var mouth_cost_fraction: [Double]
    }

    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/real_shaped")

    static let truth: Truth = try! JSONDecoder().decode(Truth.self, from: Data(contentsOf: folder.appendingPathComponent("truth.json")))

    /// The fixture imported into a fresh database, read back as the report reads it.
    static let study: StudyData = {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("real-shaped-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let db = dir.appendingPathComponent("study.sqlite")
        let store = try! StudyStore.create(at: db, config: StudyStore.importedConfig(name: "omniavatar", model: "omniavatar", drop: "text+audio"))
        for (file, arm) in truth.arms.sorted(by: { $0.key < $1.key }) {
            _ = try! store.importCSV(folder.appendingPathComponent(file), arm: try! ArmSpec(parsing: arm))
        }
        try! store.setStatus(.imported)
        return try! StudyData.load(database: db.path)[0]
    }()

    /// The fixture's CSVs do not say the teacher's schedule: the tests give Wan's (50 steps,
    /// shift 5, t_0 clamped to 0.999) explicitly, as a user would.
    static func options(_ rule: RuleRequest? = nil, resamples: Int = 0,
                        sampler: ShiftedSchedule? = try! ShiftedSchedule(numSteps: 50, shift: 5, maxT: 0.999)) -> ReportOptions {
        ReportOptions(bootstrap: try! Bootstrap(resamples: 2000, seed: 5), rule: rule, ruleResamples: resamples, sampler: sampler)
    }
}

@Suite struct RealShapedTests {
    @Test func worksWithNoOptions() throws {
        let r = try StudyReport(study: RealShaped.study, options: RealShaped.options(resamples: 60))
        // Vocabulary as written: Sync-C on the mouth crop, LPIPS-mouth first, the scale from the arms.
        #expect(r.rule.syncRegion == RegionName.mouth && r.rule.syncMetric == MetricName.syncC)
        #expect(r.rule.fidelityMetric == MetricName.lpips && r.rule.fidelityRegion == RegionName.mouth)
        #expect(r.scale == .single(4.5) && r.scaleSource.contains("euler_jump"))
        #expect(r.deciding?.pair.cfg == .eulerJump(s0: 1, s1: 4.5))
        let win = try #require(r.window?.window)
        let truth = RealShaped.truth
        // The planted window and landing, within the 10 clips' noise.
        #expect(abs(win.firstStep - truth.window[0]) <= 2 && abs(win.lastStep - truth.window[1]) <= 2, "\(win.firstStep)..\(win.lastStep)")
        let s = try #require(r.schedule)
        #expect(abs(s.landingStep - truth.landing) <= 2, "landing \(s.landingStep)")
        #expect(s.cfgArm == ArmSpec.eulerJump(s0: 1, s1: 4.5).label && s.noCFGArm == ArmSpec.eulerJump(s0: 1, s1: 1).label)
        // The robustness section exists and brackets the answer.
        let rb = try #require(r.robustness)
        #expect(rb.resamples == 60 && rb.withWindow > 50)
        let f = try #require(rb.firstStep), l = try #require(rb.lastStep)
        #expect(f.lower <= win.firstStep && win.firstStep <= f.upper && l.lower <= win.lastStep && win.lastStep <= l.upper)
        #expect(rb.sensitivity.contains { $0.isDefault && $0.firstStep == win.firstStep && $0.lastStep == win.lastStep })
        // The written config records the rule and the robustness.
        let config = try r.studentConfig(date: "2026-12-02")
        #expect(config.provenance.rule.fidelity_metric == "lpips" && config.provenance.rule.sync_region == "mouth")
        #expect(config.provenance.rule.tolerance_form == "peak" && config.provenance.rule.gain_fraction == 0.4)
        #expect(config.provenance.robustness?.window_first_step_95 == [f.lower, f.upper])
        #expect(config.guidance_scale == 4.5)
        // Without the schedule given, the CSV study's is unknown: no config, and the error says why.
        #expect(RealShaped.study.numSteps == nil && RealShaped.study.shift == nil && RealShaped.study.maxT == nil)
        let unknown = try StudyReport(study: RealShaped.study, options: RealShaped.options(sampler: nil))
        #expect(throws: ReportError.unknownParameter(file: RealShaped.study.source, parameter: "num_steps, shift, max_t",
                                                     neededFor: "the student config's sample_t_cfg and per-step guidance")) {
            _ = try unknown.studentConfig(date: "2026-12-02")
        }
    }

    @Test func scalingTheFidelityMetricMovesNothing() throws {
        var scaled = RealShaped.study
        for i in scaled.measurements.indices where scaled.measurements[i].metric == MetricName.lpips {
            scaled.measurements[i].value *= 10
        }
        let a = try StudyReport(study: RealShaped.study, options: RealShaped.options())
        let b = try StudyReport(study: scaled, options: RealShaped.options())
        #expect(a.window?.window?.steps == b.window?.window?.steps)
        #expect(a.schedule?.landingStep == b.schedule?.landingStep)
        #expect(abs((b.window?.peakCost ?? 0) - 10 * (a.window?.peakCost ?? 1)) < 1e-12)
    }

    @Test func psnrAndMSEGiveTheSameWindow() throws {
        // PSNR per clip and step from the same pixel MSE (frames in [0, 1]).
        var study = RealShaped.study
        study.measurements += study.measurements.filter { $0.metric == MetricName.pixelMSE }.map {
            var row = $0
            row.metric = MetricName.psnr
            row.value = -10 * log10($0.value)
            return row
        }
        let mse = try StudyReport(study: study, options: RealShaped.options(try RuleRequest(fidelityMetric: "mse", fidelityRegion: RegionName.mouth)))
        let psnr = try StudyReport(study: study, options: RealShaped.options(try RuleRequest(fidelityMetric: "psnr", fidelityRegion: RegionName.mouth)))
        // `mse` finds the stored `pixel_mse`.
        #expect(mse.rule.fidelityMetric == MetricName.pixelMSE)
        let a = try #require(mse.window?.window), b = try #require(psnr.window?.window)
        #expect(a.firstStep == b.firstStep && a.lastStep == b.lastStep)
        #expect(mse.schedule?.landingStep == psnr.schedule?.landingStep)
    }

    @Test func flagsNamingWhatTheStudyDoesNotHoldAreErrors() throws {
        #expect {
            try StudyReport(study: RealShaped.study, options: RealShaped.options(try RuleRequest(fidelityMetric: "ssim", fidelityRegion: "upper")))
        } throws: { e in
            let text = "\(e)"
            return text.contains("--fidelity-region") && text.contains("upper_face") && text.contains("not on 'upper'")
        }
        #expect {
            try StudyReport(study: RealShaped.study, options: RealShaped.options(try RuleRequest(syncRegion: RegionName.face)))
        } throws: { e in "\(e)".contains("holds sync_c on mouth, not on 'face'") }
        #expect(throws: ReportError.self) { try RuleRequest(fidelityMetric: "sharpnes") }
        // LMD is first class (lower is better) and usable as the fidelity metric.
        let lmd = try StudyReport(study: RealShaped.study, options: RealShaped.options(try RuleRequest(fidelityMetric: "lmd")))
        #expect(lmd.rule.fidelityMetric == "lmd" && lmd.rule.fidelityRegion == RegionName.mouth && lmd.window?.window != nil)
    }

    @Test func noWindowNamesTheCriterionAndTheFlag() throws {
        // Near the gain's peak CFG still costs a fifth of its worst; where it costs a twentieth,
        // the gain is below 95% of its peak.
        let r = try StudyReport(study: RealShaped.study, options: RealShaped.options(try RuleRequest(gainFraction: 0.95, fidelityTolerance: 0.05)))
        #expect(r.window?.window == nil)
        let reason = try #require(r.window?.noWindowReason)
        #expect(reason.contains("closest: step") && (reason.contains("--fidelity-tolerance") || reason.contains("--gain-fraction")), "\(reason)")
        // Around the gain's peak every step still costs fidelity: a zero landing tolerance admits none.
        let tight = try StudyReport(study: RealShaped.study, options: RealShaped.options(try RuleRequest(gainFraction: 0.9, landingTolerance: 0)))
        guard case .noLandingStep(_, let why)? = tight.scheduleProblem else { Issue.record("\(String(describing: tight.scheduleProblem))"); return }
        #expect(why.contains("--landing-tolerance"), "\(why)")
    }
}

/// The teacher's scale comes from what the study holds, never from a default.
@Suite struct GuidanceScaleTests {
    /// Planted arms relabelled to another scale (a LatentSync-like teacher at w = 1.5).
    static func rescaled(_ w: Double) -> StudyData {
        var s = Planted.study(clips: 4, steps: Array(stride(from: 0, to: 50, by: 2)), dropArms: [ArmSpec.freshNoise(w: 2.5).label])
        func relabel(_ label: String) -> String {
            guard let arm = try? ArmSpec(parsing: label) else { return label }
            var k = arm.knobs
            for key in ["w", "s0", "s1"] where k[key] == Planted.w { k[key] = w }
            return ArmSpec(family: arm.family, knobs: k).label
        }
        s.arms = s.arms.map { try! ArmSpec(parsing: relabel($0.label)) }
        s.measurements = s.measurements.map { var m = $0; m.arm = relabel(m.arm); return m }
        s.guidanceScale = nil
        return s
    }

    @Test func anImportedStudyTakesTheScaleItsArmsCarry() throws {
        let r = try StudyReport(study: Self.rescaled(1.5), options: Planted.options(ruleResamples: 0))
        #expect(r.scale == .single(1.5))
        #expect(r.deciding?.pair.cfg == .freshNoise(w: 1.5))
        #expect(r.window?.window != nil)
        #expect(!r.warnings.contains { $0.contains("4.5") })
    }

    @Test func severalScalesAskForGuidance() throws {
        var s = Self.rescaled(1.5)
        let extra = Planted.study(clips: 4, steps: Array(stride(from: 0, to: 50, by: 2)))
        s.arms.append(.freshNoise(w: 4.5))
        s.measurements += extra.measurements.filter { $0.arm == ArmSpec.freshNoise(w: 4.5).label }
        let r = try StudyReport(study: s, options: Planted.options(ruleResamples: 0))
        #expect(r.scale == nil && r.warnings.contains { $0.contains("--guidance") })
        let chosen = try StudyReport(study: s, options: Planted.options(guidance: try GuidanceScale(parsing: "4.5"), ruleResamples: 0))
        #expect(chosen.scale == .single(4.5) && chosen.window?.window != nil)
    }

    @Test func twoScaleTeachersGetAWindowFromTheirPairArms() throws {
        // InfiniteTalk's euler_jump cells: (step 0, landing) at (1,1)→(5,4) against (1,1)→(1,1).
        let base = Planted.study(clips: 5, steps: Array(stride(from: 0, to: 50, by: 2)))
        var s = base
        let map = [ArmSpec.eulerJump(s0: 1, s1: 4.5).label: ArmSpec(family: .eulerJump, knobs: ["s0t": 1, "s0a": 1, "s1t": 5, "s1a": 4]),
                   ArmSpec.eulerJump(s0: 1, s1: 1).label: ArmSpec(family: .eulerJump, knobs: ["s0t": 1, "s0a": 1, "s1t": 1, "s1a": 1]),
                   ArmSpec.freshNoise(w: 4.5).label: ArmSpec(family: .freshNoise, knobs: ["st": 5, "sa": 4]),
                   ArmSpec.freshNoise(w: 1).label: ArmSpec(family: .freshNoise, knobs: ["st": 1, "sa": 1])]
        s.arms = Array(map.values)
        s.measurements = base.measurements.compactMap { m in
            if m.step == gtStep { return m }
            guard let a = map[m.arm] else { return nil }
            var row = m; row.arm = a.label; return row
        }
        s.guidanceScale = nil
        let r = try StudyReport(study: s, options: Planted.options(ruleResamples: 20))
        #expect(r.scale == .pair(text: 5, audio: 4))
        #expect(r.deciding?.pair.cfg == ArmSpec(family: .freshNoise, knobs: ["st": 5, "sa": 4]))
        let win = try #require(r.window?.window)
        #expect(win.firstStep == 20 && win.lastStep == 40)
        let sched = try #require(r.schedule)
        #expect(sched.cfgArm == map[ArmSpec.eulerJump(s0: 1, s1: 4.5).label]!.label)
        let config = try r.studentConfig(date: "2026-12-02")
        #expect(config.text_guidance_scale == 5 && config.audio_guidance_scale == 4 && config.guidance_scale == 4)
        #expect(try GuidanceScale(parsing: "text=5, audio=4") == .pair(text: 5, audio: 4))
        #expect(throws: ReportError.self) { try GuidanceScale(parsing: "text=5") }
    }
}

/// The bootstrap of the rule against a planted truth: replicate studies drawn from the fixture's
/// population model (the deciding pair only), each with the rule's 95% intervals of the window
/// edges, which should contain the planted edges about 95% of the time.
@Suite struct RuleCoverageTests {
    /// One replicate: 10 clips of euler_jump(1, 4.5) and euler_jump(1, 1), Sync-C and LPIPS on
    /// the mouth, with the fixture generator's curves and noise (tools/fixtures/real_shaped_fixture.py).
    static func replicate(seed: UInt64) -> StudyData {
        var rng = SplitMix64(seed: seed)
        func normal() -> Double {
            let u1 = max(Double(rng.next() >> 11) / Double(1 << 53), 1e-300), u2 = Double(rng.next() >> 11) / Double(1 << 53)
            return (-2 * log(u1)).squareRoot() * cos(2 * .pi * u2)
        }
        let truth = RealShaped.truth
        let sched = try! ShiftedSchedule(numSteps: 50, shift: 5, maxT: 0.999)
        let cfg = ArmSpec.eulerJump(s0: 1, s1: 4.5), base = ArmSpec.eulerJump(s0: 1, s1: 1)
        var rows: [LabelledMeasurement] = []
        for c in 0..<10 {
            let clip = "clip\(c)", clipSync = 6.45 + 0.35 * normal(), clipGain = 1 + 0.25 * normal(), clipLP = 0.008 * normal()
            for j in 0..<50 {
                let t = sched.t(j), frac = Double(j) / 49
                let sd = (0.15 + 1.15 * pow(t, 4)) / 2.0.squareRoot()
                let lp = 0.085 + 0.02 * (1 - frac) * (1 - frac) + 0.01 * frac * frac * frac + clipLP
                for (arm, on) in [(cfg, 1.0), (base, 0.0)] {
                    let sync = clipSync - 0.15 * frac + on * truth.gain[j] * clipGain + sd * normal()
                    let lpips = lp + on * 0.03 * truth.mouth_cost_fraction[j] + 0.0015 * normal()
                    rows.append(.init(arm: arm.label, clip: clip, step: j, metric: MetricName.syncC, region: RegionName.mouth, value: sync))
                    rows.append(.init(arm: arm.label, clip: clip, step: j, metric: MetricName.lpips, region: RegionName.mouth, value: lpips))
                }
            }
        }
        return StudyData(name: "replicate", steps: (0..<50).map { StepTime(j: $0, t: sched.t($0)) }, clips: (0..<10).map { "clip\($0)" },
                         arms: [cfg, base], measurements: rows)
    }

    @Test func intervalsCoverThePlantedEdges() throws {
        let truth = RealShaped.truth
        let replicates = 30
        var first = 0, last = 0, points: [String] = []
        for k in 0..<replicates {
            let r = try StudyReport(study: Self.replicate(seed: 1000 + UInt64(k)),
                                    options: ReportOptions(bootstrap: try Bootstrap(resamples: 2000, seed: UInt64(k)), ruleResamples: 100))
            guard let rb = r.robustness, let f = rb.firstStep, let l = rb.lastStep else { continue }
            if f.lower <= truth.window[0] && truth.window[0] <= f.upper { first += 1 }
            if l.lower <= truth.window[1] && truth.window[1] <= l.upper { last += 1 }
            points.append("\(r.window?.window.map { "\($0.firstStep)..\($0.lastStep)" } ?? "none") [\(f.lower)-\(f.upper)] [\(l.lower)-\(l.upper)]")
        }
        // Nominal 95%: with 30 replicates a true coverage of 0.95 covers at least 25 with
        // probability 0.98 (binomial), so fewer than 25 means the intervals are too narrow.
        #expect(first >= 25, "first edge covered \(first)/\(replicates): \(points)")
        #expect(last >= 25, "last edge covered \(last)/\(replicates): \(points)")
    }
}
