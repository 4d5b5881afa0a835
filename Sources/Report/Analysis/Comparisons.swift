import Store

/// The paired difference CFG − no-CFG of one metric on one region at one step.
public struct PairedComparison: Codable, Sendable, Equatable {
    /// The CFG arm and its twin compared.
    public var pair: ArmPair
    /// The probed step.
    public var step: Int
    /// The metric's Store name (`sync_c`, `lpips`, ...).
    public var metric: String
    /// The region's Store name (`mouth`, `face`, ...).
    public var region: String
    /// Mean over clips of (cfg − base), seeds averaged within a clip, with its bootstrap CI.
    public var difference: Estimate
    /// The baseline arm's mean at this step: the per-step normalisation for distance metrics.
    public var baselineMean: Double
    /// difference / |baselineMean|: the cost relative to the baseline arm at the same step.
    public var relative: Double { baselineMean == 0 ? .nan : difference.mean / abs(baselineMean) }
    /// Clips measured in only one of the two arms (left out of the pairing).
    public var unpairedClips: Int
}

/// One arm's mean of a metric at a step, with its CI (the curves' bands).
public struct ArmStepValue: Codable, Sendable, Equatable {
    /// The arm's canonical label.
    public var arm: String
    /// The probed step.
    public var step: Int
    /// The metric's Store name.
    public var metric: String
    /// The region's Store name.
    public var region: String
    /// Mean over clips (seeds averaged within a clip) with its bootstrap CI.
    public var value: Estimate
}

struct Comparator: Sendable {
    let index: StudyIndex
    let bootstrap: Bootstrap
    /// One resample plan per clip count, shared by all cells.
    let plans: [Int: ResamplePlan]

    init(index: StudyIndex, bootstrap: Bootstrap, maxClips: Int) {
        self.index = index
        self.bootstrap = bootstrap
        var plans: [Int: ResamplePlan] = [:]
        if maxClips >= 2 { for n in 2...maxClips { plans[n] = bootstrap.plan(n: n) } }
        self.plans = plans
    }

    func compare(_ pair: ArmPair, step: Int, metric: String, region: String) -> PairedComparison? {
        let a = index.values(arm: pair.cfg.label, step: step, metric: metric, region: region)
        let b = index.values(arm: pair.base.label, step: step, metric: metric, region: region)
        let common = a.keys.filter { b[$0] != nil }.sorted()
        guard !common.isEmpty else { return nil }
        let diffs = common.map { a[$0]! - b[$0]! }
        let est = bootstrap.estimate(diffs, plan: plans[diffs.count])
        let baseMean = common.map { b[$0]! }.reduce(0, +) / Double(common.count)
        return PairedComparison(pair: pair, step: step, metric: metric, region: region, difference: est,
                                baselineMean: baseMean, unpairedClips: Set(a.keys).symmetricDifference(b.keys).count)
    }

    func value(arm: String, step: Int, metric: String, region: String) -> ArmStepValue? {
        let v = index.values(arm: arm, step: step, metric: metric, region: region)
        guard !v.isEmpty else { return nil }
        let values = v.keys.sorted().map { v[$0]! }
        return ArmStepValue(arm: arm, step: step, metric: metric, region: region,
                            value: bootstrap.estimate(values, plan: plans[values.count]))
    }

    /// GT ceiling: the mean over clips of the reference clip's own value.
    func gt(metric: String, region: String) -> Estimate? {
        let v = index.gtValues(metric: metric, region: region)
        guard !v.isEmpty else { return nil }
        return bootstrap.estimate(v.keys.sorted().map { v[$0]! }, plan: plans[v.count])
    }
}
