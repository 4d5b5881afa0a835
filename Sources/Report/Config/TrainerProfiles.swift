import Foundation
import Store

/// The distillation codebases whose configs trajprobe writes in their own vocabulary.
///
/// Each one names the schedule, the shift and the teacher's CFG differently; what every profile
/// writes was read off the codebase's config classes and the code that consumes them (file paths
/// in ``TrainerProfile``'s comments), so the file loads in that trainer without hand edits.
public enum TrainerTarget: String, Codable, Sendable, CaseIterable {
    /// Lip Forcing (FastGen-based Python configs, `config.model.…`), with Sync-Window DMD.
    case lipforcing
    /// Self-Forcing (OmegaConf YAML merged over `configs/default_config.yaml`).
    case selfForcing = "self-forcing"
    /// CausVid (OmegaConf YAML).
    case causvid
    /// FastVideo's modular trainer (`fastvideo/train`, YAML read by `yaml.safe_load`).
    case fastvideo
    /// NVlabs FastGen (Python configs, `config.model.…`); Lip Forcing without the sync window.
    case fastgen
}

/// A few-step student's schedule: what a trainer profile writes.
public struct StudentSchedule: Codable, Sendable, Equatable {
    /// Exact times `[t_0, …, t_{N-1}, 0]` (not rounded).
    public var tList: [Double]
    /// Guidance of the teacher at each student step (uncond form w, 1 = no CFG).
    public var guidance: [Double]
    /// How the student moves between its steps.
    public var transition: StudentScheduleKnobs.Transition
    /// Where it came from, for the header comment ("two-step rule, landing step 30").
    public var source: String

    /// A schedule of `tList` with the teacher's guidance at each step.
    public init(tList: [Double], guidance: [Double], transition: StudentScheduleKnobs.Transition, source: String) {
        self.tList = tList; self.guidance = guidance; self.transition = transition; self.source = source
    }

    /// The two-step rule's schedule in a config: no CFG at t_0, the teacher's w at the landing
    /// step, Euler transition (the rule measured the landing on `euler_jump` arms).
    public init(twoStep config: StudentConfig) {
        let w = CFGForm(rawValue: config.cfg_form).map { $0.convert(config.guidance_scale, to: .uncond) } ?? config.guidance_scale
        self.init(tList: config.provenance.t_list_exact, guidance: [1, w], transition: .euler,
                  source: "two-step rule (\(config.provenance.schedule_source) arms), landing step \(config.provenance.landing_step)")
    }

    /// The student's sampling steps.
    public var steps: Int { tList.count - 1 }
}

/// What a profile reads of a study besides the schedule: the teacher's scale, the sampler, the
/// sync window, provenance. From a ``StudentConfig`` (the two-step rule's), or from the report
/// itself when the rule found no landing (a searched schedule needs none).
public struct ProfileContext: Sendable, Equatable {
    /// The teacher's CFG scale, uncond form.
    public var w: Double
    /// The teacher's timestep shift s.
    public var shift: Double
    /// Smallest training time.
    public var minT: Double
    /// Largest training time (the clamp of t_0).
    public var maxT: Double
    /// `shifted`.
    public var timeDistType: String
    /// Nil when the study has no sync window.
    public var window: StudentConfig.SyncWindowCFG?
    /// First and last step of the window (empty without one).
    public var windowSteps: [Int]
    /// The study's name.
    public var study: String
    /// sha256 of its database.
    public var databaseSHA256: String
    /// Sync model and preset.
    public var syncModel: String
    /// When the profile was written.
    public var date: String

    /// The context of a two-step rule's config.
    public init(config: StudentConfig) {
        w = CFGForm(rawValue: config.cfg_form).map { $0.convert(config.guidance_scale, to: .uncond) } ?? config.guidance_scale
        shift = config.sample_t_cfg.shift; minT = config.sample_t_cfg.min_t; maxT = config.sample_t_cfg.max_t
        timeDistType = config.sample_t_cfg.time_dist_type
        window = config.sync_window_cfg; windowSteps = config.provenance.window_steps
        study = config.provenance.study; databaseSHA256 = config.provenance.database_sha256
        syncModel = config.provenance.sync_model; date = config.provenance.date
    }

    /// The context of a report's window; throws when the study does not record its schedule.
    public init(report: StudyReport, minT: Double = 0, date: String) throws(ReportError) {
        let s = report.study
        let sampler = try s.sampler(neededFor: "a trainer profile's sample_t_cfg")
        w = report.guidanceScale; shift = sampler.shift; self.minT = minT; maxT = sampler.maxT; timeDistType = "shifted"
        if let win = report.window?.window {
            window = StudentConfig.SyncWindowCFG(enabled: true, t_lo: (win.tLow * 1000).rounded() / 1000,
                                                 t_hi: (win.tHigh * 1000).rounded() / 1000, reverse: false)
            windowSteps = [win.firstStep, win.lastStep]
        } else {
            window = nil; windowSteps = []
        }
        study = s.name; databaseSHA256 = s.databaseSHA256
        syncModel = [s.syncModel, s.syncPreset].filter { !$0.isEmpty }.joined(separator: " "); self.date = date
    }
}

/// A config tree with comments, written as YAML (block maps, flow lists) or as Python
/// assignment lines that keep every key and its nesting.
public indirect enum ConfigValue: Sendable, Equatable {
    /// A float, written as a plain decimal that YAML and Python read back as a float (`5.0`, never `5e+0`).
    case number(Double)
    /// A whole number, written without a decimal point, kept apart from ``number(_:)`` so trainers read an int.
    case integer(Int)
    /// A flag, written in each format's own spelling (`true` in YAML, `True` in Python).
    case boolean(Bool)
    /// A string, always double-quoted and escaped, so values such as `yes` or `1e-3` stay strings.
    case text(String)
    /// A sequence, written as a flow list (`[a, b]`).
    case list([ConfigValue])
    /// Nested keys, kept in the order given so the written config reads like the trainer's own.
    case map([ConfigEntry])
}

/// One key of a trainer's config, with its value and an optional comment.
public struct ConfigEntry: Sendable, Equatable {
    /// The key as the trainer spells it.
    public var key: String
    /// Its value.
    public var value: ConfigValue
    /// Written after the value on the same line (leaves) or after the key (maps).
    public var comment: String?
    /// An entry `key: value`, commented when `comment` is given.
    public init(_ key: String, _ value: ConfigValue, _ comment: String? = nil) {
        self.key = key; self.value = value; self.comment = comment
    }
}

/// One trainer's config for a student schedule, read from a ``StudentConfig`` (the study's
/// window, teacher scale, shift and provenance) and the schedule to write.
///
/// Conventions, per target (t is trajprobe's shifted time in [0, 1], w the uncond-form scale):
/// - `lipforcing` / `fastgen`: `model.sample_t_cfg.t_list` (t, ending in 0), `student_sample_steps`,
///   `student_sample_type` (`sde` re-noises, `ode` takes the Euler jump), `guidance_scale` = w
///   (`x0 + (w − 1)(x0 − x0_neg)` in `methods/distribution_matching/dmd2.py`); Lip Forcing alone
///   has `sync_window_cfg {enabled, t_lo, t_hi, reverse}` on the DMD re-noise time.
/// - `self-forcing`: `denoising_step_list` in 0..1000 with `warp_denoising_step: true` (its
///   `model/base.py` maps k to `timesteps[1000 − k]` of the generator's scheduler, whose shift is
///   `model_kwargs.timestep_shift`), so k = round(1000 u) with t = s u / (1 + (s − 1) u); the list
///   has no trailing 0 under warping; `timestep_shift` (the critic's) = s; `guidance_scale` = w − 1
///   (`cond + g (cond − uncond)` in `model/dmd.py`).
/// - `causvid`: `denoising_step_list` = round(1000 t) with `warp_denoising_step: false` (its
///   generator scheduler's shift is fixed at 8 in `causvid/models/wan/wan_wrapper.py`, so warped
///   steps would follow shift 8, not the study's) and the trailing 0 its causal inference asserts;
///   `real_guidance_scale` = w − 1; `timestep_shift` = s.
/// - `fastvideo`: `method.dmd_denoising_steps` with `method.warp_denoising_step: true` (warped as
///   Self-Forcing), `method.real_score_guidance_scale` = w (`uncond + (cond − uncond) g` in
///   `fastvideo/train/methods/distribution_matching/dmd2.py`), `method.student_sample_type`,
///   `pipeline.flow_shift` = s.
///
/// The first step starts from pure noise: the 0..1000 trainers write it 1000 (t = 1) where
/// trajprobe's t_0 is max_t (0.999). Per-step teacher guidance exists in none of these
/// trainers: every profile names it in a comment, with what the trainer does instead.
public struct TrainerProfile: Sendable, Equatable {
    /// The trainer written for.
    public let target: TrainerTarget
    /// The schedule written.
    public let schedule: StudentSchedule
    /// Comment lines before the config (without `# `).
    public let header: [String]
    /// The config's keys, in the trainer's nesting.
    public let entries: [ConfigEntry]
    /// Comment lines after the config: what the trainer has no key for.
    public let lacks: [String]

    /// The two-step rule's schedule, or `schedule`, with the study's settings from `config`.
    public init(target: TrainerTarget, config: StudentConfig, schedule: StudentSchedule? = nil) {
        self.init(target: target, context: ProfileContext(config: config), schedule: schedule ?? StudentSchedule(twoStep: config))
    }

    /// `schedule` for `target`, with the study's settings from `context`.
    public init(target: TrainerTarget, context: ProfileContext, schedule: StudentSchedule) {
        self.target = target
        self.schedule = schedule
        let w = context.w
        let s = context.shift
        let round3 = { (x: Double) in (x * 1000).rounded() / 1000 }
        let tList = schedule.tList.map(round3)
        let guided = zip(schedule.tList.dropLast(), schedule.guidance).map { "t=\(Fmt.f($0.0, 3)): w=\(Fmt.g($0.1))" }.joined(separator: ", ")
        let perStep = "per-student-step teacher guidance (this schedule: \(guided))"
        let window = context.window.map { "t in [\(Fmt.f($0.t_lo, 3)), \(Fmt.f($0.t_hi, 3))], teacher steps \(context.windowSteps.map(String.init).joined(separator: ".."))" }
            ?? "none: the study's rule found no window"
        let sampleType = schedule.transition == .renoise ? "sde" : "ode"
        var header = [
            "trajprobe → \(target.rawValue): \(schedule.steps)-step student from \(schedule.source)",
            "study \"\(context.study)\", database sha256 \(context.databaseSHA256), sync model \(context.syncModel), \(context.date)",
        ]
        var lacks: [String] = []
        var entries: [ConfigEntry] = []
        let ints = { (xs: [Int]) in ConfigValue.list(xs.map(ConfigValue.integer)) }
        let numbers = { (xs: [Double]) in ConfigValue.list(xs.map(ConfigValue.number)) }

        switch target {
        case .lipforcing, .fastgen:
            var model: [ConfigEntry] = [
                ConfigEntry("guidance_scale", .number(w), "neg + w (cond - neg): x0 + (w - 1)(x0 - x0_neg), methods/distribution_matching/dmd2.py"),
            ]
            if target == .lipforcing {
                let win = context.window ?? StudentConfig.SyncWindowCFG(enabled: false, t_lo: 0, t_hi: 1, reverse: false)
                model.append(ConfigEntry("sync_window_cfg", .map([
                    ConfigEntry("enabled", .boolean(win.enabled)),
                    ConfigEntry("t_lo", .number(win.t_lo)),
                    ConfigEntry("t_hi", .number(win.t_hi)),
                    ConfigEntry("reverse", .boolean(win.reverse)),
                ]), context.window == nil ? "disabled: the study's rule found no sync window" : "CFG only when the DMD re-noise t is inside [t_lo, t_hi]"))
            } else {
                lacks.append("FastGen has no sync window: guidance_scale applies at every DMD re-noise t; trajprobe's sync window (\(window)) is Lip Forcing's sync_window_cfg.")
            }
            model += [
                ConfigEntry("student_sample_steps", .integer(schedule.steps)),
                ConfigEntry("student_sample_type", .text(sampleType), sampleType == "sde" ? "re-noise between steps" : "Euler jump between steps (eps from x0 and x_t)"),
                ConfigEntry("sample_t_cfg", .map([
                    ConfigEntry("time_dist_type", .text(context.timeDistType)),
                    ConfigEntry("shift", .number(s)),
                    ConfigEntry("min_t", .number(context.minT)),
                    ConfigEntry("max_t", .number(context.maxT)),
                    ConfigEntry("t_list", numbers(tList), "len = student_sample_steps + 1"),
                ])),
            ]
            entries = [ConfigEntry("model", .map(model))]
            lacks.append("\(target == .lipforcing ? "Lip Forcing" : "FastGen") has no \(perStep): its student samples without CFG and the teacher's guidance is gated by the re-noise t instead.")

        case .selfForcing:
            let k = TrainerProfile.warpedSteps(schedule.tList, shift: s)
            entries = [
                ConfigEntry("denoising_step_list", ints(k), "0..1000, warped: t = s u / (1 + (s - 1) u) at u = k / 1000; no trailing 0 when warping"),
                ConfigEntry("warp_denoising_step", .boolean(true)),
                ConfigEntry("timestep_shift", .number(s), "the critic's timestep shift (model/dmd.py)"),
                ConfigEntry("model_kwargs", .map([
                    ConfigEntry("timestep_shift", .number(s), "the generator scheduler's shift, which the warp reads (its default is 8)"),
                ])),
                ConfigEntry("guidance_scale", .number(CFGForm.cond.scale(fromUncond: w)), "cond + g (cond - uncond), g = w - 1 = \(Fmt.g(w)) - 1 (model/dmd.py)"),
            ]
            lacks += ["Self-Forcing has no sync window or guidance interval: guidance_scale applies at every re-noise t; trajprobe's sync window (\(window)) cannot be expressed.",
                      "Self-Forcing has no \(perStep)."]
            if schedule.transition == .euler && schedule.steps > 1 {
                lacks.append("Self-Forcing's student re-noises between steps; this schedule was measured with the Euler jump.")
            }

        case .causvid:
            let k = TrainerProfile.directSteps(schedule.tList)
            entries = [
                ConfigEntry("denoising_step_list", ints(k + [0]), "round(1000 t); the trailing 0 is asserted by causal inference"),
                ConfigEntry("warp_denoising_step", .boolean(false), "CausVid's generator scheduler shift is fixed at 8: the times are written already shifted"),
                ConfigEntry("num_train_timestep", .integer(1000)),
                ConfigEntry("timestep_shift", .number(s), "the critic's timestep shift (causvid/dmd.py)"),
                ConfigEntry("real_guidance_scale", .number(CFGForm.cond.scale(fromUncond: w)), "cond + g (cond - uncond), g = w - 1 = \(Fmt.g(w)) - 1 (causvid/dmd.py)"),
            ]
            lacks += ["CausVid has no sync window or guidance interval: real_guidance_scale applies at every re-noise t; trajprobe's sync window (\(window)) cannot be expressed.",
                      "CausVid has no \(perStep)."]
            if schedule.transition == .euler && schedule.steps > 1 {
                lacks.append("CausVid's student re-noises between steps; this schedule was measured with the Euler jump.")
            }

        case .fastvideo:
            let k = TrainerProfile.warpedSteps(schedule.tList, shift: s)
            entries = [
                ConfigEntry("method", .map([
                    ConfigEntry("dmd_denoising_steps", ints(k), "0..1000, warped as Self-Forcing's"),
                    ConfigEntry("warp_denoising_step", .boolean(true)),
                    ConfigEntry("real_score_guidance_scale", .number(w), "uncond + (cond - uncond) w in fastvideo/train; the legacy --real_score_guidance_scale flag is g = w - 1"),
                    ConfigEntry("student_sample_type", .text(sampleType), "read by the self_forcing method"),
                ])),
                ConfigEntry("pipeline", .map([
                    ConfigEntry("flow_shift", .number(s)),
                ])),
            ]
            header.append("merge under your run config's method: and pipeline: keys; the warp reads the student model's scheduler: set models.student.flow_shift to \(Fmt.g(s)) as well (its default is 3)")
            lacks += ["FastVideo has no sync window or guidance interval (min/max_timestep_ratio bound the score timestep, they do not gate CFG); trajprobe's sync window (\(window)) cannot be expressed.",
                      "FastVideo has no \(perStep)."]
        }
        self.header = header
        self.entries = entries
        self.lacks = lacks
    }

    // MARK: - Time conversions

    /// Steps on the 0..1000 scale under `warp_denoising_step: true`: k = round(1000 u) where
    /// t = s u / (1 + (s − 1) u); the first step (pure noise) is 1000; the final 0 is dropped.
    public static func warpedSteps(_ tList: [Double], shift s: Double) -> [Int] {
        tList.dropLast().enumerated().map { i, t in
            i == 0 ? 1000 : Int((1000 * t / (s - (s - 1) * t)).rounded())
        }
    }

    /// Steps on the 0..1000 scale without warping: round(1000 t), the first (pure noise) 1000.
    public static func directSteps(_ tList: [Double]) -> [Int] {
        tList.dropLast().enumerated().map { i, t in i == 0 ? 1000 : Int((1000 * t).rounded()) }
    }

    // MARK: - Writers

    /// The config as YAML, header and trailing comments included.
    public func yaml() -> String {
        var lines = header.map { "# " + $0 }
        func write(_ entries: [ConfigEntry], indent: String) {
            for e in entries {
                let comment = e.comment.map { "  # " + $0 } ?? ""
                if case .map(let inner) = e.value {
                    lines.append("\(indent)\(e.key):\(comment)")
                    write(inner, indent: indent + "  ")
                } else {
                    lines.append("\(indent)\(e.key): \(ConfigLiteral.yaml(e.value))\(comment)")
                }
            }
        }
        write(entries, indent: "")
        lines += lacks.map { "# lacks: " + $0 }
        return lines.joined(separator: "\n") + "\n"
    }

    /// `prefix.key.sub = value` for every leaf of the YAML, in its order, the same comments.
    public func python(prefix: String = "config") -> String {
        var lines = header.map { "# " + $0 }
        func write(_ entries: [ConfigEntry], path: String) {
            for e in entries {
                let p = path + "." + e.key
                if case .map(let inner) = e.value {
                    if let c = e.comment { lines.append("# \(e.key): \(c)") }
                    write(inner, path: p)
                } else {
                    lines.append("\(p) = \(ConfigLiteral.python(e.value))" + (e.comment.map { "  # " + $0 } ?? ""))
                }
            }
        }
        write(entries, path: prefix)
        lines += lacks.map { "# lacks: " + $0 }
        return lines.joined(separator: "\n") + "\n"
    }
}

/// Scalars as YAML 1.1 and Python read them back to the same value: plain decimals (PyYAML and
/// OmegaConf read `5e+0` as a string), `5.0` for whole floats so they stay floats.
enum ConfigLiteral {
    static func number(_ x: Double) -> String {
        guard x.isFinite else { return x.isNaN ? ".nan" : (x > 0 ? ".inf" : "-.inf") }
        if x == x.rounded(), abs(x) < 1e15 { return "\(Int64(x)).0" }
        let s = "\(x)"
        guard s.contains("e") else { return s }
        var d = String(format: "%.17f", x)
        while d.hasSuffix("0") { d.removeLast() }
        return d
    }

    static func quoted(_ s: String) -> String {
        "\"" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n") + "\""
    }

    static func yaml(_ v: ConfigValue) -> String {
        switch v {
        case .number(let x): return number(x)
        case .integer(let n): return String(n)
        case .boolean(let b): return b ? "true" : "false"
        case .text(let s): return quoted(s)
        case .list(let xs): return "[" + xs.map(yaml).joined(separator: ", ") + "]"
        case .map(let entries): return "{" + entries.map { "\($0.key): \(yaml($0.value))" }.joined(separator: ", ") + "}"
        }
    }

    static func python(_ v: ConfigValue) -> String {
        switch v {
        case .number(let x):
            guard x.isFinite else { return x.isNaN ? "float(\"nan\")" : (x > 0 ? "float(\"inf\")" : "float(\"-inf\")") }
            return number(x)
        case .integer(let n): return String(n)
        case .boolean(let b): return b ? "True" : "False"
        case .text(let s): return quoted(s)
        case .list(let xs): return "[" + xs.map(python).joined(separator: ", ") + "]"
        case .map(let entries): return "dict(" + entries.map { "\($0.key)=\(python($0.value))" }.joined(separator: ", ") + ")"
        }
    }
}
