import Store

/// The robustness section: the rule's answer under clip resamples and under other settings.
extension ReportWriter {
    static func robustnessSection(_ doc: inout Document, _ r: StudyReport, level h: Int) {
        guard let rb = r.robustness else { return }
        doc.add(.heading(h, "Robustness of the window and landing"))
        doc.add(.paragraph("The whole rule (window and landing) recomputed on \(rb.resamples) resamples of the clips (drawn with replacement; every per-step mean and gain CI recomputed from the drawn clips). \(rb.withWindow) resamples give a window, \(rb.withLanding) a landing step."))
        func row(_ name: String, _ d: StepDistribution?, point: Int?) -> [String] {
            guard let d else { return [name, point.map(String.init) ?? "-", "-", "-", "-"] }
            let t = { (j: Int) in r.study.t(ofStep: j).map { Fmt.f($0, 3) } ?? "-" }
            let mode = d.counts.max { a, b in a.value < b.value || (a.value == b.value && a.key > b.key) }!.key
            return [name, point.map { "\($0) (t=\(t($0)))" } ?? "-", "\(d.lower)..\(d.upper) (t \(t(d.upper))..\(t(d.lower)))",
                    "\(mode)", Fmt.f(100 * d.agreement, 0) + "%"]
        }
        doc.add(.table(["", "point estimate", "95% interval (bias-corrected)", "most frequent", "resamples agreeing"], [
            row("window first step (t_hi)", rb.firstStep, point: r.window?.window?.firstStep),
            row("window last step (t_lo)", rb.lastStep, point: r.window?.window?.lastStep),
            row("landing step", rb.landingStep, point: r.schedule?.landingStep),
        ]))
        doc.add(.paragraph("The exact window (both edges) recurs in \(Fmt.f(100 * rb.windowAgreement, 0))% of the resamples."))
        doc.add(.heading(h + 1, "Sensitivity to the rule's settings"))
        doc.add(.table(["gain fraction", "fidelity tolerance", "landing tolerance", "window", "landing"], rb.sensitivity.map { s in
            let mark = s.isDefault ? " **(in use)**" : ""
            return [Fmt.f(s.gainFraction, 3), Fmt.g(s.fidelityTolerance), Fmt.g(s.landingTolerance),
                    (s.firstStep.map { f in s.lastStep.map { "\(f)..\($0)" } ?? "-" } ?? "none") + mark,
                    s.landingStep.map(String.init) ?? "none"]
        }))
        doc.add(.paragraph("Tolerances read as \(r.rule.toleranceForm.describe(1).replacingOccurrences(of: "1 × ", with: "fractions of ")); the table varies each setting around the one in use with the others held."))
    }

    /// Metrics the toolkit has no direction for (a script's own columns): shown as they are,
    /// paired CFG − no-CFG differences of the deciding arms, never dropped and never used by the rule.
    static func unknownMetricsSection(_ doc: inout Document, _ r: StudyReport, level h: Int) {
        guard let pair = r.deciding?.pair else { return }
        let unknown = r.index.metricRegions.filter { MetricName.higherIsBetter($0.metric) == nil && $0.metric != MetricName.syncOffset }
        guard !unknown.isEmpty else { return }
        let steps = r.study.steps.map(\.j).sorted()
        let shown = steps.count <= 12 ? steps : steps.filter { $0 % 10 == 0 || $0 == steps.last! }
        doc.add(.heading(h, "Other metrics (direction unknown)"))
        doc.add(.paragraph("Metrics the toolkit has no direction for, shown as stored: the mean paired difference `\(pair.cfg.label)` − `\(pair.base.label)` over clips\(shown.count < steps.count ? " at every tenth step" : ""). They are not used by the rule."))
        var rows: [[String]] = []
        for m in unknown {
            var row = [m.metric, m.region]
            for j in shown {
                let c = r.comparison(pair, step: j, metric: m.metric, region: m.region)
                row.append(c.map { Fmt.f($0.difference.mean, 4) } ?? "-")
            }
            rows.append(row)
        }
        doc.add(.table(["metric", "region"] + shown.map { "step \($0)" }, rows))
    }
}

