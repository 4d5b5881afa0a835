import Foundation
import Store
import Support

/// Writes report.md, report.html (figures embedded), figures/*.png and the student configs.
public enum ReportWriter {
    /// What `write` produced.
    public struct Output: Sendable, Equatable {
        /// Every file written, in order.
        public var files: [String]
        /// Studies with a schedule written, and those without (with the reason).
        public var schedules: [String: String]
        /// Studies without a schedule, with the reason.
        public var noSchedule: [String: String]
    }

    /// Writes one study (or several, compared side by side) into `directory`.
    ///
    /// Each file is written atomically (temporary file, then rename), so an interrupted run never
    /// leaves a half-written report.
    /// - parameter date: ISO-8601 date for the provenance and headings (passed in for reproducible bytes).
    public static func write(_ reports: [StudyReport], to directory: String, date: String,
                             form: CFGForm = .uncond, minT: Double = 0) throws(ReportError) -> Output {
        precondition(!reports.isEmpty, "write needs at least one study")
        var files: [String] = []
        var schedules: [String: String] = [:], noSchedule: [String: String] = [:]
        let several = reports.count > 1
        var figureSets: [[Figure]] = []
        for r in reports {
            let figs = try ReportFigures.render(r) + SearchFigure.figures(r)
            figureSets.append(figs)
            let figDir = several ? "\(directory)/figures/\(safe(r.study.name))" : "\(directory)/figures"
            try makeDirectory(figDir)
            for f in figs { files.append(try writeFile("\(figDir)/\(f.name)", Data(f.png))) }
            do throws(ReportError) {
                let config = try r.studentConfig(form: form, minT: minT, date: date)
                let stem = several ? "schedule-\(safe(r.study.name))" : "schedule"
                files.append(try writeFile("\(directory)/\(stem).yaml", Data(try config.yaml().utf8)))
                files.append(try writeFile("\(directory)/\(stem).json", Data(try config.json().utf8)))
                schedules[r.study.name] = "\(directory)/\(stem).yaml"
            } catch {
                noSchedule[r.study.name] = error.description
            }
        }
        let doc = document(reports, figures: figureSets, date: date, form: form, minT: minT)
        files.append(try writeFile("\(directory)/report.md", Data(doc.markdown().utf8)))
        files.append(try writeFile("\(directory)/report.html", Data(doc.html().utf8)))
        return Output(files: files, schedules: schedules, noSchedule: noSchedule)
    }

    // MARK: - Files

    static func safe(_ name: String) -> String {
        String(name.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "." ? $0 : "_" })
    }

    static func makeDirectory(_ path: String) throws(ReportError) {
        do { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) } catch {
            throw .writeFailed(file: path, problem: error.localizedDescription)
        }
    }

    static func writeFile(_ path: String, _ data: Data) throws(ReportError) -> String {
        do {
            try makeDirectory((path as NSString).deletingLastPathComponent)
            try AtomicFile.write(data, to: path)
        } catch let e as ReportError { throw e } catch let e as AtomicFileError {
            throw .writeFailed(file: path, problem: e.detail)
        } catch {
            throw .writeFailed(file: path, problem: error.localizedDescription)
        }
        return path
    }

    // MARK: - Content

    static func document(_ reports: [StudyReport], figures: [[Figure]], date: String, form: CFGForm, minT: Double) -> Document {
        let several = reports.count > 1
        var doc = Document(title: several ? "trajprobe report: \(reports.map(\.study.name).joined(separator: " vs "))"
                                          : "trajprobe report: \(reports[0].study.name)" + (reports[0].incompleteTag.map { " (\($0))" } ?? (reports[0].partial ? " (PARTIAL)" : "")))
        doc.add(.paragraph("Generated \(date) by trajprobe \(reports[0].study.toolkitVersion.isEmpty ? "" : reports[0].study.toolkitVersion + " ")from \(reports.map { "`\($0.study.source)`" }.joined(separator: ", "))."))
        if several {
            doc.add(.heading(2, "Studies side by side"))
            doc.add(.table(["", ] + reports.map(\.study.name), comparisonRows(reports)))
            comparisons(&doc, reports)
            let names = figures.map { Set($0.map(\.name)) }.reduce(Set(figures[0].map(\.name))) { $0.intersection($1) }
            let ordered = figures[0].map(\.name).filter(names.contains)
            if !ordered.isEmpty {
                doc.add(.heading(2, "Figures side by side"))
                for name in ordered {
                    doc.add(.figureRow(reports.indices.map { i in
                        (reports[i].study.name, figures[i].first { $0.name == name }!, "figures/\(safe(reports[i].study.name))/\(name)")
                    }))
                }
            }
        }
        for (i, r) in reports.enumerated() {
            section(&doc, r, figures: figures[i], level: several ? 2 : 1, figDir: several ? "figures/\(safe(r.study.name))" : "figures",
                    date: date, form: form, minT: minT, embedFigures: !several)
        }
        return doc
    }

    static func comparisonRows(_ reports: [StudyReport]) -> [[String]] {
        func row(_ name: String, _ f: (StudyReport) -> String) -> [String] { [name] + reports.map(f) }
        return [
            row("status") { $0.study.status.rawValue },
            row("teacher") { "\($0.study.teacher) \($0.study.modelName)" },
            row("drop mode") { $0.study.dropMode },
            row("sync model") { "\($0.study.syncModel) \($0.study.syncPreset)" },
            row("clips") { "\($0.measuredClips)" },
            row("deciding arms") { $0.deciding?.pair.label ?? "none" },
            row("window rule") { r in
                let rule = r.rule
                return "gain ≥ \(Fmt.f(rule.gainFraction, 2)) × peak, \(rule.fidelityMetric) (\(rule.fidelityRegion)) cost ≤ \(rule.toleranceForm.describe(rule.fidelityTolerance))"
            },
            row("peak Sync-C gain") { r in r.window.map { "\(Fmt.f($0.peakGain, 3)) at step \($0.peakStep.map(String.init) ?? "-")" } ?? "-" },
            row("sync window (steps)") { r in r.window?.window.map { "\($0.firstStep)..\($0.lastStep)" } ?? "none" },
            row("sync window (t)") { r in r.window?.window.map { "[\(Fmt.f($0.tLow, 3)), \(Fmt.f($0.tHigh, 3))]" } ?? "none" },
            row("landing step") { r in r.schedule.map { "\($0.landingStep) (t=\(Fmt.f($0.tList[1], 3)))" } ?? "none" },
            row("window edges, 95% over clip resamples") { r in
                guard let rb = r.robustness, let f = rb.firstStep, let l = rb.lastStep else { return "-" }
                return "first \(f.lower)..\(f.upper), last \(l.lower)..\(l.upper)"
            },
            row("landing, 95% over clip resamples") { r in r.robustness?.landingStep.map { "\($0.lower)..\($0.upper)" } ?? "-" },
            row("t_list") { r in r.schedule.map { "[" + $0.tList.map { Fmt.f($0, 3) }.joined(separator: ", ") + "]" } ?? "none" },
        ]
    }

    static func section(_ doc: inout Document, _ r: StudyReport, figures: [Figure], level: Int, figDir: String,
                        date: String, form: CFGForm, minT: Double, embedFigures: Bool) {
        let s = r.study, rule = r.rule, h = level + 1
        if level > 1 { doc.add(.heading(level, "Study \(s.name)" + (r.incompleteTag.map { " (\($0))" } ?? (r.partial ? " (PARTIAL)" : "")))) }
        for w in r.warnings { doc.add(.callout(w)) }

        doc.add(.heading(h, "Reading"))
        doc.add(.paragraph(reading(r)))

        doc.add(.heading(h, "Configuration"))
        doc.add(.table(["setting", "value"], configurationRows(r)))

        doc.add(.heading(h, "Which arms decide"))
        if let d = r.deciding {
            let context = d.pair.cfg.family == .trajectory
                ? "They compound the guidance of every earlier step, so a gain at step j is not the effect of guiding step j alone; no single-prediction arms (fresh_noise, euler_jump) at this scale were probed to decide instead."
                : "Trajectory arms compound the guidance of every earlier step; they are shown for context, not used for the window."
            doc.add(.paragraph("The window is decided by `\(d.pair.cfg.label)` against `\(d.pair.base.label)` (\(d.pair.kind == .singlePrediction ? "single-prediction arms: the two differ only in the guidance of the one prediction measured at each step" : "compounding arms")). \(context)"))
            if let note = d.note { doc.add(.callout(note)) }
        } else {
            doc.add(.callout(r.scale.map { "No CFG arm at \($0.label) with its no-CFG twin was probed: no window can be derived." } ?? "The teacher's CFG scale is not known (the study does not record it, and its CFG arms carry none or several): pass --guidance to choose it."))
        }

        doc.add(.heading(h, "Sync window"))
        doc.add(.paragraph("Rule: \(rule.text)."))
        if !rule.choices.isEmpty { doc.add(.paragraph("Chosen for this study: " + rule.choices.joined(separator: "; ") + ".")) }
        if let res = r.window {
            if let win = res.window {
                doc.add(.paragraph("**Window: steps \(win.firstStep)..\(win.lastStep), t ∈ [\(Fmt.f(win.tLow, 3)), \(Fmt.f(win.tHigh, 3))]** (peak gain \(Fmt.f(res.peakGain, 3)) at step \(res.peakStep ?? -1); threshold \(Fmt.f(rule.gainFraction, 3)) × peak = \(Fmt.f(res.threshold, 3)); peak \(rule.fidelityMetric) cost \(Fmt.f(res.peakCost, 4)) at step \(res.peakCostStep.map(String.init) ?? "-"))."))
                doc.add(.list([win.lowerEdge.text, win.upperEdge.text]))
                if !res.otherBands.isEmpty {
                    doc.add(.paragraph("Other qualifying bands (smaller summed gain, not chosen): " + res.otherBands.map { "\($0.first!)..\($0.last!)" }.joined(separator: ", ") + "."))
                }
            } else {
                doc.add(.callout("No sync window: \(res.noWindowReason ?? "no qualifying band"). No schedule is written."))
            }
            doc.add(.heading(h + 1, "Per-step statistics (\(res.deciding.pair.label))"))
            let pair = res.deciding.pair
            var rows: [[String]] = []
            for v in res.verdicts {
                let sd = r.comparison(pair, step: v.step, metric: r.study.measurements.contains { $0.metric == MetricName.syncD } ? MetricName.syncD : "sync-d", region: rule.syncRegion)
                let fid = r.comparison(pair, step: v.step, metric: rule.fidelityMetric, region: rule.fidelityRegion)
                let cfgSync = r.value(arm: pair.cfg.label, step: v.step, metric: rule.syncMetric, region: rule.syncRegion)
                rows.append(["\(v.step)", Fmt.f(v.t, 3),
                             cfgSync.map { Fmt.f($0.value.mean, 2) } ?? "-",
                             v.gain.map { Fmt.estimate($0, 3) } ?? "-",
                             sd.map { Fmt.estimate($0.difference, 3) } ?? "-",
                             v.cost.map { Fmt.estimate($0, 4) } ?? "-",
                             fid.map { Fmt.f(100 * rule.cost(fromDifference: $0.relative), 2) + "%" } ?? "-",
                             "\(v.gain?.count ?? 0)",
                             (res.window?.steps.contains(v.step) ?? false) ? "**in window**" : (v.qualifies ? "qualifies" : v.failures.map(\.text).joined(separator: "; "))])
            }
            let gt = r.gt["\(rule.syncMetric)/\(rule.syncRegion)"].map { " (GT \(Fmt.f($0.mean, 2)))" } ?? ""
            doc.add(.table(["step", "t", "CFG Sync-C\(gt)", "Sync-C gain [95% CI]", "Sync-D change [95% CI]",
                            "\(rule.fidelityMetric.uppercased()) cost, \(rule.fidelityRegion) [95% CI]", "cost vs no-CFG", "clips", "verdict"], rows))
            doc.add(.paragraph("Gain and cost are paired differences CFG − no-CFG over clips; cost is signed so that positive means further from the reference; \"cost vs no-CFG\" normalises it by the no-CFG arm's value at the same step."))
        }

        if let base = r.baseline {
            let arms = s.arms.filter { $0.family != .spatial && $0.knobs["st"] == nil }
            let distance = [MetricName.lpips, MetricName.mse, MetricName.ssim].filter { m in
                arms.contains { r.value(arm: $0.label, step: s.steps.first!.j, metric: m, region: rule.fidelityRegion) != nil }
            }
            if let m = distance.first {
                doc.add(.heading(h + 1, "\(m.uppercased()) on \(rule.fidelityRegion), normalised per step to `\(base.label)`"))
                let steps = s.steps.map(\.j).sorted()
                let shown = steps.count <= 26 ? steps : steps.filter { $0 % 5 == 0 || $0 == steps.last! }
                doc.add(.table(["step", "t"] + arms.map(\.label), shown.map { j in
                    [String(j), Fmt.f(s.t(ofStep: j) ?? .nan, 3)] + arms.map { a in r.normalised(arm: a.label, step: j, metric: m, region: rule.fidelityRegion).map { Fmt.f($0, 3) } ?? "-" }
                }))
                doc.add(.paragraph("Each arm's mean divided by the baseline arm's mean at the same step (1.000 = the baseline); \(steps.count > 26 ? "every fifth step shown; " : "")distances to the reference have no GT value, so this is their per-step scale."))
            }
        }

        doc.add(.heading(h, "Two-step schedule"))
        if let sch = r.schedule {
            if let note = sch.note { doc.add(.callout(note)) }
            doc.add(.paragraph("Step 1 at t = \(Fmt.f(sch.tList[0], 3)) without CFG, step 2 landing at **step \(sch.landingStep), t = \(Fmt.f(sch.tList[1], 6))** with CFG \(r.scale?.label ?? ""): `t_list = [\(sch.tList.map { Fmt.f($0, 3) }.joined(separator: ", "))]`, `denoising_step_list = [\(sch.tList.dropLast().map { String(ShiftedSchedule.integerTimestep($0)) }.joined(separator: ", "))]`. Chosen from `\(sch.cfgArm)` as the window step with the highest Sync-C among those whose \(sch.fidelityMetric) (\(sch.fidelityRegion)) cost against `\(sch.noCFGArm)` at the same step (the student lands there either way) is within \(sch.toleranceForm.describe(sch.tolerance))."))
            doc.add(.list([
                "Landing cost against its no-CFG twin: \(Fmt.f(sch.fidelityGap, 4)) ≤ limit \(Fmt.f(sch.landing.limit, 4)) (the pair's peak cost is \(Fmt.f(sch.peakCost, 4)) at step \(sch.peakCostStep)); the twin's \(sch.fidelityMetric) there is \(Fmt.f(sch.twinFidelity, 4)).",
                "CFG Sync-C ceiling: \(Fmt.f(sch.syncCeiling, 3)) (`\(sch.syncCeilingArm)` at step \(sch.syncCeilingStep)); landing Sync-C \(Fmt.estimate(sch.landing.sync, 3)), gap \(Fmt.f(sch.syncGap, 3))."
                    + (sch.gtSync.map { " GT Sync-C \(Fmt.f($0, 3))." } ?? ""),
            ]))
            doc.add(.table(["landing step", "t", "Sync-C [95% CI]", "\(sch.fidelityMetric) [95% CI]", "cost vs twin", "limit", "within tolerance"],
                           sch.candidates.map { ["\($0.step)", Fmt.f($0.t, 3), Fmt.estimate($0.sync, 3), Fmt.estimate($0.fidelity, 4), Fmt.f($0.fidelityGap, 4), Fmt.f($0.limit, 4), $0.withinTolerance ? "yes" : "no"] }))
            if let scale = r.scale, [GuidanceScale.Level.off, .on].allSatisfy({ a in [GuidanceScale.Level.off, .on].allSatisfy { b in s.arms.contains(scale.eulerJump(s0: a, s1: b)) } }) {
                doc.add(.heading(h + 1, "euler_jump 2×2 at the landing step"))
                doc.add(.table(["s0 (step 0) \\ s1 (landing)", "s1 no CFG", "s1 \(scale.label)"], [GuidanceScale.Level.off, .on].map { s0 in
                    [s0 == .off ? "s0 no CFG" : "s0 \(scale.label)"] + [GuidanceScale.Level.off, .on].map { s1 in
                        let a = scale.eulerJump(s0: s0, s1: s1).label
                        let sc = r.value(arm: a, step: sch.landingStep, metric: rule.syncMetric, region: rule.syncRegion)
                        let fi = r.value(arm: a, step: sch.landingStep, metric: rule.fidelityMetric, region: rule.fidelityRegion)
                        return "Sync-C \(sc.map { Fmt.f($0.value.mean, 3) } ?? "-"), \(rule.fidelityMetric.uppercased()) \(fi.map { Fmt.f($0.value.mean, 4) } ?? "-")"
                    }
                }))
            }
            if let config = try? r.studentConfig(form: form, minT: minT, date: date, allowPartial: true), let yaml = try? config.yaml() {
                doc.add(.heading(h + 1, "Student config (\(form.rawValue) CFG form)"))
                if r.partial { doc.add(.callout("The study is partial: `trajprobe schedule` refuses to write this config without --allow-partial.")) }
                doc.add(.code(yaml))
                doc.add(.heading(h + 1, "Guidance interval for teachers"))
                doc.add(.paragraph("Per-step guidance over the whole \(config.teacher_guidance.per_step.count)-step trajectory: w = \(Fmt.g(config.guidance_scale)) on steps \(config.teacher_guidance.interval_steps[0])..\(config.teacher_guidance.interval_steps[1]), no CFG (\(Fmt.g(form.scale(fromUncond: 1)))) elsewhere (`teacher_guidance.per_step` in the config)."))
            }
        } else {
            doc.add(.callout("No schedule: \(r.scheduleProblem?.description ?? "no window")"))
        }

        searchSection(&doc, r, level: h, figDir: figDir)

        robustnessSection(&doc, r, level: h)
        unknownMetricsSection(&doc, r, level: h)

        if let front = r.pareto {
            doc.add(.heading(h, "Two-scale guidance: Pareto front"))
            doc.add(.paragraph("Mean Sync-C gain and fidelity cost over steps \(front.steps.first ?? 0)..\(front.steps.last ?? 0) per (text, audio) scale pair of the \(front.family.rawValue) arms. " + (front.chosen.map { "Chosen: text \(Fmt.g($0.textScale)), audio \(Fmt.g($0.audioScale)) (largest gain on the front within the fidelity tolerance)." } ?? "No point on the front is within the fidelity tolerance.")))
            doc.add(.table(["text scale", "audio scale", "Sync-C gain", "fidelity cost", "on front"],
                           front.points.map { [Fmt.g($0.textScale), Fmt.g($0.audioScale), Fmt.f($0.gain, 3), Fmt.f($0.cost, 4), $0.onFront ? (front.chosen == $0 ? "**chosen**" : "yes") : ""] }))
        }

        doc.add(.heading(h, "Failures"))
        let failures = r.failureSummary
        if failures.isEmpty && !r.comparisons.contains(where: { $0.unpairedClips > 0 }) {
            doc.add(.paragraph("No failed units."))
        } else {
            if !failures.isEmpty { doc.add(.table(["arm", "reason", "units"], failures.map { [$0.arm, $0.reason, "\($0.count)"] })) }
            let unpaired = r.comparisons.filter { $0.unpairedClips > 0 }
            if !unpaired.isEmpty {
                doc.add(.paragraph("\(unpaired.count) (pair, step, metric, region) cells left out clips measured in only one arm (at most \(unpaired.map(\.unpairedClips).max()!) clips)."))
            }
        }

        doc.add(.heading(h, "Figures"))
        if embedFigures {
            for f in figures { doc.add(.figure(f, path: "\(figDir)/\(f.name)")) }
        } else {
            doc.add(.list(figures.map { "`\(figDir)/\($0.name)`: \($0.caption)" }))
        }
    }

    /// The Configuration table: the study's typed parameters under human labels, each label
    /// once, unknown values shown as `unknown` (never a default, never a Swift type description).
    static func configurationRows(_ r: StudyReport) -> [[String]] {
        let s = r.study, p = s.parameters ?? StudyParameters()
        let unknown = "unknown"
        func num(_ v: Double?) -> String { v.map { Fmt.g($0) } ?? unknown }
        func list<T>(_ v: [T]?, _ show: (T) -> String) -> String { v.map { $0.map(show).joined(separator: ", ") } ?? unknown }
        var rows: [(String, String)] = [
            ("study", s.name), ("status", s.status.rawValue), ("source", "`\(s.source)`"),
            ("database sha256", s.databaseSHA256.isEmpty ? unknown : "`\(s.databaseSHA256)`"),
            ("teacher", s.teacher), ("model", s.modelName),
        ]
        for setting in p.teacherSettings ?? [] { rows.append(("teacher \(setting.label)", setting.value)) }
        if let res = p.resolution { rows.append(("teacher resolution", "\(res) px")) }
        rows += [
            ("negative branch drops", s.dropMode),
            ("sync model", s.syncModel + (s.syncWeightsSHA256.isEmpty ? "" : " (weights sha256 `\(s.syncWeightsSHA256.prefix(16))…`)")),
            ("sync preset", s.syncPreset.isEmpty ? unknown : s.syncPreset),
        ]
        if p.faceSyncFit == "scored_clips" { rows.append(("FaceSync-CCA fitted on", "the scored clips themselves (a circular score)")) }
        if let sha = p.lpipsWeightsSHA256 { rows.append(("LPIPS weights sha256", "`\(sha.prefix(16))…`")) }
        rows += [
            ("sampler", "N = \(s.numSteps.map(String.init) ?? unknown) steps, shift s = \(num(s.shift)), t_0 clamped to \(num(s.maxT))"),
        ]
        if let times = p.timeList { rows.append(("teacher step times", "[" + times.map { Fmt.g($0) }.joined(separator: ", ") + "]")) }
        rows += [
            ("teacher CFG scale (uncond form)", (r.scale?.label ?? unknown) + " (from \(r.scaleSource))"),
            ("CFG form of the recorded scale", p.cfgForm.map { "\($0.rawValue): \($0.formula)" } ?? unknown),
            ("clips measured", "\(r.measuredClips) of \(s.clips.count)"),
            ("probed steps", "\(s.steps.count) (\(s.steps.map(\.j).min().map(String.init) ?? "-")..\(s.steps.map(\.j).max().map(String.init) ?? "-"))"),
            ("seeds", list(p.seeds) { "\($0)" }),
            ("arms", s.arms.map { "`\($0.label)`" }.joined(separator: ", ")),
            ("metrics", list(p.metrics) { $0 }),
        ]
        if let clips = p.clips { rows.append(("clips", clips.joined(separator: ", "))) }
        if let features = p.audioFeatures { rows.append(("audio features", features)) }
        if let origin = p.source { rows.append(("imported from", origin)) }
        if let rules = p.metricRules, !rules.isEmpty {
            rows.append(("metric rules", rules.keys.sorted().map { "\($0): \(rules[$0]!)" }.joined(separator: ", ")))
        }
        if let base = p.baseline, !base.isEmpty {
            rows.append(("baseline arms", base.keys.sorted().map { "`\($0)` → `\(base[$0]!)`" }.joined(separator: ", ")))
        }
        if let ids = p.experiments, !ids.isEmpty {
            rows.append(("registry experiments", ids.keys.sorted().map { "\($0): `\(ids[$0]!)`" }.joined(separator: ", ")))
        }
        if let only = p.resultsOnly, !only.isEmpty { rows.append(("results-only arms", only.map { "`\($0)`" }.joined(separator: ", "))) }
        if let comparisons = p.comparisons, !comparisons.isEmpty {
            rows.append(("registry comparisons", comparisons.keys.sorted().joined(separator: ", ")))
        }
        if let pre = p.preprocessing { rows.append(("preprocessing", pre.description)) }
        if let version = p.registrySchemaVersion { rows.append(("registry schema version", "\(version)")) }
        rows.append(("bootstrap", "\(r.options.bootstrap.resamples) resamples over clips (seeds averaged within a clip), \(Int(r.options.bootstrap.level * 100))% percentile CIs, seed \(r.options.bootstrap.seed)"))
        // Report-side notes, and a study JSON file's free-form settings: each under its own key
        // unless a typed row above already shows it.
        var seen = Set(rows.map(\.0))
        for k in s.configuration.keys.sorted() where !seen.contains(k) && s.parameters == nil || k == "search" {
            guard !seen.contains(k) else { continue }
            rows.append((k, configurationValue(s.configuration[k]!)))
            seen.insert(k)
        }
        return rows.map { [$0.0, $0.1] }
    }

    /// A configuration value as a reader scans it: a JSON array (a 51-entry `t_list`, the arm
    /// list) keeps its JSON but gains a space after each comma, so it wraps (and folds in HTML)
    /// instead of running on as one unbreakable word.
    static func configurationValue(_ value: String) -> String {
        guard value.hasPrefix("["), let data = value.data(using: .utf8),
              let items = try? JSONSerialization.jsonObject(with: data) as? [Any] else { return value }
        let parts = items.map { item -> String in
            (try? JSONSerialization.data(withJSONObject: item, options: [.sortedKeys, .fragmentsAllowed, .withoutEscapingSlashes]))
                .map { String(decoding: $0, as: UTF8.self) } ?? "\(item)"
        }
        return "[" + parts.joined(separator: ", ") + "]"
    }

    /// The plain-language reading of the tradeoff.
    static func reading(_ r: StudyReport) -> String {
        let rule = r.rule
        var parts: [String] = []
        if r.partial { parts.append("This study is \(r.study.status.rawValue); the reading below is provisional.") }
        guard let res = r.window else {
            return (parts + ["The study has no CFG arm paired with its no-CFG twin, so the report cannot say where guidance helps."]).joined(separator: " ")
        }
        let view = res.deciding.pair.cfg.family == .freshNoise ? "in the DMD view (the teacher re-noising the reference)" :
            (res.deciding.pair.cfg.family == .eulerJump ? "when only the landing prediction is guided" : "along guided trajectories")
        if res.peakGain.isFinite, let ps = res.peakStep {
            parts.append("CFG at \(r.scale?.label ?? "the teacher's scale") raises Sync-C by up to \(Fmt.f(res.peakGain, 2)) \(view), at step \(ps) (t = \(Fmt.f(r.study.t(ofStep: ps) ?? .nan, 3))).")
        }
        if let win = res.window {
            let costs = res.verdicts.filter { win.steps.contains($0.step) }.compactMap { $0.cost?.mean }
            parts.append("The gain is significant and at least \(Int((rule.gainFraction * 100).rounded()))% of that peak from step \(win.firstStep) to \(win.lastStep) (t from \(Fmt.f(win.tHigh, 3)) down to \(Fmt.f(win.tLow, 3))), where the \(rule.fidelityMetric) cost on \(rule.fidelityRegion) stays at or below \(Fmt.f(costs.max() ?? .nan, 4)) (tolerance \(rule.toleranceForm.describe(rule.fidelityTolerance)), peak cost \(Fmt.f(res.peakCost, 4))).")
            let why = { (e: EdgeReason) -> String in
                e.outsideStep.map { "(step \($0)) " + e.failures.map(\.plain).joined(separator: " and ") } ?? "the probed steps end"
            }
            parts.append("Just before the window \(why(win.lowerEdge)); just after it \(why(win.upperEdge)).")
            parts.append("So guide the teacher only for t in [\(Fmt.f(win.tLow, 3)), \(Fmt.f(win.tHigh, 3))]: outside that band CFG buys little sync or costs fidelity.")
        } else {
            parts.append("There is no band where CFG's sync gain is both significant and large while fidelity holds: \(res.noWindowReason ?? "").")
        }
        if let s = r.schedule {
            parts.append("A two-step student that skips CFG at t = \(Fmt.f(s.tList[0], 3)) and lands at t = \(Fmt.f(s.tList[1], 3)) (step \(s.landingStep)) with CFG costs \(Fmt.f(s.fidelityGap, 4)) \(s.fidelityMetric) against its no-CFG twin at that step (limit \(Fmt.f(s.landing.limit, 4))) and stays \(Fmt.f(s.syncGap, 2)) Sync-C below the CFG ceiling.")
            if let rb = r.robustness, let f = rb.firstStep, let l = rb.lastStep {
                parts.append("Over \(rb.resamples) clip resamples the window's first step falls in \(f.lower)..\(f.upper), its last in \(l.lower)..\(l.upper)" + (rb.landingStep.map { " and the landing in \($0.lower)..\($0.upper)" } ?? "") + " (95%).")
            }
        }
        return parts.joined(separator: " ")
    }
}
