import Digest
import Foundation
@testable import Report
import Store

/// Studies built from planted values: the sync window, its edge reasons and the landing step are
/// known by construction.
///
/// fresh_noise(4.5) − fresh_noise(1), per step j (clip noise ±0.02 on every value):
/// - Sync-C gain 0.3 for j < 20 (below half the peak), 1.0 in 20...40 with a peak 1.2 at j = 30,
///   1.0 for j > 40;
/// - SSIM (full) cost 0.005 for j ≤ 40, 0.05 for j > 40 (above the 0.02 tolerance).
/// So the window is 20...40: the lower edge fails on the gain fraction at step 19, the upper edge
/// on fidelity at step 41.
/// euler_jump(1,1) SSIM 0.90 with its best 0.905 at step 10; euler_jump(1,4.5) SSIM 0.90 up to
/// step 30 (gap 0.005) and 0.87 after (gap 0.035), Sync-C rising with j: landing step 30.
/// trajectory(4.5) costs 0.005 SSIM up to step 25 and 0.05 after: the fallback lands at 25.
enum Planted {
    static let w = 4.5

    /// The planted curves are step functions, so the rule reads every step on its own (no
    /// neighbour averaging); `rule` adds other settings.
    static func options(_ rule: RuleRequest? = nil, bootstrap: Bootstrap? = nil, guidance: GuidanceScale? = nil,
                        baselineArm: ArmSpec? = nil, ruleResamples: Int = 0) -> ReportOptions {
        var r = rule ?? (try! RuleRequest())
        r.smoothing = 0
        return ReportOptions(bootstrap: bootstrap, rule: r, guidance: guidance, baselineArm: baselineArm, ruleResamples: ruleResamples)
    }
    static let schedule = try! ShiftedSchedule(numSteps: 50, shift: 5, maxT: 0.999)

    static func gain(_ j: Int) -> Double { j < 20 ? 0.3 : (j == 30 ? 1.2 : 1.0) }
    static func ssimCost(_ j: Int) -> Double { j <= 40 ? 0.005 : 0.05 }

    static func study(clips nClips: Int = 10, steps probed: [Int] = Array(0..<50), seeds: Int = 1,
                      extras: Bool = false, status: StudyStatus = .finished, dropArms: Set<String> = []) -> StudyData {
        var rng = SplitMix64(seed: 7)
        func noise() -> Double { (Double(rng.next() >> 11) / Double(1 << 53) - 0.5) * 0.04 }
        let clips = (0..<nClips).map { String(format: "clip%02d", $0) }
        var arms: [ArmSpec] = [.freshNoise(w: 1), .freshNoise(w: w), .freshNoise(w: 2.5),
                               .eulerJump(s0: 1, s1: 1), .eulerJump(s0: 1, s1: w), .eulerJump(s0: w, s1: 1), .eulerJump(s0: w, s1: w),
                               .trajectory(w: 1), .trajectory(w: w)]
        if extras {
            for st in [1.0, 2.0, 4.0] { for sa in [1.0, 3.0, 4.5, 6.0] { arms.append(ArmSpec(family: .freshNoise, knobs: ["st": st, "sa": sa])) } }
        }
        arms.removeAll { dropArms.contains($0.label) }
        var rows: [LabelledMeasurement] = []
        for (c, clip) in clips.enumerated() {
            let clipSync = 5 + 0.1 * Double(c % 3)
            rows.append(LabelledMeasurement(arm: "", clip: clip, step: gtStep, metric: MetricName.syncC, region: RegionName.face, value: 7 + noise()))
            rows.append(LabelledMeasurement(arm: "", clip: clip, step: gtStep, metric: MetricName.syncD, region: RegionName.face, value: 6.5 + noise()))
            for seed in 0..<seeds {
                for j in probed {
                    let frac = Double(j) / 49
                    for arm in arms {
                        var sync = clipSync, ssim = 0.9, lpips = 0.1 + 0.1 * (1 - frac)
                        switch (arm.family, arm.knobs) {
                        case (.freshNoise, let k) where k["st"] != nil:
                            let st = k["st"]!, sa = k["sa"]!
                            sync += (j >= 20 && j <= 40 ? 1 : 0.3) * ((sa - 1) * 0.3 + (st - 1) * 0.05)
                            ssim -= 0.004 * (sa - 1) + 0.003 * (st - 1) * (st - 1)
                        case (.freshNoise, let k):
                            let g = (k["w"]! - 1) / (w - 1)
                            sync += g * gain(j); ssim -= g * ssimCost(j)
                        case (.eulerJump, let k):
                            sync += 0.02 * Double(j) + (k["s1"] == w ? 0.5 : 0) + (k["s0"] == w ? 0.3 : 0)
                            if k["s1"] == 1 { ssim = j == 10 ? 0.905 : 0.9 } else { ssim = j <= 30 ? 0.9 : 0.87 }
                            if k["s0"] == w { ssim -= 0.05 }
                        case (.trajectory, let k):
                            sync += k["w"] == w ? 1.5 * frac : 0; ssim = 0.8 - (k["w"] == w ? (j > 25 ? 0.05 : 0.005) : 0)
                        default: break
                        }
                        // LPIPS-mouth (the default fidelity metric when held) costs what SSIM costs.
                        lpips += 0.9 - ssim
                        let s = seed
                        rows.append(LabelledMeasurement(arm: arm.label, clip: clip, step: j, seed: s, metric: MetricName.syncC, region: RegionName.face, value: sync + noise()))
                        rows.append(LabelledMeasurement(arm: arm.label, clip: clip, step: j, seed: s, metric: MetricName.syncD, region: RegionName.face, value: 8.5 - 0.5 * (sync - 5) + noise()))
                        rows.append(LabelledMeasurement(arm: arm.label, clip: clip, step: j, seed: s, metric: MetricName.ssim, region: RegionName.full, value: ssim + noise() * 0.1))
                        if extras {
                            rows.append(LabelledMeasurement(arm: arm.label, clip: clip, step: j, seed: s, metric: MetricName.ssim, region: RegionName.mouth, value: ssim - 0.1 + noise() * 0.1))
                            rows.append(LabelledMeasurement(arm: arm.label, clip: clip, step: j, seed: s, metric: MetricName.ssim, region: RegionName.upperFace, value: ssim + 0.03 + noise() * 0.1))
                            rows.append(LabelledMeasurement(arm: arm.label, clip: clip, step: j, seed: s, metric: MetricName.lpips, region: RegionName.mouth, value: lpips + noise() * 0.1))
                        }
                    }
                }
            }
        }
        var maps: [SpatialMap] = []
        var series: [SyncSeries] = []
        if extras {
            for j in [5, 15, 25, 30, 35, 45] {
                for clip in clips.prefix(4) {
                    var v = [Float](repeating: 0, count: 32 * 32)
                    for y in 0..<32 { for x in 0..<32 {
                        let d = (Double(x) - 16) * (Double(x) - 16) / 60 + (Double(y) - 22) * (Double(y) - 22) / 20
                        v[y * 32 + x] = Float(gain(j) * 0.1 * exp(-d) + 0.005 * Double((x * 7 + y * 3) % 5))
                    } }
                    maps.append(SpatialMap(arm: ArmSpec.spatial(w: w).label, clip: clip, step: j, width: 32, height: 32, values: v, noiseFloor: 0.004))
                }
            }
            for clip in clips.prefix(4) {
                for (arm, lift) in [(ArmSpec.freshNoise(w: 1).label, 0.0), (ArmSpec.freshNoise(w: w).label, 1.2)] {
                    let times = (0..<16).map { 0.1 + 0.2 * Double($0) }
                    series.append(SyncSeries(arm: arm, clip: clip, step: 30, times: times,
                                             values: times.map { 5 + lift + 0.8 * sin($0 * 2) + noise() * 10 }))
                }
            }
        }
        return StudyData(name: "planted", source: "planted.sqlite", teacher: "analytic", modelName: "bank-32x32",
                         dropMode: "audio", syncModel: "facesync-cca", syncPreset: "pad", databaseSHA256: String(repeating: "ab", count: 32),
                         toolkitVersion: "0.1.0", status: status, numSteps: 50, shift: 5, maxT: 0.999, guidanceScale: w,
                         configuration: ["kappa": "4", "bank": "2000 frames"],
                         steps: probed.map { StepTime(j: $0, t: schedule.t($0)) }, clips: clips, arms: arms + (extras ? [.spatial(w: w)] : []),
                         measurements: rows, failures: [FailedUnits(arm: ArmSpec.trajectory(w: w).label, reason: "sync: no face", count: 2)],
                         syncSeries: series, spatialMaps: maps)
    }
}
