import ArgumentParser
import Foundation
import Report
import Store

extension CFGForm: ExpressibleByArgument {}
extension TrainerTarget: ExpressibleByArgument {}

extension ToleranceForm: ExpressibleByArgument {}

/// Options shared by `report`, `schedule` and `search`: the study, the window rule and the statistics.
struct StudyAnalysisOptions: ParsableArguments {
    /// `--study NAME` (and its old spellings).
    @OptionGroup var selection: StudySelection

    @Option(name: .customLong("guidance"), help: ArgumentHelp("The teacher's CFG scale whose arms decide: w (uncond form), or text=T,audio=A for two-scale teachers. Default: the scale the study recorded, else the one its CFG arms carry.", valueName: "w"))
    var guidance: String?

    @Option(help: ArgumentHelp("Arm family that decides the window: fresh_noise, euler_jump or trajectory (default: fresh_noise, then euler_jump, then trajectory).", valueName: "family"))
    var windowArms: String?

    @Option(help: ArgumentHelp("Region of the Sync-C values (default: the region the study holds them on: face, else mouth, else full).", valueName: "region"))
    var syncRegion: String?

    @Option(help: ArgumentHelp("A window step's Sync-C gain must be at least this fraction of the peak gain (default 0.4: real teachers' gain decays slowly at low t and stays clearly resolved past its half-maximum).", valueName: "f"))
    var gainFraction: Double = WindowRule.defaultGainFraction

    @Option(help: ArgumentHelp("Fidelity metric of the cost: lpips, ssim, mse (pixel_mse), psnr or lmd (default: LPIPS-mouth when held, else SSIM-mouth, else SSIM-full).", valueName: "metric"))
    var fidelityMetric: String?

    @Option(help: ArgumentHelp("Region of the fidelity metric, e.g. mouth, upper_face or full (default: mouth before full).", valueName: "region"))
    var fidelityRegion: String?

    @Option(help: ArgumentHelp("Largest fidelity cost inside the window, as a fraction of the peak CFG cost (default 0.5, the half-maximum; see --tolerance-form).", valueName: "x"))
    var fidelityTolerance: Double = WindowRule.defaultFidelityTolerance

    @Option(help: ArgumentHelp("How --fidelity-tolerance and --landing-tolerance read: peak (fraction of the peak CFG cost; scale-free, the default), relative (fraction of the no-CFG value at the same step) or absolute (metric units).", valueName: "form"))
    var toleranceForm: ToleranceForm = .peak

    @Option(help: ArgumentHelp("Largest fidelity cost of the landing step against its no-CFG twin at the same step (default 0.15 of the peak cost).", valueName: "x"))
    var landingTolerance: Double = WindowRule.defaultLandingTolerance

    @Option(help: ArgumentHelp("Average each step's gain and cost over its probed neighbours within this many steps (default 1; 0 reads every step on its own).", valueName: "k"))
    var smoothing: Int = WindowRule.defaultSmoothing

    @Option(help: ArgumentHelp("Arm that distance metrics are normalised against per step, e.g. 'fresh_noise w=1' (default: the deciding no-CFG arm).", valueName: "arm"))
    var baseline: String?

    @Option(help: ArgumentHelp("Bootstrap resamples of every CI (at least 2000).", valueName: "n"))
    var resamples: Int = 2000

    @Option(help: ArgumentHelp("Clip resamples of the whole rule for the robustness of the window and landing (0 skips it).", valueName: "n"))
    var ruleResamples: Int = RuleRobustness.defaultResamples

    @Option(help: ArgumentHelp("Bootstrap seed (same seed, same CIs).", valueName: "n"))
    var seed: UInt64 = 20_260_611

    @Option(help: ArgumentHelp("The teacher's sampler steps N, for a study that does not record its schedule (an imported CSV or registry study); give it with --shift and --max-t. A study's recorded values win.", valueName: "N"))
    var numSteps: Int?

    @Option(help: ArgumentHelp("The teacher's timestep shift s (Wan2.1: 5), with --num-steps and --max-t.", valueName: "s"))
    var shift: Double?

    @Option(help: ArgumentHelp("The teacher's first time t_0 (Wan2.1: 0.999), with --num-steps and --shift.", valueName: "t"))
    var maxT: Double?

    /// The study name given (`--study`, or an old spelling with its note on stderr).
    func studyName() throws -> String? {
        let resolved = try selection.resolve(database: nil, studyMayBeDatabase: false)
        Grammar.warn(resolved.notes)
        return resolved.study
    }

    func validate() throws {
        guard ruleResamples >= 0 else { throw ValidationError("--rule-resamples \(ruleResamples) must be ≥ 0") }
        _ = try sampler()
    }

    /// The schedule --num-steps, --shift and --max-t give (all three, or none: half a schedule
    /// would be a guess), checked by the one schedule formula.
    func sampler() throws -> ShiftedSchedule? {
        let given = [numSteps == nil, shift == nil, maxT == nil]
        if given.allSatisfy({ $0 }) { return nil }
        guard let n = numSteps, let s = shift, let m = maxT else {
            throw ValidationError("give --num-steps, --shift and --max-t together (the study's schedule, when it does not record it)")
        }
        do { return try ShiftedSchedule(numSteps: n, shift: s, maxT: m) } catch {
            throw ValidationError("--num-steps/--shift/--max-t: \(error.description)")
        }
    }

    /// The options as the Report library takes them (a value it refuses is a usage error).
    func reportOptions() throws -> ReportOptions {
        var prefer: ArmFamily?
        if let name = windowArms {
            guard let f = ArmFamily(rawValue: name), [.freshNoise, .eulerJump, .trajectory].contains(f) else {
                throw ValidationError("--window-arms '\(name)' is not one of fresh_noise, euler_jump, trajectory")
            }
            prefer = f
        }
        var base: ArmSpec?
        if let text = baseline {
            do { base = try ArmSpec(parsing: text) } catch { throw ValidationError("--baseline: \(error.description)") }
        }
        let given = try sampler()
        do {
            return ReportOptions(bootstrap: try Bootstrap(resamples: resamples, seed: seed),
                                 rule: try RuleRequest(syncRegion: syncRegion, gainFraction: gainFraction, fidelityMetric: fidelityMetric,
                                                       fidelityRegion: fidelityRegion, fidelityTolerance: fidelityTolerance,
                                                       toleranceForm: toleranceForm, landingTolerance: landingTolerance, smoothing: smoothing),
                                 guidance: try guidance.map { g throws(ReportError) in try GuidanceScale(parsing: g) },
                                 preferFamily: prefer, baselineArm: base, ruleResamples: ruleResamples, sampler: given)
        } catch {
            throw ValidationError(error.description)
        }
    }
}

/// Reads the studies the commands analyse.
///
/// A `.json` file is a `StudyData` written by `StudyData.writeJSON`; anything else is a study
/// database, read through `database` (the Store adapter).
struct StudyInputs: Sendable {
    var database: @Sendable (_ path: String, _ study: String?) throws -> [StudyData]

    static let standard = StudyInputs(database: { path, study in
        try StudyData.load(database: path, study: study)
    })

    /// The studies named by `paths` (`StudyData.load(inputs:study:database:)` with this reader).
    func load(_ paths: [String], study: String?) throws -> [StudyData] {
        try StudyData.load(inputs: paths, study: study, database: database)
    }
}

/// Today's date in UTC, ISO-8601 (yyyy-MM-dd), for provenance.
func todayUTC() -> String {
    let f = DateFormatter()
    f.locale = Locale(identifier: "en_US_POSIX")
    f.timeZone = TimeZone(identifier: "UTC")
    f.dateFormat = "yyyy-MM-dd"
    return f.string(from: Date())
}

/// The exit status of a report error: 64 for an option the study cannot honour (a metric or
/// region it does not hold), 1 otherwise.
func exitStatus(_ error: ReportError) -> Int32 {
    if case .invalidOption = error { return 64 }
    return 1
}

/// Prints a one-line error (or a JSON error object) and fails.
func fail(_ message: String, json: Bool, code: Int32 = 1) -> ExitCode {
    if json {
        JSONOutput.print(object: ["error": message])
    } else {
        FileHandle.standardError.write(Data("error: \(message)\n".utf8))
    }
    return ExitCode(code)
}

/// `trajprobe report`: statistics, the sync window, the schedule, figures, report.md/.html.
struct ReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write a study's report: per-step statistics, the sync window, the two-step schedule and figures.",
        discussion: ExitStatus.discussion("""
            Reads one or more studies and writes report.md, a single-file report.html (figures \
            embedded), figures/*.png and, when a window and landing step exist, schedule.yaml and \
            schedule.json. Several studies are compared side by side in one report.

            The sync window is the contiguous band of steps where the CFG arm's Sync-C gain over \
            its no-CFG twin has a 95% CI lower bound above 0 and is at least --gain-fraction \
            (0.4) of its peak, while its fidelity cost is at most --fidelity-tolerance (0.5) of \
            the peak CFG cost: fractions of the teacher's own numbers, so the defaults serve \
            SSIM, LPIPS, MSE, PSNR and LMD on any teacher (--tolerance-form absolute for metric \
            units). Gain and cost are averaged over each step and its probed neighbours \
            (--smoothing 1) and the peaks are maxima of a ±5-step running mean, because a real \
            teacher's per-step numbers are noisy. Sync-C is read on the region the study holds \
            it on (face, else mouth, else full); the fidelity metric defaults to LPIPS-mouth, \
            else SSIM-mouth, else SSIM-full. The teacher's CFG scale is the one the study \
            recorded, else the one its CFG arms carry (--guidance to choose). The report adds \
            the rule recomputed on --rule-resamples clip resamples (95% intervals of the edges \
            and the landing) and a sensitivity table. No band: the report says which criterion \
            failed at the closest step and no schedule is written (the command still succeeds).

              trajprobe report Reports/demo/study.sqlite
              trajprobe report study.json --fidelity-metric lpips --fidelity-region mouth
              trajprobe report drop-audio.sqlite drop-all.sqlite -o Reports/drop-modes

            A study that is not complete (failed units, still running, interrupted) is reported \
            all the same, marked INCOMPLETE or PARTIAL in the first line printed and in the report's \
            title, and the exit status is 3. A metric or region the study does not hold is \
            invalid usage (64).
            """))

    @Argument(help: ArgumentHelp("Study databases or study JSON files.", valueName: "db"))
    var inputs: [String]

    @OptionGroup var analysis: StudyAnalysisOptions

    @Option(name: [.customShort("o"), .customLong("output")], help: ArgumentHelp("Output directory (default: Reports/<study>).", valueName: "dir"))
    var outputDirectory: String?

    @Option(help: ArgumentHelp("CFG form of the written configs: uncond (neg + w (cond − neg)) or cond (cond + g (cond − neg), g = w − 1).", valueName: "form"))
    var cfgForm: CFGForm = .uncond

    @Option(help: ArgumentHelp("min_t of sample_t_cfg in the written configs.", valueName: "t"))
    var minT: Double = 0

    @Option(help: ArgumentHelp("Date written into the provenance (default: today, UTC).", valueName: "yyyy-mm-dd"))
    var date: String?

    @OptionGroup var jsonOutput: OutputOptions

    func validate() throws {
        guard !inputs.isEmpty else { throw ValidationError("give at least one study database or study JSON") }
        guard minT >= 0, minT < 1 else { throw ValidationError("--min-t \(minT) is not in [0, 1)") }
    }

    func run() async throws {
        try await run(inputs: .standard)
    }

    /// The command's body with its study reader passed in (the Store adapter in the shipped CLI).
    func run(inputs reader: StudyInputs) async throws {
        let options = try analysis.reportOptions()
        let json = jsonOutput.json
        do {
            let studies = try reader.load(inputs, study: try analysis.studyName())
            let reports = try studies.map { s throws(ReportError) in try StudyReport(study: s, options: options) }
            let dir = outputDirectory ?? "Reports/" + studies.map { ReportCommand.safe($0.name) }.joined(separator: "-vs-")
            let out = try ReportWriter.write(reports, to: dir, date: date ?? todayUTC(), form: cfgForm, minT: minT)
            if json {
                var summary: [[String: Any]] = []
                for r in reports {
                    var item: [String: Any] = ["study": r.study.name, "status": r.study.status.rawValue, "partial": r.partial,
                                               "warnings": r.warnings]
                    if let win = r.window?.window {
                        item["window"] = ["first_step": win.firstStep, "last_step": win.lastStep, "t_lo": win.tLow, "t_hi": win.tHigh,
                                          "lower_edge": win.lowerEdge.text, "upper_edge": win.upperEdge.text]
                    } else {
                        item["window"] = NSNull()
                        item["no_window_reason"] = r.window?.noWindowReason ?? r.scheduleProblem?.description ?? "no deciding arms"
                    }
                    if let s = r.schedule { item["landing_step"] = s.landingStep; item["t_list"] = s.tList }
                    item["schedule_file"] = out.schedules[r.study.name] ?? NSNull()
                    summary.append(item)
                }
                let obj: [String: Any] = ["output": dir, "files": out.files, "studies": summary]
                JSONOutput.print(object: obj)
            } else {
                for r in reports {
                    let tag = r.incompleteTag.map { " [\($0)]" } ?? (r.partial ? " [PARTIAL: \(r.study.status.rawValue)]" : "")
                    if let win = r.window?.window {
                        print("\(r.study.name)\(tag): sync window steps \(win.firstStep)..\(win.lastStep), t in [\(String(format: "%.3f", win.tLow)), \(String(format: "%.3f", win.tHigh))]")
                    } else {
                        print("\(r.study.name)\(tag): no sync window (\(r.window?.noWindowReason ?? r.scheduleProblem?.description ?? "no deciding arms"))")
                    }
                    if let s = r.schedule {
                        print("  two-step schedule: t_list [\(s.tList.map { String(format: "%.3f", $0) }.joined(separator: ", "))], landing step \(s.landingStep)")
                    } else if let why = out.noSchedule[r.study.name] {
                        print("  no schedule written: \(why)")
                    }
                }
                print("report: \(dir)/report.html (\(out.files.count) files)")
            }
            if reports.contains(where: \.partial) { throw ExitStatus.incomplete }
        } catch let error as ReportError {
            throw fail(error.description, json: json, code: exitStatus(error))
        }
    }

    /// A study name as a folder name: anything but letters, digits, - _ . becomes _.
    static func safe(_ name: String) -> String {
        String(name.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "." ? $0 : "_" })
    }
}
