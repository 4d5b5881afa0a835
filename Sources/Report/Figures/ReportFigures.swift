import Store

/// Every figure of one study's report, in a fixed order with fixed names.
public enum ReportFigures {
    public static func render(_ report: StudyReport) throws(ReportError) -> [Figure] {
        var out: [Figure] = []
        let study = report.study
        let steps = study.steps.sorted { $0.j < $1.j }.map(\.j)
        let tOf: (Int) -> Double? = { study.t(ofStep: $0) }
        let rule = report.rule
        let win = report.window?.window.map { $0.firstStep...$0.lastStep }
        let fidUnit = "\(rule.fidelityMetric.uppercased()) cost, \(rule.fidelityRegion) (+ = worse)"
        let fidUnit2 = "\(rule.fidelityMetric.uppercased()) cost, \(rule.fidelityRegion)\n(+ = worse)"
        let partial = report.partial ? " [PARTIAL: study \(study.status.rawValue)]" : ""
        let w = report.guidanceScale

        if let deciding = report.deciding {
            let family = deciding.pair.cfg.family
            // Step × guidance scale: every CFG arm of the deciding family against its twin.
            let pairs = ArmPairing.pairs(in: study.arms).filter {
                $0.cfg.family == family && $0.base == deciding.pair.base && $0.cfg.knobs["st"] == nil
            }.sorted { guidanceKnob($0.cfg) < guidanceKnob($1.cfg) }
            if !pairs.isEmpty {
                let rows = pairs.map { "w = \(Fmt.g(guidanceKnob($0.cfg)))" }
                let gain = pairs.flatMap { p in steps.map { report.comparison(p, step: $0, metric: rule.syncMetric, region: rule.syncRegion)?.difference.mean ?? .nan } }
                let cost = pairs.flatMap { p in steps.map { j in report.comparison(p, step: j, metric: rule.fidelityMetric, region: rule.fidelityRegion).map { rule.cost(fromDifference: $0.difference.mean) } ?? .nan } }
                out.append(Figure(name: "sync_gain_by_scale.png",
                                  caption: "Sync-C gain of \(family.rawValue) CFG arms over \(deciding.pair.base.label), per step and guidance scale (mean over clips). The outlined band is the sync window.",
                                  png: try HeatmapFigure(name: "sync_gain_by_scale.png", title: "Sync-C gain over no-CFG, \(family.rawValue)\(partial)",
                                                         rowTitle: "guidance", rows: rows, steps: steps, values: gain, map: .diverging,
                                                         unit: "Sync-C gain\n(CFG − no-CFG)", window: win, tOf: tOf).render()))
                out.append(Figure(name: "fidelity_cost_by_scale.png",
                                  caption: "Fidelity cost (\(rule.fidelityMetric.uppercased()) on \(rule.fidelityRegion), positive = further from the reference) of the same arms.",
                                  png: try HeatmapFigure(name: "fidelity_cost_by_scale.png", title: "Fidelity cost of CFG, \(family.rawValue)\(partial)",
                                                         rowTitle: "guidance", rows: rows, steps: steps, values: cost, map: .diverging,
                                                         unit: fidUnit2, window: win, tOf: tOf).render()))
            }
            // Magnitudes: the Sync-C value itself per step and scale, no-CFG row included (viridis).
            let scaleArms = [deciding.pair.base] + pairs.map(\.cfg)
            if !pairs.isEmpty {
                let values = scaleArms.flatMap { a in steps.map { report.value(arm: a.label, step: $0, metric: rule.syncMetric, region: rule.syncRegion)?.value.mean ?? .nan } }
                let gt = report.gt["\(rule.syncMetric)/\(rule.syncRegion)"].map { " (GT \(Fmt.f($0.mean, 2)))" } ?? ""
                out.append(Figure(name: "sync_by_scale.png",
                                  caption: "Sync-C of the \(family.rawValue) arms' x0 prediction per step and guidance scale (mean over clips; w = 1 is no CFG)\(gt).",
                                  png: try HeatmapFigure(name: "sync_by_scale.png", title: "Sync-C per step and guidance scale, \(family.rawValue)\(partial)",
                                                         rowTitle: "guidance", rows: scaleArms.map { "w = \(Fmt.g(guidanceKnob($0)))" }, steps: steps,
                                                         values: values, map: .viridis, unit: "Sync-C\(gt)", window: win, tOf: tOf).render()))
            }
            // Step × clip for the deciding pair.
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
                                  caption: "Sync-C gain of \(deciding.pair.label) per clip and step (seeds averaged); grey = not measured.",
                                  png: try HeatmapFigure(name: "sync_gain_by_clip.png", title: "Sync-C gain per clip, \(deciding.pair.cfg.label)\(partial)",
                                                         rowTitle: "clip", rows: clips, steps: steps, values: gain, map: .diverging,
                                                         unit: "Sync-C gain\n(CFG − no-CFG)", window: win, tOf: tOf).render()))
                out.append(Figure(name: "fidelity_cost_by_clip.png",
                                  caption: "Fidelity cost of \(deciding.pair.label) per clip and step.",
                                  png: try HeatmapFigure(name: "fidelity_cost_by_clip.png", title: "Fidelity cost per clip, \(deciding.pair.cfg.label)\(partial)",
                                                         rowTitle: "clip", rows: clips, steps: steps, values: cost, map: .diverging,
                                                         unit: fidUnit2, window: win, tOf: tOf).render()))
            }
        }

        // Curves per arm with CI bands.
        let curveArms = [ArmSpec.trajectory(w: 1), .trajectory(w: w), .freshNoise(w: 1), .freshNoise(w: w),
                         .eulerJump(s0: 1, s1: 1), .eulerJump(s0: 1, s1: w)].filter { study.arms.contains($0) }
        func series(_ arm: ArmSpec, _ metric: String, _ region: String) -> PanelFigure.Series {
            let pts = steps.compactMap { j in report.value(arm: arm.label, step: j, metric: metric, region: region).map {
                PanelFigure.Point(x: Double(j), mean: $0.value.mean, lo: $0.value.lower, hi: $0.value.upper) } }
            return PanelFigure.Series(label: arm.label, color: familyColor(arm.family),
                                      dash: guidanceKnob(arm) == 1 ? [3, 2] : [], points: pts)
        }
        func legend(gt: Bool) -> Legend {
            Legend(entries: curveArms.map { (.line(familyColor($0.family), dash: guidanceKnob($0) == 1 ? [3, 2] : []), $0.label) }
                   + (gt ? [(.line(.black, dash: [3, 2]), "GT (reference clip)")] : [])
                   + (win != nil ? [(.box(RGB(250, 220, 120), alpha: 0.35), "sync window")] : [])
                   + [(.box(.grey, alpha: 0.25), "95% CI")])
        }
        if !curveArms.isEmpty {
            var syncPanels: [PanelFigure.Panel] = []
            for (metric, title) in [(MetricName.syncC, "Sync-C (higher = better)"), (MetricName.syncD, "Sync-D (lower = better)")] {
                let s = curveArms.map { series($0, metric, RegionName.face) }.filter { !$0.points.isEmpty }
                guard !s.isEmpty else { continue }
                let gt = report.gt["\(metric)/\(RegionName.face)"].map { [PanelFigure.RefLine(value: $0.mean, label: "GT \(Fmt.f($0.mean, 2))", color: .black)] } ?? []
                syncPanels.append(.init(title: title, yTitle: metric == MetricName.syncC ? "Sync-C" : "Sync-D", series: s, refLines: gt))
            }
            if !syncPanels.isEmpty {
                out.append(Figure(name: "curves_sync.png",
                                  caption: "Sync-C and Sync-D (\(study.syncModel)) of each arm's x0 prediction per step, mean over clips with bootstrap 95% CI bands; dashed black: the reference clips (GT).",
                                  png: try PanelFigure(name: "curves_sync.png", title: "Lip sync along the trajectory\(partial)", panels: syncPanels,
                                                       columns: 2, steps: steps, tOf: tOf, window: win, legend: legend(gt: syncPanels.contains { !$0.refLines.isEmpty })).render()))
            }
            var fidPanels: [PanelFigure.Panel] = []
            for metric in [MetricName.ssim, MetricName.lpips, MetricName.psnr, MetricName.mse, MetricName.sharpness] {
                for region in [RegionName.mouth, RegionName.upperFace, RegionName.full] {
                    let s = curveArms.map { series($0, metric, region) }.filter { !$0.points.isEmpty }
                    guard !s.isEmpty, fidPanels.count < 6 else { continue }
                    let gt = report.gt["\(metric)/\(region)"].map { [PanelFigure.RefLine(value: $0.mean, label: "GT \(Fmt.f($0.mean, 2))", color: .black)] } ?? []
                    let dir = MetricDirection(metric: metric) == .higherIsBetter ? "higher" : "lower"
                    fidPanels.append(.init(title: "\(metric.uppercased()), \(region.replacingOccurrences(of: "_", with: " ")) (\(dir) = closer)",
                                           yTitle: metric.uppercased(), series: s, refLines: gt))
                }
            }
            if !fidPanels.isEmpty {
                out.append(Figure(name: "curves_fidelity.png",
                                  caption: "Fidelity of each arm's x0 prediction to the reference per region and step, mean over clips with 95% CI bands.",
                                  png: try PanelFigure(name: "curves_fidelity.png", title: "Reference fidelity along the trajectory\(partial)", panels: fidPanels,
                                                       columns: min(3, fidPanels.count), steps: steps, tOf: tOf, window: win, legend: legend(gt: fidPanels.contains { !$0.refLines.isEmpty })).render()))
            }
        }

        // euler_jump 2×2 factorial.
        let cells = [(1.0, 1.0), (1.0, w), (w, 1.0), (w, w)].map { ArmSpec.eulerJump(s0: $0.0, s1: $0.1) }
        if cells.allSatisfy(study.arms.contains) {
            let colors = [RGB(hex: 0x56B4E9), RGB(hex: 0x0072B2), RGB(hex: 0xE69F00), RGB(hex: 0xD55E00)]
            func fs(_ metric: String, _ region: String) -> [PanelFigure.Series] {
                cells.enumerated().map { k, arm in
                    var s = series(arm, metric, region)
                    s.label = "s0=\(Fmt.g(arm.knobs["s0"]!)), s1=\(Fmt.g(arm.knobs["s1"]!))"
                    s.color = colors[k]; s.dash = arm.knobs["s0"] == 1 ? [] : [3, 2]
                    return s
                }
            }
            let marker = report.schedule.map { (x: Double($0.landingStep), label: "landing j=\($0.landingStep)") }
            let panels: [PanelFigure.Panel] = [
                .init(title: "Sync-C (higher = better)", yTitle: "Sync-C", series: fs(rule.syncMetric, rule.syncRegion),
                      refLines: report.gt["\(rule.syncMetric)/\(rule.syncRegion)"].map { [.init(value: $0.mean, label: "GT", color: .black)] } ?? [], marker: marker),
                .init(title: "\(rule.fidelityMetric.uppercased()), \(rule.fidelityRegion)", yTitle: rule.fidelityMetric.uppercased(),
                      series: fs(rule.fidelityMetric, rule.fidelityRegion), marker: marker),
            ]
            let lg = Legend(entries: cells.enumerated().map { k, arm in
                (.line(colors[k], dash: arm.knobs["s0"] == 1 ? [] : [3, 2]), "s0=\(Fmt.g(arm.knobs["s0"]!)) (step 0), s1=\(Fmt.g(arm.knobs["s1"]!)) (landing)") }
                + (win != nil ? [(.box(RGB(250, 220, 120), alpha: 0.35), "sync window")] : []))
            out.append(Figure(name: "euler_jump_factorial.png",
                              caption: "The euler_jump 2×2 factorial: guidance at step 0 (s0) × guidance at the landing step (s1), per landing step. The dotted line marks the chosen two-step landing step.",
                              png: try PanelFigure(name: "euler_jump_factorial.png", title: "euler_jump factorial: x0 at step 0 with s0, Euler jump to step j, x0 there with s1\(partial)",
                                                   panels: panels, columns: 2, steps: steps, tOf: tOf, window: win, legend: lg).render()))
        }

        // Fidelity-vs-sync tradeoff per step.
        if let result = report.window {
            let pts = result.verdicts.compactMap { v -> ScatterFigure.Point? in
                guard let g = v.gain, let cst = v.cost else { return nil }
                let inWin = result.window?.steps.contains(v.step) ?? false
                let label = inWin && (v.step == result.window?.firstStep || v.step == result.window?.lastStep) || v.step == result.peakStep ? "\(v.step)" : nil
                return .init(x: cst.mean, y: g.mean, xLo: cst.lower, xHi: cst.upper, yLo: g.lower, yHi: g.upper,
                             colorValue: Double(v.step), label: label, highlight: inWin)
            }
            if !pts.isEmpty {
                out.append(Figure(name: "tradeoff.png",
                                  caption: "Fidelity cost against Sync-C gain of \(result.deciding.pair.label), one point per step (colour = step, 95% CI whiskers); outlined points are in the window; shaded: cost above the tolerance.",
                                  png: try ScatterFigure(name: "tradeoff.png", title: "Fidelity–sync tradeoff per step\(partial)",
                                                         xTitle: fidUnit, yTitle: "Sync-C gain (CFG − no-CFG)", points: pts,
                                                         colorLabel: "ODE step j", tolerance: rule.fidelityTolerance,
                                                         note: "outlined: steps in the sync window; labels: window edges and the peak-gain step").render()))
            }
        }

        // Spatial CFG maps.
        if !study.spatialMaps.isEmpty {
            let mapSteps = Array(Set(study.spatialMaps.map(\.step))).sorted()
            let chosenSteps = mapSteps.count <= 6 ? mapSteps : (0..<6).map { mapSteps[$0 * (mapSteps.count - 1) / 5] }
            let mapClips = Array(Array(Set(study.spatialMaps.map(\.clip))).sorted().prefix(5))
            var cells: [MapGridFigure.Cell] = []
            for (r, j) in chosenSteps.enumerated() {
                for (k, clip) in mapClips.enumerated() {
                    if let m = study.spatialMaps.first(where: { $0.step == j && $0.clip == clip }) {
                        cells.append(.init(row: r, col: k, width: m.width, height: m.height, values: m.values))
                    }
                }
            }
            let floor = study.spatialMaps.map(\.noiseFloor).max() ?? 0
            out.append(Figure(name: "spatial_maps.png",
                              caption: "Where CFG changes the prediction: per-pixel |x0(w) − x0(1)| from the same x_t, per step (rows) and clip (columns); noise floor \(Fmt.f(floor, 4)).",
                              png: try MapGridFigure(name: "spatial_maps.png", title: "Spatial CFG maps, |x0(w) − x0(1)|\(partial)",
                                                     rowLabels: chosenSteps.map { j in "j=\(j)" + (tOf(j).map { ", t=\(Fmt.f($0, 2))" } ?? "") },
                                                     colLabels: mapClips, cells: cells, unit: "|x0(w) − x0(1)| (pixel, 0..1)",
                                                     note: "noise floor (same x_t, no CFG difference): \(Fmt.f(floor, 4))").render()))
        }

        // Sync over time for the chosen arms at the landing (or peak) step.
        if !study.syncSeries.isEmpty, let deciding = report.deciding {
            let step = report.schedule?.landingStep ?? report.window?.peakStep ?? study.syncSeries[0].step
            let arms = [deciding.pair.base.label, deciding.pair.cfg.label]
            var strips: [StripFigure.Strip] = []
            for clip in study.clips.sorted() {
                for arm in arms {
                    if let s = study.syncSeries.first(where: { $0.clip == clip && $0.arm == arm && $0.step == step }) {
                        strips.append(.init(label: "\(clip) · \(arm)", times: s.times, values: s.values))
                    }
                }
            }
            if !strips.isEmpty {
                out.append(Figure(name: "sync_strips.png",
                                  caption: "Per-window Sync-C over time at step \(step), no-CFG and CFG arms per clip.",
                                  png: try StripFigure(name: "sync_strips.png", title: "Sync-C over time at step \(step) (t=\(Fmt.f(tOf(step) ?? .nan, 3)))\(partial)",
                                                       strips: strips, unit: "Sync-C per window").render()))
            }
        }

        // Pareto front of (text, audio) scales.
        if let front = report.pareto {
            let pts = front.points.map { p in
                ScatterFigure.Point(x: p.cost, y: p.gain, colorValue: p.audioScale, label: "(\(Fmt.g(p.textScale)), \(Fmt.g(p.audioScale)))", highlight: p.onFront)
            }
            let frontIdx = front.points.indices.filter { front.points[$0].onFront }.sorted { front.points[$0].cost < front.points[$1].cost }
            out.append(Figure(name: "pareto.png",
                              caption: "Two-scale study: mean Sync-C gain against mean fidelity cost over steps \(front.steps.first ?? 0)..\(front.steps.last ?? 0) per (text, audio) scale pair; outlined and joined: the Pareto front; circled: the chosen point.",
                              png: try ScatterFigure(name: "pareto.png", title: "(text, audio) guidance scales, \(front.family.rawValue)\(partial)",
                                                     xTitle: fidUnit, yTitle: "Sync-C gain (CFG − no-CFG)", points: pts, colorLabel: "audio scale",
                                                     tolerance: rule.fidelityTolerance, connect: frontIdx,
                                                     circled: front.chosen.flatMap { c in front.points.firstIndex(of: c) },
                                                     note: "labels: (text scale, audio scale); outlined and dashed: Pareto front; circled: chosen").render()))
        }
        return out
    }

    static func guidanceKnob(_ arm: ArmSpec) -> Double {
        arm.knobs["w"] ?? arm.knobs["s1"] ?? arm.knobs["sa"] ?? 1
    }

    static func familyColor(_ f: ArmFamily) -> RGB {
        switch f {
        case .trajectory: return RGB.series[0]
        case .freshNoise: return RGB.series[1]
        case .eulerJump: return RGB.series[2]
        case .scheduledCFG: return RGB.series[3]
        case .spatial: return RGB.series[4]
        case .scored: return RGB.series[0]
        case .studentSchedule: return RGB.series[5 % RGB.series.count]
        }
    }
}
