import Store

/// Every figure of one study's report, in a fixed order with fixed names.
///
/// Shared conventions, so a reader learns them once: no-CFG arms are blue and dashed with open
/// markers, CFG arms vermillion and solid with filled markers (Okabe–Ito, apart under colour-
/// vision deficiencies and in greyscale); the sync window is shaded or outlined; the two-step
/// landing step is a dotted line or column; x is linear in the step index with t on top.
public enum ReportFigures {
    /// What every figure of one study reads.
    struct Context {
        let report: StudyReport
        var study: StudyData { report.study }
        let steps: [Int]
        let rule: WindowRule
        let win: ClosedRange<Int>?
        let landing: Int?
        let partial: String
        let w: Double

        init(_ report: StudyReport) {
            self.report = report
            steps = report.study.steps.sorted { $0.j < $1.j }.map(\.j)
            rule = report.rule
            win = report.window?.window.map { $0.firstStep...$0.lastStep }
            landing = report.schedule?.landingStep
            partial = report.incompleteTag.map { " [\($0)]" } ?? (report.partial ? " [PARTIAL: study \(report.study.status.rawValue)]" : "")
            w = report.guidanceScale
        }

        func t(_ j: Int) -> Double? { study.t(ofStep: j) }
        var fidUnit: String { "\(rule.fidelityMetric.uppercased()) cost, \(rule.fidelityRegion) (+ = worse)" }
        var fidUnit2: String { "\(rule.fidelityMetric.uppercased()) cost, \(rule.fidelityRegion)\n(+ = worse)" }
        /// " The dotted … marks the two-step landing step (j = 28)." when there is one.
        func landingNote(_ mark: String) -> String {
            landing.map { " The dotted \(mark) marks the two-step landing step (j = \($0), from \(report.schedule!.cfgArm))." } ?? ""
        }
    }

    /// Renders every figure the report has data for, in a fixed order with fixed names.
    public static func render(_ report: StudyReport) throws(ReportError) -> [Figure] {
        let cx = Context(report)
        var out: [Figure] = []
        if let deciding = report.deciding { out += try heatmaps(cx, deciding) }
        // Curves per arm family with CI bands.
        out += try curves(cx)
        // euler_jump 2×2 factorial.
        if let f = try factorial(cx) { out.append(f) }
        // Fidelity-vs-sync tradeoff per step.
        if let f = try tradeoff(cx) { out.append(f) }
        // Spatial CFG maps.
        if let f = try spatialMaps(cx) { out.append(f) }
        // Sync over time: CFG − no-CFG at the landing (or peak) step.
        if let f = try syncStrips(cx) { out.append(f) }
        // Pareto front of (text, audio) scales.
        if let f = try pareto(cx) { out.append(f) }
        // The window and landing over clip resamples.
        if let rb = report.robustness,
           let fig = RobustnessFigure(report: report, robustness: rb, steps: cx.steps, tOf: { cx.t($0) }, partial: cx.partial) {
            out.append(Figure(name: "robustness.png",
                              caption: "The rule recomputed on \(rb.resamples) clip resamples: how often each step came out as the window's first step (t_hi), last step (t_lo) and the landing; bar = share of resamples, black tick = the answer on all clips, whisker = 95% interval (bias-corrected).",
                              png: try fig.render()))
        }
        return out
    }

    /// The window's fidelity limit in cost units, for the tradeoff figure (none in the relative
    /// form, whose limit differs per step).
    static func costLimit(_ report: StudyReport) -> Double? {
        guard let w = report.window, report.rule.toleranceForm != .relative else { return nil }
        return report.rule.limit(report.rule.fidelityTolerance, peakCost: w.peakCost.isFinite ? w.peakCost : 0, base: nil)
    }

    // MARK: - Heatmaps

    static func heatmaps(_ cx: Context, _ deciding: DecidingArms) throws(ReportError) -> [Figure] {
        var out: [Figure] = []
        let report = cx.report, rule = cx.rule, steps = cx.steps, study = cx.study
        let family = deciding.pair.cfg.family
        let tOf: (Int) -> Double? = { study.t(ofStep: $0) }
        let marks = " The outlined band is the sync window." + cx.landingNote("column") + " Columns are drawn to scale in the step index."
        // Step × guidance scale: every CFG arm of the deciding family against its twin.
        let pairs = ArmPairing.pairs(in: study.arms).filter {
            $0.cfg.family == family && $0.base == deciding.pair.base && $0.cfg.knobs["st"] == nil
        }.sorted { guidanceKnob($0.cfg) < guidanceKnob($1.cfg) }
        if !pairs.isEmpty {
            let rows = pairs.map { "w = \(Fmt.g(guidanceKnob($0.cfg)))" }
            let gain = pairs.flatMap { p in steps.map { report.comparison(p, step: $0, metric: rule.syncMetric, region: rule.syncRegion)?.difference.mean ?? .nan } }
            let cost = pairs.flatMap { p in steps.map { j in report.comparison(p, step: j, metric: rule.fidelityMetric, region: rule.fidelityRegion).map { rule.cost(fromDifference: $0.difference.mean) } ?? .nan } }
            out.append(Figure(name: "sync_gain_by_scale.png",
                              caption: "Sync-C gain of \(family.rawValue) CFG arms over \(deciding.pair.base.label), per step and guidance scale (mean over clips)." + marks,
                              png: try HeatmapFigure(name: "sync_gain_by_scale.png", title: "Sync-C gain over no-CFG, \(family.rawValue)\(cx.partial)",
                                                     rowTitle: "guidance", rows: rows, steps: steps, values: gain, map: .diverging,
                                                     unit: "Sync-C gain\n(CFG − no-CFG)", window: cx.win, tOf: tOf, landing: cx.landing).render()))
            out.append(Figure(name: "fidelity_cost_by_scale.png",
                              caption: "Fidelity cost (\(rule.fidelityMetric.uppercased()) on \(rule.fidelityRegion), positive = further from the reference) of the same arms." + marks,
                              png: try HeatmapFigure(name: "fidelity_cost_by_scale.png", title: "Fidelity cost of CFG, \(family.rawValue)\(cx.partial)",
                                                     rowTitle: "guidance", rows: rows, steps: steps, values: cost, map: .diverging,
                                                     unit: cx.fidUnit2, window: cx.win, tOf: tOf, landing: cx.landing).render()))
            // Magnitudes: the Sync-C value itself per step and scale, no-CFG row included (viridis).
            let scaleArms = [deciding.pair.base] + pairs.map(\.cfg)
            let values = scaleArms.flatMap { a in steps.map { report.value(arm: a.label, step: $0, metric: rule.syncMetric, region: rule.syncRegion)?.value.mean ?? .nan } }
            let gt = report.gt["\(rule.syncMetric)/\(rule.syncRegion)"].map { " (GT \(Fmt.f($0.mean, 2)))" } ?? ""
            out.append(Figure(name: "sync_by_scale.png",
                              caption: "Sync-C of the \(family.rawValue) arms' x0 prediction per step and guidance scale (mean over clips; w = 1 is no CFG)\(gt)." + marks,
                              png: try HeatmapFigure(name: "sync_by_scale.png", title: "Sync-C per step and guidance scale, \(family.rawValue)\(cx.partial)",
                                                     rowTitle: "guidance", rows: scaleArms.map { "w = \(Fmt.g(guidanceKnob($0)))" }, steps: steps,
                                                     values: values, map: .viridis, unit: "Sync-C\(gt)", window: cx.win, tOf: tOf, landing: cx.landing).render()))
        }
        // Step × clip for the deciding pair: every clip, in name order.
        let clips = study.clips.sorted()
        if !clips.isEmpty {
            var gain: [Double] = [], cost: [Double] = []
            for clip in clips {
                for j in steps {
                    gain.append(report.clipDifferences(deciding.pair, step: j, metric: rule.syncMetric, region: rule.syncRegion)[clip] ?? .nan)
                    cost.append(report.clipDifferences(deciding.pair, step: j, metric: rule.fidelityMetric, region: rule.fidelityRegion)[clip].map(rule.cost(fromDifference:)) ?? .nan)
                }
            }
            out.append(Figure(name: "sync_gain_by_clip.png",
                              caption: "Sync-C gain of \(deciding.pair.label) per clip (all \(clips.count)) and step (seeds averaged); grey = not measured." + marks,
                              png: try HeatmapFigure(name: "sync_gain_by_clip.png", title: "Sync-C gain per clip, \(deciding.pair.cfg.label)\(cx.partial)",
                                                     rowTitle: "clip", rows: clips, steps: steps, values: gain, map: .diverging,
                                                     unit: "Sync-C gain\n(CFG − no-CFG)", window: cx.win, tOf: tOf, landing: cx.landing).render()))
            out.append(Figure(name: "fidelity_cost_by_clip.png",
                              caption: "Fidelity cost of \(deciding.pair.label) per clip (all \(clips.count)) and step." + marks,
                              png: try HeatmapFigure(name: "fidelity_cost_by_clip.png", title: "Fidelity cost per clip, \(deciding.pair.cfg.label)\(cx.partial)",
                                                     rowTitle: "clip", rows: clips, steps: steps, values: cost, map: .diverging,
                                                     unit: cx.fidUnit2, window: cx.win, tOf: tOf, landing: cx.landing).render()))
        }
        return out
    }

    // MARK: - Curves

    /// One family's no-CFG and CFG arm as the curves compare them (either may be missing).
    struct FamilyPair {
        var family: ArmFamily
        var base: ArmSpec
        var cfg: ArmSpec
        var title: String
    }

    /// The families the curves show, the deciding one first: a column each.
    static func curvePairs(_ cx: Context) -> [FamilyPair] {
        let w = cx.w, arms = Set(cx.study.arms)
        let deciding = cx.report.deciding?.pair.cfg.family
        let all: [FamilyPair] = [
            FamilyPair(family: .freshNoise, base: .freshNoise(w: 1), cfg: .freshNoise(w: w), title: "fresh_noise"),
            FamilyPair(family: .eulerJump, base: .eulerJump(s0: 1, s1: 1), cfg: .eulerJump(s0: 1, s1: w), title: "euler_jump s0=1"),
            FamilyPair(family: .trajectory, base: .trajectory(w: 1), cfg: .trajectory(w: w), title: "trajectory"),
        ].filter { arms.contains($0.base) || arms.contains($0.cfg) }
        let ordered = all.filter { $0.family == deciding } + all.filter { $0.family != deciding }
        return ordered.map { p in
            var p = p
            if p.family == deciding { p.title += ": decides the window" }
            else if p.family == .eulerJump && cx.report.schedule?.source == .eulerJump { p.title += ": picks the landing" }
            else if p.family == .trajectory { p.title += ": context (compounds)" }
            return p
        }
    }

    static func series(_ cx: Context, _ arm: ArmSpec, cfg: Bool, _ metric: String, _ region: String) -> PanelFigure.Series {
        let pts = cx.steps.compactMap { j in cx.report.value(arm: arm.label, step: j, metric: metric, region: region).map {
            PanelFigure.Point(x: Double(j), mean: $0.value.mean, lo: $0.value.lower, hi: $0.value.upper) } }
        return PanelFigure.Series(label: arm.label, color: cfg ? .cfg : .noCFG, dash: cfg ? [] : [3, 2], points: pts, filledMarkers: cfg)
    }

    static func gtLine(_ cx: Context, _ metric: String, _ region: String, short: Bool = false) -> [PanelFigure.RefLine] {
        cx.report.gt["\(metric)/\(region)"].map { [PanelFigure.RefLine(value: $0.mean, label: short ? "GT" : "GT \(Fmt.f($0.mean, 2))", color: .black)] } ?? []
    }

    /// The no-CFG and CFG legend marks: with the probed-step markers when the curves draw them.
    static func pairMarks(_ cx: Context) -> (base: Legend.Mark, cfg: Legend.Mark) {
        cx.steps.count <= PanelFigure.maxMarkedSteps
            ? (.series(.noCFG, dash: [3, 2], filled: false), .series(.cfg, dash: [], filled: true))
            : (.line(.noCFG, dash: [3, 2]), .line(.cfg, dash: []))
    }

    /// How the caption names the no-CFG / CFG styles.
    static func pairStyle(_ cx: Context) -> String {
        cx.steps.count <= PanelFigure.maxMarkedSteps
            ? "No-CFG arms dashed blue with open markers, CFG arms solid vermillion with filled markers at the probed steps"
            : "No-CFG arms dashed blue, CFG arms solid vermillion (all \(cx.steps.count) steps probed, so no markers)"
    }

    /// The marks every curve figure explains in its legend.
    static func commonLegend(_ cx: Context, gt: Bool) -> [(Legend.Mark, String)] {
        (gt ? [(.line(.black, dash: [3, 2]), "GT (reference clips)")] : [])
            + (cx.win.map { [(.box(.window, alpha: 0.35), "sync window (steps \($0.lowerBound)..\($0.upperBound))")] } ?? [])
            + (cx.landing.map { [(.line(.black, dash: [1, 1.5]), "two-step landing (step \($0))")] } ?? [])
            + [(.band(.grey), "95% CI over clips")]
    }

    static func curves(_ cx: Context) throws(ReportError) -> [Figure] {
        let families = curvePairs(cx)
        guard !families.isEmpty else { return [] }
        let rule = cx.rule
        let arms = Set(cx.study.arms)
        let grid = families.count >= 2
        let w = Fmt.g(cx.w)
        let hasEuler = families.contains { $0.family == .eulerJump }
        func legend(gt: Bool) -> Legend {
            Legend(entries: [(pairMarks(cx).base, "no CFG: w = 1" + (hasEuler ? " (euler_jump s1 = 1)" : "")),
                             (pairMarks(cx).cfg, "CFG: w = \(w)" + (hasEuler ? " (euler_jump s1 = \(w))" : ""))]
                   + commonLegend(cx, gt: gt))
        }
        /// One panel per family for a (metric, region), or nil when no family measured it.
        func row(_ metric: String, _ region: String, title: String, yTitle: String) -> [PanelFigure.Panel]? {
            let panels = families.map { f in
                PanelFigure.Panel(title: grid ? title : "\(f.title): \(title)", yTitle: yTitle,
                                  series: [(f.base, false), (f.cfg, true)].filter { arms.contains($0.0) }
                                      .map { series(cx, $0.0, cfg: $0.1, metric, region) }.filter { !$0.points.isEmpty },
                                  refLines: gtLine(cx, metric, region))
            }
            return panels.contains { !$0.series.isEmpty } ? panels : nil
        }
        func figure(_ name: String, _ title: String, _ rows: [[PanelFigure.Panel]], caption: String, height: Double) throws(ReportError) -> Figure? {
            let panels = rows.flatMap { $0 }
            guard !panels.isEmpty else { return nil }
            let only = families[0]
            let fig = PanelFigure(name: name, title: title + (grid ? "" : ", \(only.title)") + cx.partial, panels: panels,
                                  columns: grid ? families.count : min(3, panels.count), steps: cx.steps, tOf: { cx.t($0) },
                                  window: cx.win, legend: legend(gt: panels.contains { !$0.refLines.isEmpty }),
                                  panelHeight: grid ? height : 110, columnTitles: grid ? families.map(\.title) : [],
                                  landing: cx.landing, shareRowY: grid, sharedX: grid)
            return Figure(name: name, caption: caption, png: try fig.render())
        }
        let layout = grid ? "One column per arm family (\(families.map(\.title).joined(separator: "; "))), one y range per row. " : ""
        let marks = pairStyle(cx) + "; bands: bootstrap 95% CIs over clips."
            + cx.landingNote("line") + " x is linear in the step index, t on top."
        var out: [Figure] = []
        // Three columns leave a panel title about 130 pt: arrows say "higher/lower" there.
        let better = grid ? ("(↑ = better)", "(↓ = better)") : ("(higher = better)", "(lower = better)")
        let sync = [(MetricName.syncC, "Sync-C \(better.0)", "Sync-C"), (MetricName.syncD, "Sync-D \(better.1)", "Sync-D")]
            .compactMap { row($0.0, rule.syncRegion, title: $0.1, yTitle: $0.2) }
        if let f = try figure("curves_sync.png", "Lip sync along the trajectory", sync,
                              caption: "Sync-C and Sync-D (\(cx.study.syncModel), \(rule.syncRegion)) of each arm's x0 prediction per step, mean over clips. " + layout + marks
                                + " Dashed black: the reference clips (GT).", height: 92) {
            out.append(f)
        }
        // The rule's fidelity metric first, then one more, on every region measured.
        let metrics = [rule.fidelityMetric] + [MetricName.lpips, MetricName.ssim, MetricName.mse, MetricName.pixelMSE,
                                               MetricName.psnr, MetricName.lmd, MetricName.sharpness]
            .filter { $0 != rule.fidelityMetric }
        var fidRows: [[PanelFigure.Panel]] = [], shownMetrics: [String] = []
        for metric in metrics where shownMetrics.count < 2 {
            let up = MetricDirection(metric: metric) == .higherIsBetter
            let dir = grid ? (up ? "↑" : "↓") : (up ? "higher" : "lower")
            let rows = [RegionName.mouth, RegionName.upperFace, RegionName.full].compactMap { region in
                row(metric, region, title: "\(metric.uppercased()), \(region.replacingOccurrences(of: "_", with: " ")) (\(dir) = closer)",
                    yTitle: metric.uppercased())
            }
            if !rows.isEmpty { fidRows += rows; shownMetrics.append(metric.uppercased()) }
        }
        if let f = try figure("curves_fidelity.png", "Reference fidelity along the trajectory", fidRows,
                              caption: "Fidelity (\(shownMetrics.joined(separator: " and "))) of each arm's x0 prediction to the reference per region and step, mean over clips. " + layout + marks,
                              height: fidRows.count > 4 ? 66 : 80) {
            out.append(f)
        }
        return out
    }

    // MARK: - euler_jump factorial

    static func factorial(_ cx: Context) throws(ReportError) -> Figure? {
        let w = cx.w, rule = cx.rule
        let cells = [(1.0, 1.0), (1.0, w), (w, 1.0), (w, w)].map { ArmSpec.eulerJump(s0: $0.0, s1: $0.1) }
        guard cells.allSatisfy(cx.study.arms.contains) else { return nil }
        let s0s = [1.0, w]
        func panels(_ metric: String, _ region: String, title: String) -> [PanelFigure.Panel] {
            s0s.map { s0 in
                PanelFigure.Panel(title: title, yTitle: metric == rule.syncMetric ? "Sync-C" : metric.uppercased(),
                                  series: [series(cx, .eulerJump(s0: s0, s1: 1), cfg: false, metric, region),
                                           series(cx, .eulerJump(s0: s0, s1: w), cfg: true, metric, region)],
                                  refLines: gtLine(cx, metric, region, short: true))
            }
        }
        let all = panels(rule.syncMetric, rule.syncRegion, title: "Sync-C (higher = better)")
            + panels(rule.fidelityMetric, rule.fidelityRegion, title: "\(rule.fidelityMetric.uppercased()), \(rule.fidelityRegion)")
        let lg = Legend(entries: [(pairMarks(cx).base, "s1 = 1: no CFG at the landing step j"),
                                  (pairMarks(cx).cfg, "s1 = \(Fmt.g(w)): CFG at the landing step j")]
                        + commonLegend(cx, gt: all.contains { !$0.refLines.isEmpty }))
        let fig = PanelFigure(name: "euler_jump_factorial.png",
                              title: "euler_jump factorial: x0 at step 0 with s0, Euler jump to step j, x0 there with s1\(cx.partial)",
                              panels: all, columns: 2, steps: cx.steps, tOf: { cx.t($0) }, window: cx.win, legend: lg, panelHeight: 92,
                              columnTitles: s0s.map { $0 == 1 ? "s0 = 1: no CFG at step 0" : "s0 = \(Fmt.g($0)): CFG at step 0" },
                              landing: cx.landing, shareRowY: true, sharedX: true)
        return Figure(name: "euler_jump_factorial.png",
                      caption: "The euler_jump 2×2 factorial: guidance at step 0 (s0, columns) × guidance at the landing step (s1: dashed blue without, solid vermillion with CFG), per landing step j, mean over clips with 95% CI bands." + cx.landingNote("line"),
                      png: try fig.render())
    }

    // MARK: - Tradeoff

    static func tradeoff(_ cx: Context) throws(ReportError) -> Figure? {
        guard let result = cx.report.window else { return nil }
        let landing = cx.landing
        let pts = result.verdicts.compactMap { v -> ScatterFigure.Point? in
            guard let g = v.gain, let cst = v.cost else { return nil }
            let inWin = result.window?.steps.contains(v.step) ?? false
            let edge = inWin && (v.step == result.window?.firstStep || v.step == result.window?.lastStep)
            let label = v.step == landing ? "\(v.step) (landing)" : (edge || v.step == result.peakStep ? "\(v.step)" : nil)
            return .init(x: cst.mean, y: g.mean, xLo: cst.lower, xHi: cst.upper, yLo: g.lower, yHi: g.upper,
                         colorValue: Double(v.step), label: label, highlight: inWin)
        }
        guard !pts.isEmpty else { return nil }
        let ring = landing.flatMap { j in result.verdicts.filter { $0.gain != nil && $0.cost != nil }.firstIndex { $0.step == j } }
        return Figure(name: "tradeoff.png",
                      caption: "Fidelity cost against Sync-C gain of \(result.deciding.pair.label), one point per probed step (colour = step, 95% CI whiskers); outlined points are in the window; shaded: cost above the tolerance."
                        + (landing.map { " Circled: step \($0), where the two-step student lands (chosen from \(cx.report.schedule!.cfgArm))." } ?? ""),
                      png: try ScatterFigure(name: "tradeoff.png", title: "Fidelity–sync tradeoff per step\(cx.partial)",
                                             xTitle: cx.fidUnit, yTitle: "Sync-C gain (CFG − no-CFG)", points: pts,
                                             colorLabel: "ODE step j", tolerance: costLimit(cx.report), circled: ring,
                                             note: "outlined: steps in the sync window; labels: window edges, peak-gain step" + (ring != nil ? ", landing step (circled)" : "")).render())
    }

    // MARK: - Spatial maps

    /// At most this many clips and steps in the map grid.
    static let mapClips = 5, mapSteps = 6

    /// The steps (rows) and clips (columns) the map grid shows, and why those.
    struct MapSubset { var steps: [Int]; var allSteps: Int; var stepsWhy: String; var clips: [String]; var why: String; var gains: [String: Double] }

    static func mapSubset(_ cx: Context) -> MapSubset {
        let study = cx.study
        let allSteps = Array(Set(study.spatialMaps.map(\.step))).sorted()
        var chosenSteps = allSteps.count <= mapSteps ? allSteps : (0..<mapSteps).map { allSteps[$0 * (allSteps.count - 1) / (mapSteps - 1)] }
        if let j = cx.landing, allSteps.contains(j), !chosenSteps.contains(j) {
            // The landing step replaces its nearest inner neighbour, so the first and last stay.
            let inner = chosenSteps.indices.dropFirst().dropLast()
            if let k = inner.min(by: { abs(chosenSteps[$0] - j) < abs(chosenSteps[$1] - j) }) { chosenSteps[k] = j; chosenSteps.sort() }
        }
        let allClips = Array(Set(study.spatialMaps.map(\.clip))).sorted()
        // Which clips: the spread of the deciding pair's Sync-C gain at the landing (or peak) step
        // (largest, quartiles, smallest), so the grid shows where CFG helps most and least.
        let rankStep = cx.landing ?? cx.report.window?.peakStep
        var gains: [String: Double] = [:]
        if let pair = cx.report.deciding?.pair, let j = rankStep {
            gains = cx.report.clipDifferences(pair, step: j, metric: cx.rule.syncMetric, region: cx.rule.syncRegion)
        }
        let ranked = allClips.filter { gains[$0] != nil }.sorted { gains[$0]! > gains[$1]! || (gains[$0]! == gains[$1]! && $0 < $1) }
        let clips: [String], why: String
        if allClips.count <= mapClips {
            clips = allClips; why = "all \(allClips.count) clips"
        } else if ranked.count >= mapClips, let j = rankStep {
            clips = (0..<mapClips).map { ranked[$0 * (ranked.count - 1) / (mapClips - 1)] }
            why = "\(mapClips) of \(allClips.count) clips: largest, quartiles and smallest Sync-C gain of \(cx.report.deciding!.pair.cfg.label) at step \(j) (Δ under each name)"
        } else {
            clips = Array(allClips.prefix(mapClips))
            why = "the first \(mapClips) of \(allClips.count) clips by name (no Sync-C gain to rank them by)"
        }
        let stepsWhy = chosenSteps.count == allSteps.count ? "all \(allSteps.count) mapped steps"
            : "\(chosenSteps.count) of \(allSteps.count) mapped steps, evenly spread" + (cx.landing.map { chosenSteps.contains($0) ? ", with the landing step \($0)" : "" } ?? "")
        return MapSubset(steps: chosenSteps, allSteps: allSteps.count, stepsWhy: stepsWhy, clips: clips, why: why, gains: gains)
    }

    static func spatialMaps(_ cx: Context) throws(ReportError) -> Figure? {
        let study = cx.study
        guard !study.spatialMaps.isEmpty else { return nil }
        let subset = mapSubset(cx)
        var cells: [MapGridFigure.Cell] = []
        for (r, j) in subset.steps.enumerated() {
            for (k, clip) in subset.clips.enumerated() {
                if let m = study.spatialMaps.first(where: { $0.step == j && $0.clip == clip }) {
                    cells.append(.init(row: r, col: k, width: m.width, height: m.height, values: m.values))
                }
            }
        }
        let floor = study.spatialMaps.map(\.noiseFloor).max() ?? 0
        let arm = study.spatialMaps[0].arm
        return Figure(name: "spatial_maps.png",
                      caption: "Where CFG changes the prediction (\(arm)): per-pixel |x0(w) − x0(1)| from the same x_t, per step (rows: \(subset.stepsWhy)) and clip (columns: \(subset.why)); noise floor \(Fmt.f(floor, 4)).",
                      png: try MapGridFigure(name: "spatial_maps.png", title: "Spatial CFG maps, |x0(w) − x0(1)|, \(arm)\(cx.partial)",
                                             rowLabels: subset.steps.map { j in "j=\(j)" + (cx.t(j).map { ", t=\(Axes.tLabel($0))" } ?? "") + (j == cx.landing ? "\nlanding" : "") },
                                             colLabels: subset.clips.map { c in c + (subset.gains[c].map { "\nΔSync-C \($0 >= 0 ? "+" : "")\(Fmt.f($0, 3))" } ?? "") },
                                             cells: cells, unit: "|x0(w) − x0(1)| (pixel, 0..1)",
                                             note: "rows: \(subset.stepsWhy); columns: \(subset.why); noise floor (same x_t, no CFG difference): \(Fmt.f(floor, 4))").render())
    }

    // MARK: - Sync strips

    /// Per clip, the per-window Sync-C of the deciding CFG arm minus its no-CFG twin at the
    /// landing (or peak-gain) step; clips without both series are left out.
    static func syncStripData(_ cx: Context) -> (step: Int, strips: [StripFigure.Strip])? {
        let study = cx.study
        guard !study.syncSeries.isEmpty, let deciding = cx.report.deciding else { return nil }
        let step = cx.landing ?? cx.report.window?.peakStep ?? study.syncSeries[0].step
        var strips: [StripFigure.Strip] = []
        for clip in study.clips.sorted() {
            guard let a = study.syncSeries.first(where: { $0.clip == clip && $0.arm == deciding.pair.cfg.label && $0.step == step }),
                  let b = study.syncSeries.first(where: { $0.clip == clip && $0.arm == deciding.pair.base.label && $0.step == step }) else { continue }
            let n = min(a.values.count, b.values.count, a.times.count)
            guard n > 0 else { continue }
            strips.append(.init(label: clip, times: Array(a.times.prefix(n)), values: (0..<n).map { a.values[$0] - b.values[$0] }))
        }
        return strips.isEmpty ? nil : (step, strips)
    }

    static func syncStrips(_ cx: Context) throws(ReportError) -> Figure? {
        guard let (step, strips) = syncStripData(cx), let deciding = cx.report.deciding else { return nil }
        let which = step == cx.landing ? "the landing step \(step)" : "the peak-gain step \(step)"
        let fig = StripFigure(name: "sync_strips.png",
                              title: "Sync-C per window, CFG − no-CFG, at step \(step) (t=\(Fmt.f(cx.t(step) ?? .nan, 3)))\(cx.partial)",
                              strips: strips, unit: "Sync-C gain per window\n(CFG − no-CFG)")
        return Figure(name: "sync_strips.png",
                      caption: "Per-window Sync-C of \(deciding.pair.cfg.label) minus \(deciding.pair.base.label) over time at \(which), one strip per clip (\(strips.count) of \(cx.study.clips.count) with both series); red: CFG syncs better in that window. Right: the clip's mean difference. Colours saturate at ±\(Fmt.f(fig.scale.hi, 2)) (the 98th percentile of |difference|) so a few extreme windows do not wash out the rest.",
                      png: try fig.render())
    }

    // MARK: - Pareto

    static func pareto(_ cx: Context) throws(ReportError) -> Figure? {
        guard let front = cx.report.pareto else { return nil }
        let pts = front.points.map { p in
            ScatterFigure.Point(x: p.cost, y: p.gain, colorValue: p.audioScale, label: "(\(Fmt.g(p.textScale)), \(Fmt.g(p.audioScale)))", highlight: p.onFront)
        }
        let frontIdx = front.points.indices.filter { front.points[$0].onFront }.sorted { front.points[$0].cost < front.points[$1].cost }
        return Figure(name: "pareto.png",
                      caption: "Two-scale study: mean Sync-C gain against mean fidelity cost over steps \(front.steps.first ?? 0)..\(front.steps.last ?? 0) per (text, audio) scale pair; outlined and joined: the Pareto front; circled: the chosen point.",
                      png: try ScatterFigure(name: "pareto.png", title: "(text, audio) guidance scales, \(front.family.rawValue)\(cx.partial)",
                                             xTitle: cx.fidUnit, yTitle: "Sync-C gain (CFG − no-CFG)", points: pts, colorLabel: "audio scale",
                                             tolerance: cx.rule.toleranceForm == .relative ? nil
                                                 : cx.rule.limit(cx.rule.fidelityTolerance, peakCost: front.points.map(\.cost).max() ?? 0, base: nil),
                                             connect: frontIdx,
                                             circled: front.chosen.flatMap { c in front.points.firstIndex(of: c) },
                                             note: "labels: (text scale, audio scale); outlined and dashed: Pareto front; circled: chosen").render())
    }

    static func guidanceKnob(_ arm: ArmSpec) -> Double {
        arm.knobs["w"] ?? arm.knobs["s1"] ?? arm.knobs["sa"] ?? 1
    }
}
