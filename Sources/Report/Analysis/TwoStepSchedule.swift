import Store

/// One candidate landing step of the two-step schedule.
public struct LandingCandidate: Codable, Sendable, Equatable {
    public var step: Int
    public var t: Double
    /// The CFG arm's Sync-C and fidelity means at this landing step.
    public var sync: Estimate
    public var fidelity: Estimate
    /// How far the fidelity is from the no-CFG ceiling (positive = worse).
    public var fidelityGap: Double
    public var withinTolerance: Bool
}

/// Step 1 at t_0 without CFG, step 2 landing at t_j with CFG: `t_list = [t_0, t_j, 0]`.
public struct TwoStepSchedule: Codable, Sendable, Equatable {
    public enum Source: String, Codable, Sendable { case eulerJump = "euler_jump", trajectory }
    public var source: Source
    /// Set when the schedule comes from the trajectory arms (fallback).
    public var note: String?
    public var cfgArm: String
    public var noCFGArm: String
    public var landingStep: Int
    /// Exact times (not rounded): t_0, t_landing, 0.
    public var tList: [Double]
    public var landing: LandingCandidate
    /// Best mean fidelity of the no-CFG arm over all probed steps, and where.
    public var fidelityCeiling: Double
    public var fidelityCeilingStep: Int
    /// Best mean Sync-C of the CFG arms over all probed steps, and where/which arm.
    public var syncCeiling: Double
    public var syncCeilingStep: Int
    public var syncCeilingArm: String
    /// Reference clips' own Sync-C (GT), when measured.
    public var gtSync: Double?
    /// Landing fidelity gap to the no-CFG ceiling (positive = worse) and Sync-C gap to the CFG
    /// ceiling (positive = below it).
    public var fidelityGap: Double
    public var syncGap: Double
    public var candidates: [LandingCandidate]
    public var fidelityMetric: String
    public var fidelityRegion: String
    public var tolerance: Double
}

enum ScheduleFinder {
    static func find(study: StudyData, comparator: Comparator, window: SyncWindow, rule: WindowRule,
                     w: Double, tolerance: Double) throws(ReportError) -> TwoStepSchedule {
        let arms = Set(study.arms.map(\.label))
        var source = TwoStepSchedule.Source.eulerJump
        var cfg = ArmSpec.eulerJump(s0: 1, s1: w).label, base = ArmSpec.eulerJump(s0: 1, s1: 1).label
        var note: String?
        var syncArms = [cfg, ArmSpec.eulerJump(s0: w, s1: w).label]
        if !(arms.contains(cfg) && arms.contains(base)) {
            let tc = ArmSpec.trajectory(w: w).label, tb = ArmSpec.trajectory(w: 1).label
            guard arms.contains(tc), arms.contains(tb) else {
                throw .missingArm(file: study.source, arm: arms.contains(cfg) ? base : cfg,
                                  neededFor: "the two-step schedule (neither euler_jump s0=1 s1=\(Fmt.g(w))/s1=1 nor trajectory w=\(Fmt.g(w))/w=1 were probed)")
            }
            source = .trajectory; cfg = tc; base = tb; syncArms = [tc]
            note = "No euler_jump arms were probed, so the landing step comes from the trajectory arms: trajectory(w) guides every step before the landing, not only the landing prediction, so its fidelity at a step is a pessimistic stand-in for the two-step student's."
        }
        let fm = rule.fidelityMetric, fr = rule.fidelityRegion
        let higher = MetricDirection(metric: fm) == .higherIsBetter
        let steps = study.steps.sorted { $0.j < $1.j }
        // No-CFG fidelity ceiling: the no-CFG arm at its best step.
        var ceiling: (Double, Int)?
        for s in steps {
            guard let v = comparator.value(arm: base, step: s.j, metric: fm, region: fr) else { continue }
            if ceiling == nil || (higher ? v.value.mean > ceiling!.0 : v.value.mean < ceiling!.0) { ceiling = (v.value.mean, s.j) }
        }
        guard let fc = ceiling else { throw .missingMetric(file: study.source, metric: fm, region: fr, arm: base) }
        var syncCeiling: (Double, Int, String)?
        for arm in syncArms where arms.contains(arm) {
            for s in steps {
                guard let v = comparator.value(arm: arm, step: s.j, metric: rule.syncMetric, region: rule.syncRegion) else { continue }
                if syncCeiling == nil || v.value.mean > syncCeiling!.0 { syncCeiling = (v.value.mean, s.j, arm) }
            }
        }
        guard let sc = syncCeiling else { throw .missingMetric(file: study.source, metric: rule.syncMetric, region: rule.syncRegion, arm: cfg) }
        var candidates: [LandingCandidate] = []
        for j in window.steps {
            guard let t = study.t(ofStep: j),
                  let sv = comparator.value(arm: cfg, step: j, metric: rule.syncMetric, region: rule.syncRegion),
                  let fv = comparator.value(arm: cfg, step: j, metric: fm, region: fr) else { continue }
            let gap = higher ? fc.0 - fv.value.mean : fv.value.mean - fc.0
            candidates.append(LandingCandidate(step: j, t: t, sync: sv.value, fidelity: fv.value,
                                               fidelityGap: gap, withinTolerance: gap <= tolerance))
        }
        guard !candidates.isEmpty else {
            throw .noLandingStep(file: study.source, reason: "\(cfg) has no \(rule.syncMetric)/\(fm) values inside the window (steps \(window.firstStep)..\(window.lastStep))")
        }
        let ok = candidates.filter(\.withinTolerance)
        guard let best = ok.max(by: { $0.sync.mean < $1.sync.mean || ($0.sync.mean == $1.sync.mean && $0.step > $1.step) }) else {
            let closest = candidates.min { $0.fidelityGap < $1.fidelityGap }!
            throw .noLandingStep(file: study.source, reason: "no step inside the window keeps \(fm) on \(fr) within \(Fmt.g(tolerance)) of the no-CFG ceiling \(Fmt.f(fc.0, 4)) (closest: step \(closest.step), gap \(Fmt.f(closest.fidelityGap, 4)))")
        }
        let t0 = study.t(ofStep: 0) ?? ShiftedSchedule(numSteps: study.numSteps, shift: study.shift, maxT: study.maxT).t(0)
        let gt = comparator.gt(metric: rule.syncMetric, region: rule.syncRegion)?.mean
        return TwoStepSchedule(source: source, note: note, cfgArm: cfg, noCFGArm: base, landingStep: best.step,
                               tList: [t0, best.t, 0], landing: best, fidelityCeiling: fc.0, fidelityCeilingStep: fc.1,
                               syncCeiling: sc.0, syncCeilingStep: sc.1, syncCeilingArm: sc.2, gtSync: gt,
                               fidelityGap: best.fidelityGap, syncGap: sc.0 - best.sync.mean, candidates: candidates,
                               fidelityMetric: fm, fidelityRegion: fr, tolerance: tolerance)
    }
}
