import Store

/// One candidate landing step of the two-step schedule.
public struct LandingCandidate: Codable, Sendable, Equatable {
    /// The candidate landing step.
    public var step: Int
    /// Its schedule time.
    public var t: Double
    /// The CFG arm's Sync-C and fidelity means at this landing step.
    public var sync: Estimate
    /// The CFG arm's mean fidelity at this step.
    public var fidelity: Estimate
    /// The CFG arm's fidelity cost against its no-CFG twin at the same step (positive = worse).
    public var fidelityGap: Double
    /// The admissible cost at this step (metric units).
    public var limit: Double
    /// Whether the cost is within `limit`.
    public var withinTolerance: Bool
}

/// Step 1 at t_0 without CFG, step 2 landing at t_j with CFG: `t_list = [t_0, t_j, 0]`.
public struct TwoStepSchedule: Codable, Sendable, Equatable {
    /// Which arms gave the schedule: the Euler-jump factorial, else the trajectory arms.
    public enum Source: String, Codable, Sendable { case eulerJump = "euler_jump", trajectory }
    /// The arms the schedule was read from.
    public var source: Source
    /// Set when the schedule comes from the trajectory arms (fallback).
    public var note: String?
    /// Label of the CFG arm at the landing.
    public var cfgArm: String
    /// Label of its no-CFG twin.
    public var noCFGArm: String
    /// The step the student's second step lands on.
    public var landingStep: Int
    /// Exact times (not rounded): t_0, t_landing, 0.
    public var tList: [Double]
    /// The chosen candidate's statistics.
    public var landing: LandingCandidate
    /// The landing pair's peak mean fidelity cost over all probed steps, and where: the scale the
    /// landing tolerance is a fraction of (peak form).
    public var peakCost: Double
    /// Step of that peak cost.
    public var peakCostStep: Int
    /// The no-CFG twin's mean fidelity at the landing step (what "comparable fidelity" compares to).
    public var twinFidelity: Double
    /// Best mean Sync-C of the CFG arms over all probed steps, and where/which arm.
    public var syncCeiling: Double
    /// Step of the Sync-C ceiling.
    public var syncCeilingStep: Int
    /// Arm of the Sync-C ceiling.
    public var syncCeilingArm: String
    /// Reference clips' own Sync-C (GT), when measured.
    public var gtSync: Double?
    /// Landing fidelity cost against its no-CFG twin (positive = worse), and the Sync-C gap to the
    /// CFG ceiling (positive = below it).
    public var fidelityGap: Double
    /// Sync-C gap of the landing to the CFG ceiling (positive = below it).
    public var syncGap: Double
    /// Every window step considered, with its statistics.
    public var candidates: [LandingCandidate]
    /// Store name of the fidelity metric the landing is costed in.
    public var fidelityMetric: String
    /// Region of that metric.
    public var fidelityRegion: String
    /// The landing tolerance as set (a fraction of the peak cost in the peak form).
    public var tolerance: Double
    /// How `tolerance` is expressed.
    public var toleranceForm: ToleranceForm
}

/// The per-step statistics the landing reads, from the full data or a clip resample.
struct LandingStats: Sendable {
    var cfgArm: String, baseArm: String
    var source: TwoStepSchedule.Source
    var note: String?
    /// The CFG arm's mean Sync-C and fidelity, and its fidelity cost against the twin (averaged
    /// over the step and its probed neighbours, as the window's).
    var sync: [Int: Estimate]
    var fidelity: [Int: Estimate]
    var cost: [Int: Double]
    var base: [Int: Double]
    /// Whether the pair's peak cost is resolved from zero (see `RuleStats.peakCostResolved`);
    /// when it is not, every window step is within the landing tolerance.
    var peakResolved = true
    /// The pair's peak cost (running mean, as the window's).
    var peak: (value: Double, step: Int)?
}

/// The landing pair's per-clip data: its paired cost and the CFG arm's own Sync-C and fidelity.
struct LandingClipData: Sendable {
    var cfgArm: String, baseArm: String
    var source: TwoStepSchedule.Source
    var note: String?
    var pair: PairClipData
    var sync: [Int: [String: Double]] = [:]
    var fidelity: [Int: [String: Double]] = [:]

    init(study: StudyData, index: StudyIndex, rule: WindowRule, scale: GuidanceScale) throws(ReportError) {
        let p = try ScheduleFinder.pair(study: study, scale: scale)
        cfgArm = p.cfg.label; baseArm = p.base.label; source = p.source; note = p.note
        pair = PairClipData(index: index, pair: ArmPair(cfg: p.cfg, base: p.base, kind: ArmPairing.kind(of: p.cfg)), rule: rule, steps: study.steps)
        for st in study.steps {
            let sv = index.values(arm: cfgArm, step: st.j, metric: rule.syncMetric, region: rule.syncRegion)
            if !sv.isEmpty { sync[st.j] = sv }
            let fv = index.values(arm: cfgArm, step: st.j, metric: rule.fidelityMetric, region: rule.fidelityRegion)
            if !fv.isEmpty { fidelity[st.j] = fv }
        }
    }

    /// The landing statistics; `weights` draws clips (a resample: how often each clip of
    /// `pair.clips` was drawn) or, nil, takes each once.
    func stats(rule: WindowRule, weights: [Int]?, bootstrap: Bootstrap, plans: [Int: ResamplePlan]) -> LandingStats {
        let order = Dictionary(uniqueKeysWithValues: pair.clips.enumerated().map { ($1, $0) })
        func values(_ m: [String: Double]) -> [Double] {
            var out: [Double] = []
            for clip in m.keys.sorted() {
                guard let i = order[clip] else { if weights == nil { out.append(m[clip]!) }; continue }
                let k = weights.map { $0[i] } ?? 1
                for _ in 0..<k { out.append(m[clip]!) }
            }
            return out
        }
        var s = LandingStats(cfgArm: cfgArm, baseArm: baseArm, source: source, note: note, sync: [:], fidelity: [:], cost: [:], base: [:])
        for (j, m) in sync { let v = values(m); if !v.isEmpty { s.sync[j] = bootstrap.estimate(v, plan: plans[v.count]) } }
        for (j, m) in fidelity { let v = values(m); if !v.isEmpty { s.fidelity[j] = bootstrap.estimate(v, plan: plans[v.count]) } }
        var costCI: [Int: Estimate] = [:]
        for (j, m) in pair.smoothed(pair.cost, k: rule.smoothing) {
            let v = values(m)
            if !v.isEmpty { let e = bootstrap.estimate(v, plan: plans[v.count]); costCI[j] = e; s.cost[j] = e.mean }
        }
        for (j, m) in pair.base { let v = values(m); if !v.isEmpty { s.base[j] = v.reduce(0, +) / Double(v.count) } }
        s.peak = RuleStats.runningPeak(s.cost, steps: pair.steps, span: rule.peakSpan)
        if let p = s.peak, let e = costCI[p.step] { s.peakResolved = p.value > 0 && (e.lower.map { $0 > 0 } ?? true) }
        else { s.peakResolved = false }
        return s
    }
}

enum ScheduleFinder {
    /// The landing pair: `euler_jump(1, w)` and its twin `euler_jump(1, 1)` (each knob `s0`/`s1`,
    /// or `s0t,s0a`/`s1t,s1a` for two-scale teachers), else the trajectory arms.
    static func pair(study: StudyData, scale: GuidanceScale) throws(ReportError) -> (cfg: ArmSpec, base: ArmSpec, source: TwoStepSchedule.Source, note: String?) {
        let arms = Set(study.arms)
        let cfg = scale.eulerJump(s0: .off, s1: .on), base = scale.eulerJump(s0: .off, s1: .off)
        if arms.contains(cfg) && arms.contains(base) { return (cfg, base, .eulerJump, nil) }
        let tc = scale.single(.trajectory, .on), tb = scale.single(.trajectory, .off)
        guard arms.contains(tc), arms.contains(tb) else {
            throw .missingArm(file: study.source, arm: arms.contains(cfg) ? base.label : cfg.label,
                              neededFor: "the two-step schedule (neither \(cfg.label) / \(base.label) nor \(tc.label) / \(tb.label) were probed)")
        }
        return (tc, tb, .trajectory,
                "No euler_jump arms were probed, so the landing step comes from the trajectory arms: trajectory(w) guides every step before the landing, not only the landing prediction, so its fidelity at a step is a pessimistic stand-in for the two-step student's.")
    }

    static func stats(study: StudyData, comparator: Comparator, rule: WindowRule, scale: GuidanceScale) throws(ReportError) -> LandingStats {
        try LandingClipData(study: study, index: comparator.index, rule: rule, scale: scale)
            .stats(rule: rule, weights: nil, bootstrap: comparator.bootstrap, plans: comparator.plans)
    }

    /// The landing step: among window steps whose cost against the twin is within the landing
    /// limit, the highest mean Sync-C (the earlier step on a tie).
    static func land(_ s: LandingStats, window: SyncWindow, rule: WindowRule, study: StudyData) throws(ReportError) -> (best: LandingCandidate, candidates: [LandingCandidate], peak: (Double, Int)) {
        guard let peak = s.peak else {
            throw .missingMetric(file: study.source, metric: rule.fidelityMetric, region: rule.fidelityRegion, arm: s.baseArm)
        }
        var candidates: [LandingCandidate] = []
        for j in window.steps {
            guard let t = study.t(ofStep: j), let sv = s.sync[j], let fv = s.fidelity[j], let c = s.cost[j] else { continue }
            let limit = rule.toleranceForm == .peak && !s.peakResolved && peak.value > 0
                ? Double.infinity : rule.limit(rule.landingTolerance, peakCost: peak.value, base: s.base[j])
            candidates.append(LandingCandidate(step: j, t: t, sync: sv, fidelity: fv, fidelityGap: c, limit: limit, withinTolerance: c <= limit))
        }
        guard !candidates.isEmpty else {
            throw .noLandingStep(file: study.source, reason: "\(s.cfgArm) has no \(rule.syncMetric)/\(rule.fidelityMetric) values inside the window (steps \(window.firstStep)..\(window.lastStep))")
        }
        guard let best = candidates.filter(\.withinTolerance).max(by: { $0.sync.mean < $1.sync.mean || ($0.sync.mean == $1.sync.mean && $0.step > $1.step) }) else {
            let closest = candidates.min { a, b in a.fidelityGap - a.limit < b.fidelityGap - b.limit }!
            let need = rule.toleranceNeeded(cost: closest.fidelityGap, peakCost: peak.value, base: s.base[closest.step])
            throw .noLandingStep(file: study.source, reason: "no window step keeps the \(rule.fidelityMetric) cost on \(rule.fidelityRegion) against its no-CFG twin within \(rule.toleranceForm.describe(rule.landingTolerance)); closest: step \(closest.step) (t=\(Fmt.f(closest.t, 3))), cost \(Fmt.f(closest.fidelityGap, 4)) > limit \(Fmt.f(closest.limit, 4))" + (need.map { "; --landing-tolerance \(WindowFinder.roundUp($0)) would admit it" } ?? ""))
        }
        return (best, candidates, (peak.value, peak.step))
    }

    static func find(study: StudyData, comparator: Comparator, window: SyncWindow, rule: WindowRule,
                     scale: GuidanceScale) throws(ReportError) -> TwoStepSchedule {
        let s = try stats(study: study, comparator: comparator, rule: rule, scale: scale)
        let (best, candidates, peak) = try land(s, window: window, rule: rule, study: study)
        var syncArms = [s.cfgArm]
        if s.source == .eulerJump { syncArms.append(scale.eulerJump(s0: .on, s1: .on).label) }
        var syncCeiling: (Double, Int, String)?
        let arms = Set(study.arms.map(\.label))
        for arm in syncArms where arms.contains(arm) {
            for st in study.steps.sorted(by: { $0.j < $1.j }) {
                guard let v = comparator.value(arm: arm, step: st.j, metric: rule.syncMetric, region: rule.syncRegion) else { continue }
                if syncCeiling == nil || v.value.mean > syncCeiling!.0 { syncCeiling = (v.value.mean, st.j, arm) }
            }
        }
        guard let sc = syncCeiling else { throw .missingMetric(file: study.source, metric: rule.syncMetric, region: rule.syncRegion, arm: s.cfgArm) }
        let t0: Double
        if let probed = study.t(ofStep: 0) { t0 = probed } else {
            t0 = try study.sampler(neededFor: "the two-step schedule's first time (step 0 was not probed)").t(0)
        }
        let gt = comparator.gt(metric: rule.syncMetric, region: rule.syncRegion)?.mean
        return TwoStepSchedule(source: s.source, note: s.note, cfgArm: s.cfgArm, noCFGArm: s.baseArm, landingStep: best.step,
                               tList: [t0, best.t, 0], landing: best, peakCost: peak.0, peakCostStep: peak.1,
                               twinFidelity: s.base[best.step] ?? .nan,
                               syncCeiling: sc.0, syncCeilingStep: sc.1, syncCeilingArm: sc.2, gtSync: gt,
                               fidelityGap: best.fidelityGap, syncGap: sc.0 - best.sync.mean, candidates: candidates,
                               fidelityMetric: rule.fidelityMetric, fidelityRegion: rule.fidelityRegion,
                               tolerance: rule.landingTolerance, toleranceForm: rule.toleranceForm)
    }
}
