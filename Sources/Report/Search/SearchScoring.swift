import Foundation
import Store

/// When a searched schedule's fidelity is comparable to its no-CFG twin's: the two-step landing's
/// test, applied to whole samplings.
///
/// The landing keeps a CFG prediction whose cost against its no-CFG twin at the same step is
/// within the rule's landing tolerance (by default 0.15 × the landing pair's peak CFG cost over the
/// trajectory: scale-free). A searched schedule is costed the same way against the same steps
/// sampled without guidance, with the same limit, so the search's two-step winner and the
/// rule's landing answer one question.
public struct SearchCriterion: Codable, Sendable, Equatable {
    /// The study's window rule, whose landing tolerance the search reuses.
    public var rule: WindowRule
    /// The peak mean CFG cost the peak-form tolerance is a fraction of, where, and of which pair.
    public var peakCost: Double
    /// Step of the peak cost, when known.
    public var peakStep: Int?
    /// The CFG pair the peak was measured on, as `cfg − base`.
    public var peakPair: String
    /// False when the peak is not resolved from zero: CFG has no measurable cost, and every
    /// schedule is admissible (as every window step is for the landing).
    public var peakResolved: Bool

    init(report: StudyReport) throws(ReportError) {
        rule = report.rule
        // The landing pair's own peak, as the landing reads it, whether or not a landing was found.
        let comparator = Comparator(index: report.index, bootstrap: report.options.bootstrap,
                                    maxClips: Set(report.study.measurements.map(\.clip)).count)
        let landing = report.scale.flatMap { try? ScheduleFinder.stats(study: report.study, comparator: comparator, rule: report.rule, scale: $0) }
        if let l = landing, let peak = l.peak {
            peakCost = peak.value; peakStep = peak.step; peakPair = "\(l.cfgArm) − \(l.baseArm)"
            peakResolved = !(rule.toleranceForm == .peak && !l.peakResolved)
        } else if let s = report.schedule {
            peakCost = s.peakCost; peakStep = s.peakCostStep; peakPair = "\(s.cfgArm) − \(s.noCFGArm)"
            peakResolved = !(rule.toleranceForm == .peak && s.landing.limit.isInfinite)
        } else if let w = report.window {
            peakCost = w.peakCost; peakStep = w.peakCostStep; peakPair = w.deciding.pair.label
            peakResolved = !(rule.toleranceForm == .peak && (w.verdicts.first { $0.limit != nil }?.limit?.isInfinite ?? false))
        } else {
            throw .noWindow(file: report.study.source, reason: "the search costs schedules against the study's CFG cost, and \(report.scheduleProblem?.description ?? "the study has no CFG arm with its no-CFG twin")")
        }
    }

    /// The largest admissible cost for a schedule whose twin has mean fidelity `twin`.
    public func limit(twinFidelity twin: Double) -> Double {
        if rule.toleranceForm == .peak && !peakResolved && peakCost > 0 { return .infinity }
        return rule.limit(rule.landingTolerance, peakCost: peakCost, base: twin)
    }

    /// Whether a schedule with this mean cost and twin fidelity passes.
    public func admits(cost: Double, twinFidelity: Double) -> Bool { cost <= limit(twinFidelity: twinFidelity) }

    /// The test in one line, with the limit spelled out for the peak form.
    public var text: String {
        "fidelity cost (\(rule.fidelityMetric) on \(rule.fidelityRegion), against the same steps sampled without CFG) ≤ \(rule.toleranceForm.describe(rule.landingTolerance))"
            + (rule.toleranceForm == .peak ? " = \(Fmt.f(limit(twinFidelity: .nan), 4)) (peak cost \(Fmt.f(peakCost, 4)) of \(peakPair)\(peakStep.map { " at step \($0)" } ?? ""))" : "")
    }
}

/// A candidate's means over the pairs it was scored on (seeds averaged within a clip first).
public struct CandidateScore: Sendable, Equatable {
    /// Mean Sync-C over clips.
    public var sync: Double
    /// Mean fidelity cost against the no-CFG twin.
    public var cost: Double
    /// Mean fidelity of the no-CFG twin.
    public var twinFidelity: Double
    /// Largest admissible cost given `twinFidelity`.
    public var limit: Double
    /// Clips the means are over.
    public var clips: Int
    /// Whether `cost` is within `limit`.
    public var admissible: Bool { cost <= limit }
    /// How far over its limit (≤ 0 when admissible), the rank of inadmissible ones.
    public var excess: Double { cost - limit }
}

/// Per-clip values behind a score: what the bootstrap resamples.
struct ClipValues: Sendable {
    var sync: [Double] = []
    var cost: [Double] = []
    var twin: [Double] = []
}

enum SearchScoring {
    /// Sync and fidelity of every stored student-schedule unit: arm label → pair → (sync, fidelity).
    static func values(store: StudyStore, rule: WindowRule) throws -> [String: [SearchPair: (sync: Double?, fidelity: Double?)]] {
        let snap = try store.snapshot()
        let clips = Dictionary(uniqueKeysWithValues: snap.clips.map { ($0.id, $0.name) })
        let arms = Dictionary(uniqueKeysWithValues: snap.arms.filter { $0.spec.family == .studentSchedule }.map { ($0.id, $0.label) })
        var out: [String: [SearchPair: (sync: Double?, fidelity: Double?)]] = [:]
        for m in snap.measurements where m.step != gtStep {
            guard let arm = arms[m.arm], let clip = clips[m.clip] else { continue }
            let pair = SearchPair(clip: clip, seed: m.seed)
            if m.metric == rule.syncMetric && m.region == rule.syncRegion {
                out[arm, default: [:]][pair, default: (nil, nil)].sync = m.value
            } else if m.metric == rule.fidelityMetric && m.region == rule.fidelityRegion {
                out[arm, default: [:]][pair, default: (nil, nil)].fidelity = m.value
            }
        }
        return out
    }

    /// Per-clip values of a candidate on `pairs`: Sync-C, cost against its twin (positive =
    /// worse) and the twin's fidelity, each averaged over the clip's seeds where both are stored.
    static func clipValues(_ c: StudentScheduleKnobs, values: [String: [SearchPair: (sync: Double?, fidelity: Double?)]],
                           pairs: Set<SearchPair>, rule: WindowRule) -> ClipValues {
        let own = values[c.label] ?? [:], twin = values[c.unguided.label] ?? [:]
        var byClip: [String: (sync: [Double], cost: [Double], twin: [Double])] = [:]
        for p in pairs {
            guard let v = own[p], let s = v.sync, let f = v.fidelity, let tf = twin[p]?.fidelity else { continue }
            byClip[p.clip, default: ([], [], [])].sync.append(s)
            byClip[p.clip, default: ([], [], [])].cost.append(rule.cost(fromDifference: f - tf))
            byClip[p.clip, default: ([], [], [])].twin.append(tf)
        }
        var out = ClipValues()
        func mean(_ x: [Double]) -> Double { x.reduce(0, +) / Double(x.count) }
        for clip in byClip.keys.sorted() {
            let v = byClip[clip]!
            out.sync.append(mean(v.sync)); out.cost.append(mean(v.cost)); out.twin.append(mean(v.twin))
        }
        return out
    }

    static func score(_ v: ClipValues, criterion: SearchCriterion) -> CandidateScore? {
        guard !v.sync.isEmpty else { return nil }
        func mean(_ x: [Double]) -> Double { x.reduce(0, +) / Double(x.count) }
        let twin = mean(v.twin)
        return CandidateScore(sync: mean(v.sync), cost: mean(v.cost), twinFidelity: twin,
                              limit: criterion.limit(twinFidelity: twin), clips: v.sync.count)
    }

    /// Scores of `candidates` on `pairs`; candidates with nothing stored there have none.
    static func scores(store: StudyStore, candidates: [StudentScheduleKnobs], pairs: Set<SearchPair>,
                       criterion: SearchCriterion) throws -> [String: CandidateScore] {
        let values = try values(store: store, rule: criterion.rule)
        var out: [String: CandidateScore] = [:]
        for c in candidates {
            if let s = score(clipValues(c, values: values, pairs: pairs, rule: criterion.rule), criterion: criterion) { out[c.label] = s }
        }
        return out
    }

    /// Admissible first by Sync-C (highest first), then inadmissible by how far over the limit,
    /// then unscored; ties by label. The order the rule picks and the rounds promote in.
    static func ranked(_ candidates: [StudentScheduleKnobs], scores: [String: CandidateScore]) -> [StudentScheduleKnobs] {
        candidates.sorted { a, b in
            switch (scores[a.label], scores[b.label]) {
            case (nil, nil): return a.label < b.label
            case (nil, _): return false
            case (_, nil): return true
            case let (x?, y?):
                if x.admissible != y.admissible { return x.admissible }
                if x.admissible {
                    return x.sync != y.sync ? x.sync > y.sync : a.label < b.label
                }
                return x.excess != y.excess ? x.excess < y.excess : a.label < b.label
            }
        }
    }

    /// The candidates no other candidate beats on both cost (lower) and Sync-C (higher), by
    /// increasing cost.
    static func front(_ candidates: [StudentScheduleKnobs], scores: [String: CandidateScore]) -> [StudentScheduleKnobs] {
        let scored: [(StudentScheduleKnobs, CandidateScore)] = candidates.compactMap { c in scores[c.label].map { (c, $0) } }
            .sorted { (a: (StudentScheduleKnobs, CandidateScore), b: (StudentScheduleKnobs, CandidateScore)) -> Bool in
                if a.1.cost != b.1.cost { return a.1.cost < b.1.cost }
                if a.1.sync != b.1.sync { return a.1.sync > b.1.sync }
                return a.0.label < b.0.label
            }
        var out: [StudentScheduleKnobs] = []
        var best = -Double.infinity
        for (c, s) in scored where s.sync > best {
            out.append(c)
            best = s.sync
        }
        return out
    }
}
