import Foundation
import Testing
@testable import Report
import Store

@Suite struct WindowTests {
    static let report: StudyReport = try! StudyReport(study: Planted.study(), options: Planted.options(bootstrap: try! Bootstrap(resamples: 2000, seed: 11)))

    @Test func freshNoiseArmsDecide() {
        let d = Self.report.deciding!
        #expect(d.pair.cfg == .freshNoise(w: 4.5) && d.pair.base == .freshNoise(w: 1))
        #expect(d.pair.kind == .singlePrediction && d.note == nil)
    }

    @Test func windowIsThePlantedBand() throws {
        let r = try #require(Self.report.window)
        let win = try #require(r.window)
        #expect(win.firstStep == 20 && win.lastStep == 40)
        #expect(win.steps == Array(20...40))
        #expect(abs(win.tHigh - 0.882093) < 5e-7 && abs(win.tLow - 0.555247) < 5e-7)
        // The peak is the running mean over ±5 steps: ten steps at 1.0 around the spike of 1.2.
        let peak = (10 * 1.0 + 1.2) / 11
        #expect((25...35).contains(r.peakStep ?? -1) && abs(r.peakGain - peak) < 0.01)
        #expect(abs(r.threshold - 0.4 * peak) < 0.005)
        #expect(r.otherBands.isEmpty)
    }

    @Test func edgeReasonsNameTheFailedCriterion() throws {
        let win = try #require(Self.report.window?.window)
        // Lower edge: step 19 has a significant gain (0.3) but below 0.4 of the peak.
        #expect(win.lowerEdge.insideStep == 20 && win.lowerEdge.outsideStep == 19)
        #expect(win.lowerEdge.failures.count == 1)
        guard case .belowFraction(let g, let thr)? = win.lowerEdge.failures.first else { Issue.record("\(win.lowerEdge)"); return }
        #expect(abs(g - 0.3) < 0.01 && abs(thr - 0.4 * 11.2 / 11) < 0.005)
        #expect(win.lowerEdge.text.contains("step 19") && win.lowerEdge.text.contains("< threshold"))
        // Upper edge: step 41 keeps the gain but costs 0.05 SSIM, the peak: above half of it.
        #expect(win.upperEdge.insideStep == 40 && win.upperEdge.outsideStep == 41)
        #expect(win.upperEdge.failures.count == 1)
        guard case .fidelityCost(let c, let tol)? = win.upperEdge.failures.first else { Issue.record("\(win.upperEdge)"); return }
        #expect(abs(c - 0.05) < 0.002 && abs(tol - 0.025) < 0.001)
    }

    @Test func aStricterFractionNarrowsTheWindowToThePeak() throws {
        let opts = Planted.options(try RuleRequest(gainFraction: 1), bootstrap: try Bootstrap(resamples: 2000))
        let r = try StudyReport(study: Planted.study(clips: 6), options: opts)
        let win = try #require(r.window?.window)
        #expect(win.steps == [30])
        if case .belowFraction? = win.lowerEdge.failures.first {} else { Issue.record("\(win.lowerEdge)") }
    }

    @Test func noBandSaysSoAndGivesNoSchedule() throws {
        let opts = Planted.options(try RuleRequest(fidelityTolerance: 0.001), bootstrap: try Bootstrap(resamples: 2000))
        let r = try StudyReport(study: Planted.study(clips: 4), options: opts)
        #expect(r.window?.window == nil)
        #expect(r.window?.noWindowReason?.contains("no probed step meets every condition") == true)
        #expect(r.schedule == nil)
        #expect(throws: ReportError.self) { try r.studentConfig(date: "2026-11-25") }
    }

    @Test func oneClipGivesNoCIsAndNoWindow() throws {
        let r = try StudyReport(study: Planted.study(clips: 1, steps: [10, 20, 30]), options: Planted.options())
        #expect(r.window?.window == nil)
        #expect(r.window?.noWindowReason?.contains("fewer than 2 clips") == true)
        #expect(r.warnings.contains { $0.contains("no confidence intervals") })
        #expect(r.comparisons.allSatisfy { !$0.difference.hasCI })
    }

    @Test func trajectoryArmsDecideOnlyAsAFallbackWithANote() throws {
        let drop: Set<String> = Set([ArmSpec.freshNoise(w: 1), .freshNoise(w: 4.5), .freshNoise(w: 2.5), .eulerJump(s0: 1, s1: 1),
                                     .eulerJump(s0: 1, s1: 4.5), .eulerJump(s0: 4.5, s1: 1), .eulerJump(s0: 4.5, s1: 4.5)].map(\.label))
        let r = try StudyReport(study: Planted.study(clips: 4, steps: Array(stride(from: 0, to: 50, by: 5)), dropArms: drop), options: Planted.options())
        #expect(r.deciding?.pair.cfg == .trajectory(w: 4.5))
        #expect(r.deciding?.note?.contains("compound") == true)
        #expect(r.deciding?.pair.kind == .compounding)
    }

    @Test func pairedDifferencesAndNormalisation() throws {
        let pair = ArmPair(cfg: .freshNoise(w: 4.5), base: .freshNoise(w: 1), kind: .singlePrediction)
        let c = try #require(Self.report.comparison(pair, step: 45, metric: MetricName.ssim, region: RegionName.full))
        #expect(abs(c.difference.mean + 0.05) < 0.002)
        #expect(c.difference.count == 10 && c.unpairedClips == 0)
        #expect(abs(c.baselineMean - 0.9) < 0.002)
        #expect(abs(c.relative + 0.05 / 0.9) < 0.003)
        let g = try #require(Self.report.gt["sync_c/face"])
        #expect(abs(g.mean - 7) < 0.02)
    }

    @Test func seedsAreAveragedWithinAClip() throws {
        let r = try StudyReport(study: Planted.study(clips: 3, steps: [30], seeds: 4), options: Planted.options())
        let pair = ArmPair(cfg: .freshNoise(w: 4.5), base: .freshNoise(w: 1), kind: .singlePrediction)
        #expect(r.comparison(pair, step: 30, metric: MetricName.syncC, region: RegionName.face)?.difference.count == 3)
    }

    @Test func partialStudyIsMarkedAndRefusedForSchedules() throws {
        let r = try StudyReport(study: Planted.study(clips: 4, status: .running), options: Planted.options())
        #expect(r.partial && r.warnings.first?.contains("partial") == true)
        #expect(throws: ReportError.partialStudy(file: "planted.sqlite", status: "running")) { try r.studentConfig(date: "x") }
        #expect((try? r.studentConfig(date: "x", allowPartial: true)) != nil)
    }

    @Test func missingDecidingArmsAreReported() throws {
        let drop = Set([ArmSpec.freshNoise(w: 1), .eulerJump(s0: 1, s1: 1), .trajectory(w: 1)].map(\.label))
        let r = try StudyReport(study: Planted.study(clips: 3, steps: [10, 30], dropArms: drop), options: Planted.options())
        #expect(r.deciding == nil && r.window == nil)
        if case .missingArm? = r.scheduleProblem {} else { Issue.record("\(String(describing: r.scheduleProblem))") }
    }
}

@Suite struct NormalisationTests {
    @Test func distanceMetricsAreNormalisedPerStepToTheBaseline() throws {
        let r = try StudyReport(study: Planted.study(clips: 3, steps: [10, 45]),
                                options: Planted.options(baselineArm: .trajectory(w: 1)))
        #expect(r.baseline == .trajectory(w: 1))
        // fresh_noise(4.5) SSIM 0.85 at step 45 against trajectory(1) at 0.80.
        let n = try #require(r.normalised(arm: ArmSpec.freshNoise(w: 4.5).label, step: 45, metric: MetricName.ssim, region: RegionName.full))
        #expect(abs(n - 0.85 / 0.8) < 0.002)
        #expect(r.normalised(arm: ArmSpec.trajectory(w: 1).label, step: 10, metric: MetricName.ssim, region: RegionName.full) == 1)
        #expect(throws: ReportError.self) {
            try StudyReport(study: Planted.study(clips: 3, steps: [10]), options: Planted.options(baselineArm: .freshNoise(w: 9)))
        }
    }
}
