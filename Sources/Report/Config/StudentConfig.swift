import Store
import Foundation


/// A student's distillation config in the vocabulary of the Lip Forcing / Self-Forcing / CausVid
/// training configs, with where it came from.
///
/// Keys are declared in the order they are written (Yams keeps the encoding order); JSON is written
/// with sorted keys.
public struct StudentConfig: Codable, Sendable, Equatable {
    /// The trainer's `sync_window_cfg`: the band of t where the sync loss (or CFG) applies.
    public struct SyncWindowCFG: Codable, Sendable, Equatable {
        /// Whether the window is on.
        public var enabled: Bool
        /// Lower end of the band in t.
        public var t_lo: Double
        /// Upper end of the band in t.
        public var t_hi: Double
        /// false: guidance inside [t_lo, t_hi], 1 (no CFG) outside; true: the reverse (an ablation).
        public var reverse: Bool
    }

    /// The trainer's `sample_t_cfg`: how training times are drawn (the teacher's shifted schedule).
    public struct SampleTCFG: Codable, Sendable, Equatable {
        /// `shifted`: times drawn on the shifted grid.
        public var time_dist_type: String
        /// The teacher's timestep shift s.
        public var shift: Double
        /// Smallest time drawn.
        public var min_t: Double
        /// Largest time (the clamp of t_0).
        public var max_t: Double
    }

    /// The teacher's CFG scale at every step, inside the window and out.
    public struct TeacherGuidance: Codable, Sendable, Equatable {
        /// Guidance per teacher step j = 0..N−1 (the guidance interval): w inside the window, the
        /// form's no-CFG value outside.
        public var per_step: [Double]
        /// First and last step of the guided interval.
        public var interval_steps: [Int]
    }

    /// Where the config came from, so it can be traced back to a study and a rule.
    public struct Provenance: Codable, Sendable, Equatable {
        /// The study's name.
        public var study: String
        /// sha256 of the database file.
        public var database_sha256: String
        /// Sync model and preset that scored Sync-C/D.
        public var sync_model: String
        /// Teacher kind and model.
        public var teacher: String
        /// What the negative CFG branch drops.
        public var drop_mode: String
        /// Which arms the landing was read from.
        public var schedule_source: String
        /// The step the student lands at.
        public var landing_step: Int
        /// First and last step of the sync window.
        public var window_steps: [Int]
        /// t_list before rounding to three decimals (to 9 decimals, which YAML keeps exactly).
        public var t_list_exact: [Double]
        /// trajprobe's version.
        public var toolkit_version: String
        /// When the config was written (ISO 8601).
        public var date: String
        /// Where the teacher's CFG scale came from (recorded, the CFG arms, or --guidance).
        public var guidance_source: String
        /// The rule's settings that produced the window and landing.
        public var rule: RuleSettings
        /// The numbers that decided the landing: its cost against the no-CFG twin at the same
        /// step, the limit it met, the pair's peak cost, and its Sync-C and gap to the ceiling.
        public var landing: LandingNumbers
        /// The rule recomputed on clip resamples (absent when not computed).
        public var robustness: RobustnessSummary?
    }

    /// The window rule's settings, as resolved.
    public struct RuleSettings: Codable, Sendable, Equatable {
        /// Metric of the sync gain.
        public var sync_metric: String
        /// Region of the sync gain.
        public var sync_region: String
        /// Fraction of the peak gain a window step must keep.
        public var gain_fraction: Double
        /// Metric of the fidelity cost.
        public var fidelity_metric: String
        /// Region of the fidelity cost.
        public var fidelity_region: String
        /// Tolerance on the fidelity cost.
        public var fidelity_tolerance: Double
        /// How the tolerance is read (`peak`: a fraction of the peak cost).
        public var tolerance_form: String
        /// How the landing step is chosen.
        public var landing_rule: String
        /// Tolerance of the landing rule.
        public var landing_tolerance: Double
    }

    /// The landing step's numbers, for the reader of the config.
    public struct LandingNumbers: Codable, Sendable, Equatable {
        /// Fidelity cost at the landing step.
        public var fidelity_cost: Double
        /// The limit it met.
        public var fidelity_limit: Double
        /// The peak CFG fidelity cost.
        public var peak_fidelity_cost: Double
        /// Sync-C at the landing step.
        public var sync_c: Double
        /// The best Sync-C any CFG arm reached.
        public var sync_c_ceiling: Double
    }

    /// How stable the answer is over clip resamples.
    public struct RobustnessSummary: Codable, Sendable, Equatable {
        /// Clip resamples of the whole rule.
        public var resamples: Int
        /// 95% percentile intervals over the clip resamples (steps), and the share of resamples
        /// that gave exactly the written window / landing.
        public var window_first_step_95: [Int]
        /// 95% range of the window's last step.
        public var window_last_step_95: [Int]
        /// 95% range of the landing step.
        public var landing_step_95: [Int]
        /// Fraction of resamples with the same window.
        public var window_agreement: Double
        /// Fraction of resamples with the same landing step.
        public var landing_agreement: Double
    }

    /// The student's times, from t_0 down to 0.
    public var t_list: [Double]
    /// The student's sampling steps.
    public var student_sample_steps: Int
    /// The CFG form the scales are written in (`uncond` or `cond`).
    public var cfg_form: String
    /// The teacher's CFG scale, in `cfg_form`.
    public var guidance_scale: Double
    /// Two-scale teachers: the text and audio scales (guidance_scale is then the audio scale).
    public var text_guidance_scale: Double?
    /// A two-scale teacher's audio scale, in `cfg_form`.
    public var audio_guidance_scale: Double?
    /// The sync window.
    public var sync_window_cfg: SyncWindowCFG
    /// The training-time distribution.
    public var sample_t_cfg: SampleTCFG
    /// Integer timesteps (0..1000) the student evaluates, as Self-Forcing / CausVid write them:
    /// round(1000 t) for every t_list entry but the final 0, with `warp_denoising_step: false`
    /// because the times are already shifted.
    public var denoising_step_list: [Int]
    /// Whether the trainer warps denoising steps (never: the list is exact).
    public var warp_denoising_step: Bool
    /// The teacher's per-step guidance.
    public var teacher_guidance: TeacherGuidance
    /// Where the config came from.
    public var provenance: Provenance

    /// Builds the config from a window and schedule.
    ///
    /// - parameter date: ISO-8601 date written into the provenance (passed in so output bytes are
    ///   reproducible in tests).
    public init(study: StudyData, window: SyncWindow, schedule: TwoStepSchedule, scale: GuidanceScale,
                rule: WindowRule, robustness: RuleRobustness?, guidanceSource: String = "",
                form: CFGForm, minT: Double = 0, date: String) throws(ReportError) {
        let sampler = try study.sampler(neededFor: "the student config's sample_t_cfg and per-step guidance")
        let w = scale.w
        if case .pair(let t, let a) = scale {
            text_guidance_scale = form.scale(fromUncond: t); audio_guidance_scale = form.scale(fromUncond: a)
        }
        t_list = schedule.tList.map { ($0 * 1000).rounded() / 1000 }
        student_sample_steps = schedule.tList.count - 1
        cfg_form = form.rawValue
        guidance_scale = form.scale(fromUncond: w)
        sync_window_cfg = SyncWindowCFG(enabled: true, t_lo: (window.tLow * 1000).rounded() / 1000,
                                        t_hi: (window.tHigh * 1000).rounded() / 1000, reverse: false)
        sample_t_cfg = SampleTCFG(time_dist_type: "shifted", shift: sampler.shift, min_t: minT, max_t: sampler.maxT)
        denoising_step_list = schedule.tList.dropLast().map(ShiftedSchedule.integerTimestep)
        warp_denoising_step = false
        let inside = form.scale(fromUncond: w), outside = form.scale(fromUncond: 1)
        teacher_guidance = TeacherGuidance(
            per_step: (0..<sampler.numSteps).map { $0 >= window.firstStep && $0 <= window.lastStep ? inside : outside },
            interval_steps: [window.firstStep, window.lastStep])
        provenance = Provenance(study: study.name, database_sha256: study.databaseSHA256,
                                sync_model: [study.syncModel, study.syncPreset].filter { !$0.isEmpty }.joined(separator: " "),
                                teacher: [study.teacher, study.modelName].filter { !$0.isEmpty }.joined(separator: " "),
                                drop_mode: study.dropMode, schedule_source: schedule.source.rawValue,
                                landing_step: schedule.landingStep, window_steps: [window.firstStep, window.lastStep],
                                t_list_exact: schedule.tList.map { ($0 * 1e9).rounded() / 1e9 }, toolkit_version: study.toolkitVersion, date: date,
                                guidance_source: guidanceSource,
                                rule: RuleSettings(sync_metric: rule.syncMetric, sync_region: rule.syncRegion, gain_fraction: rule.gainFraction,
                                                   fidelity_metric: rule.fidelityMetric, fidelity_region: rule.fidelityRegion,
                                                   fidelity_tolerance: rule.fidelityTolerance, tolerance_form: rule.toleranceForm.rawValue,
                                                   landing_rule: "highest Sync-C among window steps whose cost against the no-CFG twin at the same step is within the landing tolerance",
                                                   landing_tolerance: rule.landingTolerance),
                                landing: LandingNumbers(fidelity_cost: schedule.fidelityGap, fidelity_limit: schedule.landing.limit,
                                                        peak_fidelity_cost: schedule.peakCost, sync_c: schedule.landing.sync.mean,
                                                        sync_c_ceiling: schedule.syncCeiling),
                                robustness: robustness.flatMap { r in
                                    guard let f = r.firstStep, let l = r.lastStep else { return nil }
                                    return RobustnessSummary(resamples: r.resamples, window_first_step_95: [f.lower, f.upper],
                                                             window_last_step_95: [l.lower, l.upper],
                                                             landing_step_95: r.landingStep.map { [$0.lower, $0.upper] } ?? [],
                                                             window_agreement: r.windowAgreement, landing_agreement: r.landingStep?.agreement ?? 0)
                                })
    }

    /// YAML in block style with flow lists (`t_list: [0.999, 0.769, 0.0]`), numbers in plain
    /// decimal: YAML 1.1 loaders (PyYAML, OmegaConf) read `5e+0` as a string, so no exponent form.
    public func yaml() throws(ReportError) -> String {
        func num(_ x: Double) -> String {
            guard x.isFinite else { return ".nan" }
            if x == x.rounded(), abs(x) < 1e15 { return "\(Int64(x)).0" }
            let s = "\(x)"
            return s.contains("e") ? String(format: "%.12f", x).replacingOccurrences(of: "0+$", with: "", options: .regularExpression) : s
        }
        func list(_ xs: [Double]) -> String { "[" + xs.map(num).joined(separator: ", ") + "]" }
        func ints(_ xs: [Int]) -> String { "[" + xs.map(String.init).joined(separator: ", ") + "]" }
        func str(_ s: String) -> String {
            "\"" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
                .replacingOccurrences(of: "\n", with: "\\n") + "\""
        }
        func bool(_ b: Bool) -> String { b ? "true" : "false" }
        let p = provenance
        let lines = [
            "# trajprobe schedule for study \(str(p.study)); CFG form \(cfg_form): \(CFGForm(rawValue: cfg_form)!.formula)",
            "t_list: \(list(t_list))",
            "student_sample_steps: \(student_sample_steps)",
            "cfg_form: \(str(cfg_form))",
            "guidance_scale: \(num(guidance_scale))",
            "sync_window_cfg:",
            "  enabled: \(bool(sync_window_cfg.enabled))",
            "  t_lo: \(num(sync_window_cfg.t_lo))",
            "  t_hi: \(num(sync_window_cfg.t_hi))",
            "  reverse: \(bool(sync_window_cfg.reverse))",
            "sample_t_cfg:",
            "  time_dist_type: \(str(sample_t_cfg.time_dist_type))",
            "  shift: \(num(sample_t_cfg.shift))",
            "  min_t: \(num(sample_t_cfg.min_t))",
            "  max_t: \(num(sample_t_cfg.max_t))",
            "denoising_step_list: \(ints(denoising_step_list))",
            "warp_denoising_step: \(bool(warp_denoising_step))",
            "teacher_guidance:",
            "  per_step: \(list(teacher_guidance.per_step))",
            "  interval_steps: \(ints(teacher_guidance.interval_steps))",
            "provenance:",
            "  study: \(str(p.study))",
            "  database_sha256: \(str(p.database_sha256))",
            "  sync_model: \(str(p.sync_model))",
            "  teacher: \(str(p.teacher))",
            "  drop_mode: \(str(p.drop_mode))",
            "  schedule_source: \(str(p.schedule_source))",
            "  landing_step: \(p.landing_step)",
            "  window_steps: \(ints(p.window_steps))",
            "  t_list_exact: \(list(p.t_list_exact))",
            "  toolkit_version: \(str(p.toolkit_version))",
            "  date: \(str(p.date))",
            "  guidance_source: \(str(p.guidance_source))",
            "  rule:",
            "    sync_metric: \(str(p.rule.sync_metric))",
            "    sync_region: \(str(p.rule.sync_region))",
            "    gain_fraction: \(num(p.rule.gain_fraction))",
            "    fidelity_metric: \(str(p.rule.fidelity_metric))",
            "    fidelity_region: \(str(p.rule.fidelity_region))",
            "    fidelity_tolerance: \(num(p.rule.fidelity_tolerance))",
            "    tolerance_form: \(str(p.rule.tolerance_form))",
            "    landing_rule: \(str(p.rule.landing_rule))",
            "    landing_tolerance: \(num(p.rule.landing_tolerance))",
            "  landing:",
            "    fidelity_cost: \(num(p.landing.fidelity_cost))",
            "    fidelity_limit: \(num(p.landing.fidelity_limit))",
            "    peak_fidelity_cost: \(num(p.landing.peak_fidelity_cost))",
            "    sync_c: \(num(p.landing.sync_c))",
            "    sync_c_ceiling: \(num(p.landing.sync_c_ceiling))",
        ] + (p.robustness.map { r in [
            "  robustness:",
            "    resamples: \(r.resamples)",
            "    window_first_step_95: \(ints(r.window_first_step_95))",
            "    window_last_step_95: \(ints(r.window_last_step_95))",
            "    landing_step_95: \(ints(r.landing_step_95))",
            "    window_agreement: \(num(r.window_agreement))",
            "    landing_agreement: \(num(r.landing_agreement))",
        ] } ?? [])
        let scales = text_guidance_scale.flatMap { t in audio_guidance_scale.map { a in ["text_guidance_scale: \(num(t))", "audio_guidance_scale: \(num(a))"] } } ?? []
        let withScales = lines.prefix(5) + scales + lines.dropFirst(5)
        return withScales.joined(separator: "\n") + "\n"
    }

    /// The config as sorted-key JSON (the schedule file's JSON twin).
    public func json() throws(ReportError) -> String {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        do { return String(decoding: try enc.encode(self), as: UTF8.self) + "\n" } catch {
            throw .writeFailed(file: "schedule.json", problem: "\(error)")
        }
    }

    /// `config.model.<key> = <value>` lines, ready to paste into a Python training config.
    public func python(prefix: String = "config.model") -> String {
        func list(_ xs: [Double]) -> String { "[" + xs.map(py).joined(separator: ", ") + "]" }
        func py(_ x: Double) -> String { x == x.rounded() && abs(x) < 1e15 ? "\(Int64(x)).0" : "\(x)" }
        func str(_ s: String) -> String { "\"" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\"" }
        var lines = ["# trajprobe schedule for study \(str(provenance.study)), database sha256 \(provenance.database_sha256), sync model \(provenance.sync_model), \(provenance.date)",
                     "# CFG form \(cfg_form): \(CFGForm(rawValue: cfg_form)!.formula)"]
        lines.append("\(prefix).t_list = \(list(t_list))")
        lines.append("\(prefix).student_sample_steps = \(student_sample_steps)")
        lines.append("\(prefix).cfg_form = \(str(cfg_form))")
        lines.append("\(prefix).guidance_scale = \(py(guidance_scale))")
        lines.append("\(prefix).sync_window_cfg = dict(enabled=\(sync_window_cfg.enabled ? "True" : "False"), t_lo=\(py(sync_window_cfg.t_lo)), t_hi=\(py(sync_window_cfg.t_hi)), reverse=\(sync_window_cfg.reverse ? "True" : "False"))")
        lines.append("\(prefix).sample_t_cfg = dict(time_dist_type=\(str(sample_t_cfg.time_dist_type)), shift=\(py(sample_t_cfg.shift)), min_t=\(py(sample_t_cfg.min_t)), max_t=\(py(sample_t_cfg.max_t)))")
        lines.append("\(prefix).denoising_step_list = [\(denoising_step_list.map(String.init).joined(separator: ", "))]")
        lines.append("\(prefix).warp_denoising_step = \(warp_denoising_step ? "True" : "False")")
        lines.append("\(prefix).teacher_guidance_per_step = \(list(teacher_guidance.per_step))")
        let r = provenance.rule
        lines.append("# rule: \(r.sync_metric)/\(r.sync_region) gain >= \(py(r.gain_fraction)) x peak; \(r.fidelity_metric)/\(r.fidelity_region) cost <= \(py(r.fidelity_tolerance)) (\(r.tolerance_form)); landing tolerance \(py(r.landing_tolerance))")
        if let rb = provenance.robustness {
            lines.append("# robustness (\(rb.resamples) clip resamples): first step 95% \(rb.window_first_step_95), last step 95% \(rb.window_last_step_95), landing 95% \(rb.landing_step_95), window agreement \(py(rb.window_agreement)), landing agreement \(py(rb.landing_agreement))")
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
