import Store

/// Knobs of the report's statistics, window rule and schedule.
public struct ReportOptions: Sendable, Equatable {
    /// Resamples, confidence level and seed of every confidence interval.
    public var bootstrap: Bootstrap
    /// The rule's settings; metric and region choices left unset are resolved per study.
    public var rule: RuleRequest
    /// The teacher's CFG scale whose arms decide; nil = the scale the study recorded, else the
    /// one its CFG arms carry (never an assumed default).
    public var guidance: GuidanceScale?
    /// Family that decides the window when several were probed; nil = fresh_noise, then
    /// euler_jump, then trajectory.
    public var preferFamily: ArmFamily?
    /// Arm that distance metrics (no GT value) are normalised against per step; nil = the
    /// deciding pair's no-CFG arm.
    public var baselineArm: ArmSpec?
    /// Clip resamples of the whole rule for the robustness section (0 = skip it).
    public var ruleResamples: Int
    /// The teacher's schedule (N, s, max t) when the study does not record it (an imported CSV):
    /// what the student config and the search need. Values the study records win; nil = unknown.
    public var sampler: ShiftedSchedule?

    /// The options; every nil one is resolved per study (or stays unknown), never defaulted.
    public init(bootstrap: Bootstrap? = nil, rule: RuleRequest? = nil, guidance: GuidanceScale? = nil,
                preferFamily: ArmFamily? = nil, baselineArm: ArmSpec? = nil,
                ruleResamples: Int = RuleRobustness.defaultResamples, sampler: ShiftedSchedule? = nil) {
        self.sampler = sampler
        self.bootstrap = bootstrap ?? (try! Bootstrap())
        self.rule = rule ?? (try! RuleRequest())
        self.guidance = guidance; self.preferFamily = preferFamily
        self.baselineArm = baselineArm
        self.ruleResamples = ruleResamples
    }
}

/// One study analysed: statistics, the window, the schedule. Figures and writers read it.
public struct StudyReport: Sendable {
    // MARK: - Inputs

    /// The study as read from the Store.
    public var study: StudyData
    /// The options the report was built with.
    public var options: ReportOptions
    /// The CFG scale whose arms decide, and where it came from; nil when it could not be told.
    public var scale: GuidanceScale?
    /// Where `scale` came from (the option, the study's record, or why it is unknown), for the report.
    public var scaleSource: String
    /// The decisive scale as one number (w, or the audio scale of a pair) for prose and configs.
    public var guidanceScale: Double { scale?.w ?? .nan }
    /// The rule as applied to this study (metrics and regions resolved).
    public var rule: WindowRule
    /// The rule recomputed on clip resamples, and its sensitivity to its settings.
    public var robustness: RuleRobustness?
    /// The study was still running, was interrupted or has failed units: every output marks it partial.
    public var partial: Bool { study.status != .finished }
    /// What the first line of every output says about a study whose run stored failed units
    /// (`INCOMPLETE: 3 failed units`); nil otherwise.
    public var incompleteTag: String? {
        guard study.status == .incomplete else { return nil }
        let failed = study.failures.map(\.count).reduce(0, +)
        return "INCOMPLETE: \(failed) failed unit\(failed == 1 ? "" : "s")"
    }

    // MARK: - Results

    /// Problems that do not stop the report (missing arms or metrics, too few clips).
    public var warnings: [String]
    /// The CFG arm and its no-CFG twin that decide the window; nil when the study has no such pair.
    public var deciding: DecidingArms?
    /// The sync window the rule finds; nil when the deciding arms are missing.
    public var window: WindowResult?
    /// The two-step schedule `[t_0, t_landing, 0]`; nil when there is none (see `scheduleProblem`).
    public var schedule: TwoStepSchedule?
    /// Why there is no schedule (the error's message), when there is none.
    public var scheduleProblem: ReportError?
    /// The (text, audio) scale front; nil when the study has no two-scale arms.
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

    // MARK: - Analysis

    /// Analyses the study: statistics, comparisons, window, schedule and robustness. Throws when the
    /// study has no probed steps or no measurements; missing arms only become `warnings`.
    public init(study: StudyData, options: ReportOptions = ReportOptions()) throws(ReportError) {
        guard !study.steps.isEmpty else { throw .unreadableInput(file: study.source, problem: "the study has no probed steps") }
        guard study.measurements.contains(where: { $0.step != gtStep }) else {
            throw .unreadableInput(file: study.source, problem: "the study has no measurements yet")
        }
        var study = study
        // The schedule: as the study records it, else as the options give it explicitly.
        if let given = options.sampler {
            if study.numSteps == nil { study.numSteps = given.numSteps }
            if study.shift == nil { study.shift = given.shift }
            if study.maxT == nil { study.maxT = given.maxT }
        }
        self.study = study
        self.options = options
        self.index = StudyIndex(study)
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

        if let b = options.baselineArm, !study.arms.contains(b) {
            throw .missingArm(file: study.source, arm: b.label, neededFor: "the per-step normalisation (--baseline)")
        }
        // The teacher's scale: as asked, as recorded, else as the CFG arms carry it.
        var scale: GuidanceScale?
        if let g = options.guidance { scale = g; scaleSource = "--guidance" }
        else if let g = study.recordedScale {
            scale = g
            scaleSource = "the study's parameters" + (study.parameters?.guidanceSource.map { ": \($0)" } ?? "")
        }
        else if let found = ArmPairing.scalesFromArms(study.arms) {
            if found.scales.count == 1 {
                scale = found.scales[0]; scaleSource = "the \(found.family.rawValue) arms (the one CFG scale they carry with a no-CFG twin)"
            } else {
                scaleSource = "unknown"
                warnings.append("The \(found.family.rawValue) arms carry several CFG scales (\(found.scales.map(\.label).joined(separator: "; "))) and the study does not record the teacher's: pass --guidance to choose the one that decides.")
            }
        } else { scaleSource = "unknown" }
        self.scale = scale
        // Metric and region choices: explicit ones must exist (an error listing what the study
        // holds); the defaults fall back with a warning.
        let deciding = scale.flatMap { ArmPairing.deciding(arms: study.arms, scale: $0, prefer: options.preferFamily) }
        var rule = WindowRule()
        do throws(ReportError) {
            rule = try options.rule.resolve(index: index, pair: deciding?.pair, file: study.source)
        } catch {
            let explicit = options.rule.fidelityMetric != nil || options.rule.fidelityRegion != nil || options.rule.syncRegion != nil
            if explicit { throw error }
            warnings.append("\(error.description)")
        }
        self.rule = rule
        if let deciding {
            self.deciding = deciding
            for arm in [deciding.pair.cfg, deciding.pair.base] {
                for (m, r) in [(rule.syncMetric, rule.syncRegion), (rule.fidelityMetric, rule.fidelityRegion)]
                where !index.has(arm: arm.label, metric: m, region: r) {
                    warnings.append("Arm '\(arm.label)' has no \(m) values on \(r).")
                }
            }
            let result = WindowFinder.find(study: study, comparator: comparator, deciding: deciding, rule: rule)
            self.window = result
            if let win = result.window, let scale {
                do throws(ReportError) {
                    schedule = try ScheduleFinder.find(study: study, comparator: comparator, window: win, rule: rule, scale: scale)
                } catch { scheduleProblem = error }
            } else {
                scheduleProblem = .noWindow(file: study.source, reason: result.noWindowReason ?? "no qualifying band")
            }
            if options.ruleResamples > 0, clips.count >= 2, let scale {
                robustness = RuleRobustness.compute(study: study, index: index, deciding: deciding, rule: rule, scale: scale,
                                                    point: (window?.window, schedule?.landingStep),
                                                    resamples: options.ruleResamples, seed: options.bootstrap.seed, comparator: comparator)
            }
        } else if let scale {
            warnings.append("No CFG arm at \(scale.label) has its no-CFG twin (\(scale.single(.freshNoise, .off).label), \(scale.eulerJump(s0: .off, s1: .off).label) or \(scale.single(.trajectory, .off).label)): no window can be derived.")
            let cfgs = [scale.single(.freshNoise, .on), scale.eulerJump(s0: .off, s1: .on), scale.single(.trajectory, .on)]
            let present = Set(study.arms)
            let missing: ArmSpec
            if let withCFG = cfgs.first(where: { present.contains($0) }), let twin = ArmPairing.twin(of: withCFG) { missing = twin }
            else { missing = cfgs[0] }
            scheduleProblem = .missingArm(file: study.source, arm: missing.label,
                                          neededFor: "the sync window at \(scale.label) (a CFG arm at that scale with its no-CFG twin: fresh_noise, euler_jump s0=1 or trajectory)")
        } else {
            scheduleProblem = .noWindow(file: study.source, reason: "the teacher's CFG scale is not known: the study does not record it and its CFG arms carry none or several; pass --guidance W (or --guidance text=T,audio=A)")
        }
        let paretoSteps = window?.window?.steps ?? steps
        pareto = ParetoFront.find(study: study, comparator: comparator, rule: self.rule, steps: paretoSteps)
        self.warnings = warnings
    }

    // MARK: - Student configuration

    /// The student config, or the reason there is none (no window, no landing step, a partial study).
    public func studentConfig(form: CFGForm = .uncond, minT: Double = 0, date: String,
                              allowPartial: Bool = false) throws(ReportError) -> StudentConfig {
        if partial && !allowPartial { throw .partialStudy(file: study.source, status: study.status.rawValue) }
        if measuredClips < 2 { throw .tooFewClips(file: study.source, count: measuredClips) }
        guard let win = window?.window, let schedule else {
            throw scheduleProblem ?? .noWindow(file: study.source, reason: "no qualifying band")
        }
        return try StudentConfig(study: study, window: win, schedule: schedule, scale: scale ?? .single(guidanceScale),
                             rule: rule, robustness: robustness, guidanceSource: scaleSource, form: form, minT: minT, date: date)
    }

    // MARK: - Lookups for the writers and figures

    /// The paired comparison of `pair` at one step, metric and region, if it was computed.
    public func comparison(_ pair: ArmPair, step: Int, metric: String, region: String) -> PairedComparison? {
        comparisonIndex[Self.key(pair.label, step, metric, region)].map { comparisons[$0] }
    }

    /// An arm's mean at one step, metric and region, if it was measured.
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
