/// The search section: the best N-step schedules, their fronts, and the two-step comparison.
extension ReportWriter {
    static func searchSection(_ doc: inout Document, _ r: StudyReport, level h: Int, figDir: String) {
        guard let s = r.study.search else { return }
        let rule = s.criterion.rule
        doc.add(.heading(h, "Searched student schedules (N = \(s.settings.studentSteps.map(String.init).joined(separator: ", ")))"))
        doc.add(.paragraph("`trajprobe search` ran each candidate student's whole sampling on the teacher (x0 at each of its steps with that step's guidance, then \(s.settings.transitions.map { $0 == .euler ? "an Euler jump" : "a re-noise" }.joined(separator: " or ")) to the next) and kept the highest Sync-C among schedules whose \(rule.fidelityMetric) (\(rule.fidelityRegion)) cost against the same steps sampled without CFG passes the landing's rule: \(s.criterion.text). Candidates: \(s.settings.text). Successive halving over \(s.pairsTotal) (clip, seed) pairs in \(s.rounds.count) rounds (" + s.rounds.map { "\($0.candidates) on \($0.pairs)" }.joined(separator: ", ") + "), \(s.passesPlanned) teacher passes."))
        if let stop = s.stoppedEarly { doc.add(.callout("The search stopped early: \(stop).")) }
        doc.add(.table(["N", "best schedule", "t_list", "guidance", "Sync-C [95% CI]", "\(rule.fidelityMetric) cost [95% CI]", "limit", "candidates", "finalists", "front"],
                       s.byStepCount.map { n in
            guard let b = n.best else { return ["\(n.studentSteps)", "none admissible: \(n.note ?? "")", "-", "-", "-", "-", "-", "\(n.evaluated)", "\(n.finalists)", "\(n.front.count)"] }
            return ["\(n.studentSteps)", "`\(b.label)`", "[" + b.tList.map { Fmt.f($0, 3) }.joined(separator: ", ") + "]",
                    "[" + b.guidance.map(Fmt.g).joined(separator: ", ") + "]", Fmt.estimate(b.sync, 3), Fmt.estimate(b.cost, 4),
                    Fmt.f(b.limit, 4), "\(n.evaluated)", "\(n.finalists)", "\(n.front.count)"]
        }))
        doc.add(.paragraph("Sync-C and cost are means over clips (seeds averaged within a clip) on every pair, with \(r.options.bootstrap.resamples)-resample bootstrap 95% CIs; the cost is signed so that positive means further from the reference than the unguided twin. The front of each N (figure `\(figDir)/\(SearchFigure.name)`) lists the last round's schedules that no other beats on both cost and Sync-C:"))
        doc.add(.table(["N", "schedule", "Sync-C", "cost", "admissible"], s.byStepCount.flatMap { n in
            n.front.map { ["\(n.studentSteps)", "`\($0.label)`", Fmt.estimate($0.sync, 3), Fmt.estimate($0.cost, 4), $0.admissible ? "yes" : "no"] }
        }))
        if let l = s.landing { doc.add(.paragraph("**Two-step search vs the rule's landing.** " + l.text)) }
        doc.add(.paragraph("Each best schedule in a trainer's own config: `trajprobe schedule STUDY --student-steps N --target lipforcing|self-forcing|causvid|fastvideo|fastgen`."))
    }
}
