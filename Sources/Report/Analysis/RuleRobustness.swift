import Digest
import Foundation
import Store

/// How often each step came out of the clip resamples, with its percentile interval.
public struct StepDistribution: Codable, Sendable, Equatable {
    /// Step → number of resamples that gave it.
    public var counts: [Int: Int]
    /// 2.5% and 97.5% percentiles of the step over the resamples that gave one.
    public var lower: Int
    /// 97.5% percentile of the step.
    public var upper: Int
    /// Share of all resamples that gave exactly the point estimate's step.
    public var agreement: Double
}

/// The window and landing under one setting of the rule (the sensitivity table's row).
public struct SensitivityRow: Codable, Sendable, Equatable {
    /// The row's `--gain-fraction`.
    public var gainFraction: Double
    /// The row's `--fidelity-tolerance`.
    public var fidelityTolerance: Double
    /// The row's `--landing-tolerance`.
    public var landingTolerance: Double
    /// Window's first step under this setting; nil when there is no window.
    public var firstStep: Int?
    /// Window's last step under this setting; nil when there is no window.
    public var lastStep: Int?
    /// Landing step under this setting; nil when there is none.
    public var landingStep: Int?
    /// The row of the settings in use.
    public var isDefault: Bool
}

/// The answer's own uncertainty: the whole rule (window and landing) recomputed on clip
/// resamples, and its sensitivity to the rule's settings around the ones in use.
///
/// Clips are the units, as in every CI of the report: each resample draws the study's clips
/// with replacement, recomputes every per-step mean and the gain CIs from the drawn clips, then
/// applies the same rule. A window edge that moves by many steps between resamples is not
/// determined by the data, whatever the point estimate says.
public struct RuleRobustness: Codable, Sendable, Equatable {
    /// Clip resamples drawn.
    public var resamples: Int
    /// Resamples that gave a window, and a landing step.
    public var withWindow: Int
    /// Resamples that gave a landing step.
    public var withLanding: Int
    /// Window first step (large t, `t_hi`), last step (small t, `t_lo`), and landing step.
    public var firstStep: StepDistribution?
    /// Distribution of the window's last step; nil when no resample gave a window.
    public var lastStep: StepDistribution?
    /// Distribution of the landing step; nil when no resample gave one.
    public var landingStep: StepDistribution?
    /// Share of resamples giving exactly the point window (both edges).
    public var windowAgreement: Double
    /// The rule's answer as each setting varies around the one in use.
    public var sensitivity: [SensitivityRow]

    /// Bootstrap resamples of the rule when the report is not told otherwise.
    public static let defaultResamples = 200
    /// Resamples of each per-step gain CI inside one rule resample (the significance criterion).
    static let innerResamples = 500

    static func compute(study: StudyData, index: StudyIndex, deciding: DecidingArms, rule: WindowRule,
                        scale: GuidanceScale, point: (window: SyncWindow?, landing: Int?),
                        resamples: Int, seed: UInt64, comparator: Comparator) -> RuleRobustness {
        let decidingData = PairClipData(index: index, pair: deciding.pair, rule: rule, steps: study.steps)
        let clips = Array(Set(study.measurements.filter { $0.step != gtStep }.map(\.clip))).sorted()
        let decidingClips = decidingData.clips
        let decidingPrepared = decidingData.prepared(smoothing: rule.smoothing)
        let decidingResolved = RuleStats.build(decidingPrepared, steps: decidingData.steps, rule: rule, weights: nil,
                                               bootstrap: comparator.bootstrap, plans: comparator.plans).peakCostResolved
        let landingData = try? LandingClipData(study: study, index: index, rule: rule, scale: scale)
        let landingClips = landingData?.pair.clips ?? []
        // Whether CFG's landing cost is resolved from zero is judged once, on the full data.
        let landingResolved = landingData?.stats(rule: rule, weights: nil, bootstrap: comparator.bootstrap, plans: comparator.plans).peakResolved ?? true

        var inner = comparator.bootstrap
        inner.resamples = innerResamples
        var plans: [Int: ResamplePlan] = [:]
        for n in 2...max(2, clips.count) { plans[n] = inner.plan(n: n, stream: 0x5EED) }

        var rng = SplitMix64(seed: seed ^ 0x0B5E_55ED_0FC1_1B00)
        var firsts: [Int] = [], lasts: [Int] = [], landings: [Int] = []
        var agreeWindow = 0
        for _ in 0..<resamples {
            var drawn: [String: Int] = [:]
            for _ in 0..<clips.count { drawn[clips[rng.nextIndex(below: clips.count)], default: 0] += 1 }
            var stats = RuleStats.build(decidingPrepared, steps: decidingData.steps, rule: rule, weights: decidingClips.map { drawn[$0] ?? 0 },
                                        bootstrap: inner, plans: plans)
            stats.resolvedCost = decidingResolved
            let result = WindowFinder.find(stats: stats, deciding: deciding, rule: rule)
            guard let win = result.window else { continue }
            firsts.append(win.firstStep); lasts.append(win.lastStep)
            if let pw = point.window, pw.firstStep == win.firstStep, pw.lastStep == win.lastStep { agreeWindow += 1 }
            if let landingData {
                // Means only: the landing reads no CI.
                var land = landingData.stats(rule: rule, weights: landingClips.map { drawn[$0] ?? 0 }, bootstrap: inner, plans: [:])
                land.peakResolved = landingResolved
                if let l = try? ScheduleFinder.land(land, window: win, rule: rule, study: study) { landings.append(l.best.step) }
            }
        }
        let sensitivity = sensitivityRows(study: study, comparator: comparator, deciding: deciding, rule: rule, scale: scale)
        return RuleRobustness(resamples: resamples, withWindow: firsts.count, withLanding: landings.count,
                              firstStep: distribution(firsts, point: point.window?.firstStep, resamples: resamples),
                              lastStep: distribution(lasts, point: point.window?.lastStep, resamples: resamples),
                              landingStep: distribution(landings, point: point.landing, resamples: resamples),
                              windowAgreement: resamples > 0 ? Double(agreeWindow) / Double(resamples) : 0,
                              sensitivity: sensitivity)
    }

    /// Bias-corrected percentile interval (Efron's BC) of a step over the resamples.
    ///
    /// The plain percentile interval assumes the resamples scatter around the estimate as the
    /// estimate scatters around the truth. A window edge does not: a noisy step inside the band
    /// cuts a contiguous window short in a resample more often than it lengthens it, so the
    /// resamples lean inward. BC shifts the percentiles by that lean (z0 = Φ⁻¹ of the share of
    /// resamples below the estimate, ties counted half), which restores the coverage of planted
    /// edges (see the coverage test on the real-shaped fixture).
    static func distribution(_ xs: [Int], point: Int?, resamples: Int) -> StepDistribution? {
        guard !xs.isEmpty else { return nil }
        var counts: [Int: Int] = [:]
        for x in xs { counts[x, default: 0] += 1 }
        let sorted = xs.sorted()
        var lowerQ = 0.025, upperQ = 0.975
        if let p = point {
            let below = Double(xs.filter { $0 < p }.count) + 0.5 * Double(xs.filter { $0 == p }.count)
            let share = min(max(below / Double(xs.count), 0.5 / Double(xs.count)), 1 - 0.5 / Double(xs.count))
            let z0 = Normal.quantile(share)
            lowerQ = Normal.cdf(2 * z0 + Normal.quantile(0.025))
            upperQ = Normal.cdf(2 * z0 + Normal.quantile(0.975))
        }
        let lo = sorted[Int((Double(sorted.count - 1) * lowerQ).rounded(.down))]
        let hi = sorted[Int((Double(sorted.count - 1) * upperQ).rounded(.up))]
        return StepDistribution(counts: counts, lower: lo, upper: hi,
                                agreement: point.map { p in Double(xs.filter { $0 == p }.count) / Double(resamples) } ?? 0)
    }

    /// The window and landing on the full data with the gain fraction ×{3/4, 1, 3/2}, the
    /// fidelity tolerance ×{1/2, 1, 3/2} (capped at 1 in the peak form) and the landing
    /// tolerance ×{1/2, 1, 2} around the settings in use.
    static func sensitivityRows(study: StudyData, comparator: Comparator, deciding: DecidingArms, rule: WindowRule,
                                scale: GuidanceScale) -> [SensitivityRow] {
        let stats = WindowFinder.stats(study: study, comparator: comparator, pair: deciding.pair, rule: rule)
        let landing = try? ScheduleFinder.stats(study: study, comparator: comparator, rule: rule, scale: scale)
        func cap(_ x: Double) -> Double { rule.toleranceForm == .peak ? min(x, 1) : x }
        var rows: [SensitivityRow] = []
        func row(_ f: Double, _ tol: Double, _ lt: Double) {
            var r = rule
            r.gainFraction = min(f, 1); r.fidelityTolerance = cap(tol); r.landingTolerance = cap(lt)
            let w = WindowFinder.find(stats: stats, deciding: deciding, rule: r).window
            let l = w.flatMap { win in landing.flatMap { try? ScheduleFinder.land($0, window: win, rule: r, study: study).best.step } }
            rows.append(SensitivityRow(gainFraction: r.gainFraction, fidelityTolerance: r.fidelityTolerance, landingTolerance: r.landingTolerance,
                                       firstStep: w?.firstStep, lastStep: w?.lastStep, landingStep: l,
                                       isDefault: f == rule.gainFraction && tol == rule.fidelityTolerance && lt == rule.landingTolerance))
        }
        for f in [0.75, 1, 1.5].map({ $0 * rule.gainFraction }) {
            for tol in [0.5, 1, 1.5].map({ $0 * rule.fidelityTolerance }) { row(f, tol, rule.landingTolerance) }
        }
        for lt in [0.5, 2].map({ $0 * rule.landingTolerance }) { row(rule.gainFraction, rule.fidelityTolerance, lt) }
        return rows
    }
}

/// The standard normal distribution's CDF and quantile (Acklam's rational approximation refined
/// by one Halley step: relative error below 1e-13 over (0, 1)), for bias-corrected intervals.
enum Normal {
    static func cdf(_ x: Double) -> Double { 0.5 * erfc(-x / 2.0.squareRoot()) }

    static func quantile(_ p: Double) -> Double {
        precondition(p > 0 && p < 1, "quantile of \(p)")
        let a = [-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02, 1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00]
        let b = [-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02, 6.680131188771972e+01, -1.328068155288572e+01]
        let c = [-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00, -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00]
        let d = [7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00, 3.754408661907416e+00]
        let pl = 0.02425
        var x: Double
        if p < pl {
            let q = (-2 * log(p)).squareRoot()
            x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1)
        } else if p <= 1 - pl {
            let q = p - 0.5, r = q * q
            x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1)
        } else {
            let q = (-2 * log(1 - p)).squareRoot()
            x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1)
        }
        let e = cdf(x) - p
        let u = e * (2 * Double.pi).squareRoot() * exp(x * x / 2)
        return x - u / (1 + x * u / 2)
    }
}
