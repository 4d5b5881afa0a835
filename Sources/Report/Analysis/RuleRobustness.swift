import Store

/// How often each step came out of the clip resamples, with its percentile interval.
public struct StepDistribution: Codable, Sendable, Equatable {
    /// Step → number of resamples that gave it.
    public var counts: [Int: Int]
    /// 2.5% and 97.5% percentiles of the step over the resamples that gave one.
    public var lower: Int
    public var upper: Int
    /// Share of all resamples that gave exactly the point estimate's step.
    public var agreement: Double
}

/// The window and landing under one setting of the rule (the sensitivity table's row).
public struct SensitivityRow: Codable, Sendable, Equatable {
    public var gainFraction: Double
    public var fidelityTolerance: Double
    public var landingTolerance: Double
    public var firstStep: Int?
    public var lastStep: Int?
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
    public var resamples: Int
    /// Resamples that gave a window, and a landing step.
    public var withWindow: Int
    public var withLanding: Int
    /// Window first step (large t, `t_hi`), last step (small t, `t_lo`), and landing step.
    public var firstStep: StepDistribution?
    public var lastStep: StepDistribution?
    public var landingStep: StepDistribution?
    /// Share of resamples giving exactly the point window (both edges).
    public var windowAgreement: Double
    public var sensitivity: [SensitivityRow]

    /// Bootstrap resamples of the rule when the report is not told otherwise.
    public static let defaultResamples = 200
    /// Resamples of each per-step gain CI inside one rule resample (the significance criterion).
    static let innerResamples = 500

    static func compute(study: StudyData, index: StudyIndex, deciding: DecidingArms, rule: WindowRule,
                        scale: GuidanceScale, point: (window: SyncWindow?, landing: Int?),
                        resamples: Int, seed: UInt64, comparator: Comparator) -> RuleRobustness {
        let steps = study.steps.sorted { $0.j < $1.j }
        let clips = Array(Set(study.measurements.filter { $0.step != gtStep }.map(\.clip))).sorted()
        let flip = MetricDirection(metric: rule.fidelityMetric) == .higherIsBetter
        // Per step: clip → value, for the deciding pair and the landing pair.
        func perClip(_ arm: ArmSpec, _ metric: String, _ region: String) -> [Int: [String: Double]] {
            var out: [Int: [String: Double]] = [:]
            for s in steps { out[s.j] = index.values(arm: arm.label, step: s.j, metric: metric, region: region) }
            return out
        }
        let dCfgSync = perClip(deciding.pair.cfg, rule.syncMetric, rule.syncRegion)
        let dBaseSync = perClip(deciding.pair.base, rule.syncMetric, rule.syncRegion)
        let dCfgFid = perClip(deciding.pair.cfg, rule.fidelityMetric, rule.fidelityRegion)
        let dBaseFid = perClip(deciding.pair.base, rule.fidelityMetric, rule.fidelityRegion)
        let landingArms = try? ScheduleFinder.pair(study: study, scale: scale)
        // Whether CFG's cost is resolved from zero is judged once, on the full data.
        let landingResolved = (try? ScheduleFinder.stats(study: study, comparator: comparator, rule: rule, scale: scale))?.peakResolved ?? true
        let lCfgSync = landingArms.map { perClip($0.cfg, rule.syncMetric, rule.syncRegion) } ?? [:]
        let lCfgFid = landingArms.map { perClip($0.cfg, rule.fidelityMetric, rule.fidelityRegion) } ?? [:]
        let lBaseFid = landingArms.map { perClip($0.base, rule.fidelityMetric, rule.fidelityRegion) } ?? [:]

        var inner = comparator.bootstrap
        inner.resamples = innerResamples
        var plans: [Int: ResamplePlan] = [:]
        for n in 2...max(2, clips.count) { plans[n] = inner.plan(n: n, stream: 0x5EED) }

        var rng = SplitMix64(seed: seed ^ 0x0B5E_55ED_0F_C11B)
        var firsts: [Int] = [], lasts: [Int] = [], landings: [Int] = []
        var agreeWindow = 0
        for _ in 0..<resamples {
            var weight: [String: Int] = [:]
            for _ in 0..<clips.count { weight[clips[rng.nextIndex(below: clips.count)], default: 0] += 1 }
            /// The drawn clips' values (with multiplicity) of `a − b`, or of `a` alone.
            func drawn(_ a: [String: Double]?, minus b: [String: Double]? = nil) -> [Double] {
                guard let a else { return [] }
                var out: [Double] = []
                for (clip, k) in weight.sorted(by: { $0.key < $1.key }) {
                    guard let x = a[clip] else { continue }
                    if let b { guard let y = b[clip] else { continue }; out += Array(repeating: x - y, count: k) }
                    else { out += Array(repeating: x, count: k) }
                }
                return out
            }
            func mean(_ v: [Double]) -> Double { v.reduce(0, +) / Double(v.count) }
            var stats = RuleStats(steps: steps, gain: [:], cost: [:], base: [:])
            var land = LandingStats(cfgArm: landingArms?.cfg.label ?? "", baseArm: landingArms?.base.label ?? "",
                                    source: landingArms?.source ?? .eulerJump, note: nil, sync: [:], fidelity: [:], cost: [:], base: [:],
                                    peakResolved: landingResolved)
            for s in steps {
                let g = drawn(dCfgSync[s.j], minus: dBaseSync[s.j])
                if !g.isEmpty { stats.gain[s.j] = inner.estimate(g, plan: plans[g.count]) }
                let c = drawn(dCfgFid[s.j], minus: dBaseFid[s.j])
                if !c.isEmpty {
                    let m = mean(c)
                    stats.cost[s.j] = Estimate(mean: flip ? -m : m, lower: nil, upper: nil, count: c.count)
                    let b = drawn(dBaseFid[s.j])
                    stats.base[s.j] = b.isEmpty ? .nan : mean(b)
                }
                if landingArms != nil {
                    let sy = drawn(lCfgSync[s.j]), fi = drawn(lCfgFid[s.j]), lc = drawn(lCfgFid[s.j], minus: lBaseFid[s.j])
                    if !sy.isEmpty { land.sync[s.j] = Estimate(mean: mean(sy), lower: nil, upper: nil, count: sy.count) }
                    if !fi.isEmpty { land.fidelity[s.j] = Estimate(mean: mean(fi), lower: nil, upper: nil, count: fi.count) }
                    if !lc.isEmpty {
                        let m = mean(lc)
                        land.cost[s.j] = flip ? -m : m
                        let b = drawn(lBaseFid[s.j])
                        land.base[s.j] = b.isEmpty ? .nan : mean(b)
                    }
                }
            }
            let result = WindowFinder.find(stats: stats, deciding: deciding, rule: rule)
            guard let win = result.window else { continue }
            firsts.append(win.firstStep); lasts.append(win.lastStep)
            if let pw = point.window, pw.firstStep == win.firstStep, pw.lastStep == win.lastStep { agreeWindow += 1 }
            if landingArms != nil, let l = try? ScheduleFinder.land(land, window: win, rule: rule, study: study) {
                landings.append(l.best.step)
            }
        }
        func distribution(_ xs: [Int], point: Int?) -> StepDistribution? {
            guard !xs.isEmpty else { return nil }
            var counts: [Int: Int] = [:]
            for x in xs { counts[x, default: 0] += 1 }
            let sorted = xs.sorted()
            let lo = sorted[Int((Double(sorted.count - 1) * 0.025).rounded(.down))]
            let hi = sorted[Int((Double(sorted.count - 1) * 0.975).rounded(.up))]
            return StepDistribution(counts: counts, lower: lo, upper: hi,
                                    agreement: point.map { p in Double(xs.filter { $0 == p }.count) / Double(resamples) } ?? 0)
        }
        let sensitivity = sensitivityRows(study: study, comparator: comparator, deciding: deciding, rule: rule, scale: scale)
        return RuleRobustness(resamples: resamples, withWindow: firsts.count, withLanding: landings.count,
                              firstStep: distribution(firsts, point: point.window?.firstStep),
                              lastStep: distribution(lasts, point: point.window?.lastStep),
                              landingStep: distribution(landings, point: point.landing),
                              windowAgreement: resamples > 0 ? Double(agreeWindow) / Double(resamples) : 0,
                              sensitivity: sensitivity)
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
