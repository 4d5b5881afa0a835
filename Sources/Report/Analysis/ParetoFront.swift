import Store

/// One (text, audio) scale pair of a two-scale study, summarised over the window's steps.
public struct ScalePoint: Codable, Sendable, Equatable {
    /// Text guidance scale `st`.
    public var textScale: Double
    /// Audio guidance scale `sa`.
    public var audioScale: Double
    /// Label of the arm measured at this pair.
    public var arm: String
    /// Mean over the summarised steps of the Sync-C gain and the fidelity cost (positive = worse).
    public var gain: Double
    /// Mean fidelity cost over the summarised steps (positive = worse).
    public var cost: Double
    /// Whether no other point has a larger gain at a lower or equal cost.
    public var onFront: Bool
}

/// The Pareto front of (text, audio) scales: no other point has a larger gain at a lower or
/// equal cost. The chosen point is the front's largest gain within the fidelity tolerance.
public struct ParetoFront: Codable, Sendable, Equatable {
    /// The arm family the points come from (fresh noise, else Euler jump, else trajectory).
    public var family: ArmFamily
    /// Steps the points are averaged over: the sync window's, else every probed step.
    public var steps: [Int]
    /// Every (text, audio) pair measured.
    public var points: [ScalePoint]
    /// The front's largest gain within the fidelity tolerance; nil when no point is within it.
    public var chosen: ScalePoint?

    /// Knob names of two-scale arms (InfiniteTalk-style teachers): text scale `st`, audio scale `sa`.
    public static let textKnob = "st", audioKnob = "sa"

    static func find(study: StudyData, comparator: Comparator, rule: WindowRule, steps: [Int]) -> ParetoFront? {
        let twoScale = study.arms.filter { $0.knobs[textKnob] != nil && $0.knobs[audioKnob] != nil }
        guard !twoScale.isEmpty else { return nil }
        let families = Set(twoScale.map(\.family))
        let family = [ArmFamily.freshNoise, .eulerJump, .trajectory].first { families.contains($0) } ?? twoScale[0].family
        var points: [ScalePoint] = []
        var baseMeans: [String: Double] = [:]
        for arm in twoScale where arm.family == family {
            guard let twin = ArmPairing.twin(of: arm), study.arms.contains(twin) else { continue }
            let pair = ArmPair(cfg: arm, base: twin, kind: ArmPairing.kind(of: arm))
            var gains: [Double] = [], costs: [Double] = [], bases: [Double] = []
            for j in steps {
                if let g = comparator.compare(pair, step: j, metric: rule.syncMetric, region: rule.syncRegion) { gains.append(g.difference.mean) }
                if let c = comparator.compare(pair, step: j, metric: rule.fidelityMetric, region: rule.fidelityRegion) {
                    costs.append(rule.cost(fromDifference: c.difference.mean)); bases.append(c.baselineMean)
                }
            }
            guard !gains.isEmpty, !costs.isEmpty else { continue }
            baseMeans[arm.label] = bases.reduce(0, +) / Double(bases.count)
            points.append(ScalePoint(textScale: arm.knobs[textKnob]!, audioScale: arm.knobs[audioKnob]!, arm: arm.label,
                                     gain: gains.reduce(0, +) / Double(gains.count),
                                     cost: costs.reduce(0, +) / Double(costs.count), onFront: false))
        }
        guard !points.isEmpty else { return nil }
        points.sort { ($0.textScale, $0.audioScale) < ($1.textScale, $1.audioScale) }
        for i in points.indices {
            points[i].onFront = !points.indices.contains { k in
                k != i && points[k].gain >= points[i].gain && points[k].cost <= points[i].cost
                    && (points[k].gain > points[i].gain || points[k].cost < points[i].cost)
            }
        }
        // The rule's tolerance, read against the largest cost among the scale pairs (peak form),
        // the pairs' own no-CFG means (relative) or in metric units (absolute).
        let peak = points.map(\.cost).max() ?? 0
        let chosen = points.filter { p in
            p.onFront && p.cost <= rule.limit(rule.fidelityTolerance, peakCost: peak, base: baseMeans[p.arm])
        }.max { $0.gain < $1.gain }
        return ParetoFront(family: family, steps: steps, points: points, chosen: chosen)
    }
}
