import Store

/// Knobs of the report's statistics, window rule and schedule.
public struct ReportOptions: Sendable, Equatable {
    public var bootstrap: Bootstrap
    public var rule: WindowRule
    /// CFG scale w (uncond form) whose arms decide; nil = the study's teacher default.
    public var guidanceScale: Double?
    /// Family that decides the window when several were probed; nil = fresh_noise, then
    /// euler_jump, then trajectory.
    public var preferFamily: ArmFamily?
    /// Fidelity gap to the no-CFG ceiling allowed at the landing step; nil = the rule's tolerance.
    public var landingTolerance: Double?
    /// Arm that distance metrics (no GT value) are normalised against per step; nil = the
    /// deciding pair's no-CFG arm.
    public var baselineArm: ArmSpec?

    public init(bootstrap: Bootstrap? = nil, rule: WindowRule = WindowRule(), guidanceScale: Double? = nil,
                preferFamily: ArmFamily? = nil, landingTolerance: Double? = nil, baselineArm: ArmSpec? = nil) {
        self.bootstrap = bootstrap ?? (try! Bootstrap())
        self.rule = rule; self.guidanceScale = guidanceScale; self.preferFamily = preferFamily
        self.landingTolerance = landingTolerance
        self.baselineArm = baselineArm
    }
}

/// One study analysed: statistics, the window, the schedule. Figures and writers read it.
public struct StudyReport: Sendable {
    public var study: StudyData
    public var options: ReportOptions
    /// The CFG scale whose arms decide (uncond form).
    public var guidanceScale: Double
    /// The study was still running, was interrupted or has failed units: every output marks it partial.
    public var partial: Bool { study.status != .finished }
    /// What the first line of every output says about a study whose run stored failed units
    /// (`INCOMPLETE: 3 failed units`); nil otherwise.
    public var incompleteTag: String? {
        guard study.status == .incomplete else { return nil }
        let failed = study.failures.map(\.count).reduce(0, +)
        return "INCOMPLETE: \(failed) failed unit\(failed == 1 ? "" : "s")"
    }
    /// Problems that do not stop the report (missing arms or metrics, too few clips).
    public var warnings: [String]
    public var deciding: DecidingArms?
    public var window: WindowResult?
    public var schedule: TwoStepSchedule?
    /// Why there is no schedule (the error's message), when there is none.
    public var scheduleProblem: ReportError?
    public var pareto: ParetoFront?
    /// Every CFG arm against its twin, per step, metric and region.
    public var comparisons: [PairedComparison]
    /// Every arm's mean per step, metric and region, with CIs.
    public var armValues: [ArmStepValue]
    /// GT ceilings: "metric/region" → mean over clips.
    public var gt: [String: Estimate]
    /// Clips with at least one measurement.
    public var measuredClips: Int

    let index: StudyIndex
    private var comparisonIndex: [String: Int] = [:]
    private var valueIndex: [String: Int] = [:]

    private static func key(_ a: String, _ step: Int, _ metric: String, _ region: String) -> String {
        "\(a)\u{1F}\(step)\u{1F}\(metric)\u{1F}\(region)"
    }

    public init(study: StudyData, options: ReportOptions = ReportOptions()) throws(ReportError) {
        guard !study.steps.isEmpty else { throw .unreadableInput(file: study.source, problem: "the study has no probed steps") }
        guard study.measurements.contains(where: { $0.step != gtStep }) else {
            throw .unreadableInput(file: study.source, problem: "the study has no measurements yet")
        }
        self.study = study
        self.options = options
        self.index = StudyIndex(study)
        let w = options.guidanceScale ?? study.guidanceScale
        self.guidanceScale = w
        var warnings: [String] = []
        if study.status == .incomplete {
            let failed = study.failures.map(\.count).reduce(0, +)
            warnings.append("The study is incomplete: \(failed) unit\(failed == 1 ? "" : "s") failed (listed below); every number below is partial. Run the same probe command again to redo them.")
        } else if study.status != .finished {
            warnings.append("The study is \(study.status.rawValue): every number below is partial.")
        }
        let clips = Set(study.measurements.filter { $0.step != gtStep }.map(\.clip))
        measuredClips = clips.count
        if clips.count < 2 {
            warnings.append("Only \(clips.count) clip measured: no confidence intervals can be computed, and no window can be called significant.")
        }
        let comparator = Comparator(index: index, bootstrap: options.bootstrap,
                                    maxClips: Set(study.measurements.map(\.clip)).count)
        let metricRegions = index.metricRegions
        let steps = study.steps.sorted { $0.j < $1.j }.map(\.j)
        var comparisons: [PairedComparison] = []
        for pair in ArmPairing.pairs(in: study.arms) {
            for (m, r) in metricRegions where m != MetricName.syncOffset {
                for j in steps { if let c = comparator.compare(pair, step: j, metric: m, region: r) { comparisons.append(c) } }
            }
        }
        self.comparisons = comparisons
        var values: [ArmStepValue] = []
        for arm in study.arms where arm.family != .spatial {
            for (m, r) in metricRegions where m != MetricName.syncOffset {
                for j in steps { if let v = comparator.value(arm: arm.label, step: j, metric: m, region: r) { values.append(v) } }
            }
        }
        self.armValues = values
        for (i, c) in comparisons.enumerated() { comparisonIndex[Self.key(c.pair.label, c.step, c.metric, c.region)] = i }
        for (i, v) in values.enumerated() { valueIndex[Self.key(v.arm, v.step, v.metric, v.region)] = i }
        var gt: [String: Estimate] = [:]
        for (m, r) in metricRegions { if let e = comparator.gt(metric: m, region: r) { gt["\(m)/\(r)"] = e } }
        self.gt = gt

        let rule = options.rule
        if let b = options.baselineArm, !study.arms.contains(b) {
            throw .missingArm(file: study.source, arm: b.label, neededFor: "the per-step normalisation (--baseline)")
        }
        if let deciding = ArmPairing.deciding(arms: study.arms, w: w, prefer: options.preferFamily) {
            self.deciding = deciding
            for arm in [deciding.pair.cfg, deciding.pair.base] {
                for (m, r) in [(rule.syncMetric, rule.syncRegion), (rule.fidelityMetric, rule.fidelityRegion)]
                where !index.has(arm: arm.label, metric: m, region: r) {
                    warnings.append("Arm '\(arm.label)' has no \(m) values on \(r).")
                }
            }
            let result = WindowFinder.find(study: study, comparator: comparator, deciding: deciding, rule: rule)
            self.window = result
            if let win = result.window {
                do throws(ReportError) {
                    schedule = try ScheduleFinder.find(study: study, comparator: comparator, window: win, rule: rule, w: w,
                                                       tolerance: options.landingTolerance ?? rule.fidelityTolerance)
                } catch { scheduleProblem = error }
            } else {
                scheduleProblem = .noWindow(file: study.source, reason: result.noWindowReason ?? "no qualifying band")
            }
        } else {
            warnings.append("No CFG arm at w=\(Fmt.g(w)) has its no-CFG twin (fresh_noise w=1, euler_jump s0=1 s1=1 or trajectory w=1): no window can be derived.")
            // Name what is missing: the CFG arm, or its no-CFG twin when the CFG arm was probed.
            let pairs = [(ArmSpec.freshNoise(w: w), ArmSpec.freshNoise(w: 1)), (ArmSpec.eulerJump(s0: 1, s1: w), ArmSpec.eulerJump(s0: 1, s1: 1)),
                         (ArmSpec.trajectory(w: w), ArmSpec.trajectory(w: 1))]
            let missing = pairs.first { study.arms.contains($0.0) }?.1 ?? ArmSpec.freshNoise(w: w)
            scheduleProblem = .missingArm(file: study.source, arm: missing.label,
                                          neededFor: "the sync window (or euler_jump s0=1 s1=\(Fmt.g(w)) or trajectory w=\(Fmt.g(w)), each with its no-CFG twin)")
        }
        let paretoSteps = window?.window?.steps ?? steps
        pareto = ParetoFront.find(study: study, comparator: comparator, rule: rule, steps: paretoSteps)
        self.warnings = warnings
    }

    /// The student config, or the reason there is none (no window, no landing step, a partial study).
    public func studentConfig(form: CFGForm = .uncond, minT: Double = 0, date: String,
                              allowPartial: Bool = false) throws(ReportError) -> StudentConfig {
        if partial && !allowPartial { throw .partialStudy(file: study.source, status: study.status.rawValue) }
        if measuredClips < 2 { throw .tooFewClips(file: study.source, count: measuredClips) }
        guard let win = window?.window, let schedule else {
            throw scheduleProblem ?? .noWindow(file: study.source, reason: "no qualifying band")
        }
        return StudentConfig(study: study, window: win, schedule: schedule, guidanceScale: guidanceScale,
                             form: form, minT: minT, date: date)
    }

    // MARK: - Lookups for the writers and figures

    public func comparison(_ pair: ArmPair, step: Int, metric: String, region: String) -> PairedComparison? {
        comparisonIndex[Self.key(pair.label, step, metric, region)].map { comparisons[$0] }
    }

    public func value(arm: String, step: Int, metric: String, region: String) -> ArmStepValue? {
        valueIndex[Self.key(arm, step, metric, region)].map { armValues[$0] }
    }

    /// The arm distance metrics are normalised against: the option, else the deciding no-CFG arm.
    public var baseline: ArmSpec? { options.baselineArm ?? deciding?.pair.base }

    /// An arm's mean of a metric at a step divided by the baseline arm's mean at the same step
    /// (1 = as close to the reference as the baseline).
    public func normalised(arm: String, step: Int, metric: String, region: String) -> Double? {
        guard let b = baseline, let v = value(arm: arm, step: step, metric: metric, region: region),
              let bv = value(arm: b.label, step: step, metric: metric, region: region), bv.value.mean != 0 else { return nil }
        return v.value.mean / bv.value.mean
    }

    /// Per-clip paired differences (seeds averaged) for the step × clip heatmaps.
    public func clipDifferences(_ pair: ArmPair, step: Int, metric: String, region: String) -> [String: Double] {
        let a = index.values(arm: pair.cfg.label, step: step, metric: metric, region: region)
        let b = index.values(arm: pair.base.label, step: step, metric: metric, region: region)
        var out: [String: Double] = [:]
        for (clip, v) in a { if let u = b[clip] { out[clip] = v - u } }
        return out
    }

    /// Failed units, summed per arm and reason.
    public var failureSummary: [(arm: String, reason: String, count: Int)] {
        var sums: [String: Int] = [:]
        for f in study.failures { sums["\(f.arm)\u{1F}\(f.reason)", default: 0] += f.count }
        return sums.keys.sorted().map { k in
            let p = k.split(separator: "\u{1F}", omittingEmptySubsequences: false).map(String.init)
            return (p[0], p[1], sums[k]!)
        }
    }
}
