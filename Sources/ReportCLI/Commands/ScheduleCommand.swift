import ArgumentParser
import Foundation
import Report
import Store
import Support

/// `trajprobe schedule`: the student config (two-step t_list, sync window, guidance interval).
struct ScheduleCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "schedule",
        abstract: "Derive the two-step student schedule and Sync-Window DMD config from a study.",
        discussion: ExitStatus.discussion("""
            Applies the sync-window rule (see `trajprobe report --help`) and picks the two-step \
            landing step from the euler_jump arms: among the window's steps, the one with the \
            highest Sync-C whose fidelity cost against its no-CFG twin at the same step \
            (euler_jump s0=1 s1=1: the student lands there either way) is at most \
            --landing-tolerance × the pair's peak CFG cost; trajectory arms when no euler_jump \
            arms were probed. Prints the config, or writes schedule.yaml and schedule.json with \
            --output. The provenance records the rule's settings, the numbers that decided the \
            landing and the window's robustness over clip resamples.

              trajprobe schedule Reports/demo/study.sqlite
              trajprobe schedule study.sqlite --cfg-form cond --format python
              trajprobe schedule study.sqlite --output configs/ --min-t 0.02

            --cfg-form uncond writes guidance_scale = w for neg + w (cond − neg) (OmniAvatar, Wan, \
            Lip Forcing); cond writes g = w − 1 for cond + g (cond − neg) (Self-Forcing, FastVideo).
            --format python writes one `config.model.<key>.<sub> = value` line per leaf of the \
            YAML, every key and nesting kept.

            --target writes the file a trainer's own config loader reads, in its keys, value \
            scales and CFG form: lipforcing (config.model.sample_t_cfg.t_list, guidance_scale = w, \
            sync_window_cfg), fastgen (the same without the sync window), self-forcing \
            (denoising_step_list warped from 0..1000, timestep_shift, guidance_scale = w − 1), \
            causvid (denoising_step_list = round(1000 t) + [0], real_guidance_scale = w − 1), \
            fastvideo (method.dmd_denoising_steps, real_score_guidance_scale = w, \
            pipeline.flow_shift). What a trainer has no key for is named in a `# lacks:` comment.

              trajprobe schedule study.sqlite --target self-forcing
              trajprobe schedule study.sqlite --target lipforcing --format python
              trajprobe schedule study.sqlite --target causvid --output configs/

            A study that is not complete (failed units, still running, interrupted) is refused \
            with exit status 3; with --allow-partial the config is written, its first line says \
            the study is incomplete, and the exit status is still 3. No window or no landing step \
            (exit 2): the message names the criterion that failed at the closest step and the \
            setting that would change the answer. A metric or region the study does not hold is \
            invalid usage (64).
            """))

    // MARK: - Arguments and options

    /// What `schedule` prints: the config as YAML, JSON, or Python assignment lines.
    enum Format: String, ExpressibleByArgument, CaseIterable { case yaml, json, python }

    @Argument(help: ArgumentHelp("Study database or study JSON file.", valueName: "db"))
    var input: String

    @OptionGroup var analysis: StudyAnalysisOptions

    @Option(help: ArgumentHelp("Printed format: yaml, json or python (config.model.… = … lines).", valueName: "format"))
    var format: Format = .yaml

    @Option(help: ArgumentHelp("CFG form: uncond (w) or cond (g = w − 1).", valueName: "form"))
    var cfgForm: CFGForm = .uncond

    @Option(help: ArgumentHelp("min_t of sample_t_cfg.", valueName: "t"))
    var minT: Double = 0

    @Option(help: ArgumentHelp("Prefix of the python assignment lines (default: config.model, or config with --target).", valueName: "prefix"))
    var pythonPrefix: String?

    @Option(help: ArgumentHelp("Write the config a trainer reads as-is: lipforcing, self-forcing, causvid, fastvideo or fastgen.", valueName: "trainer"))
    var target: TrainerTarget?

    @Option(help: ArgumentHelp("With --target: the best N-step schedule of the study's `trajprobe search` instead of the two-step rule's.", valueName: "N"))
    var studentSteps: Int?

    @Option(name: .shortAndLong, help: ArgumentHelp("Write schedule.yaml and schedule.json into this directory instead of printing.", valueName: "dir"))
    var output: String?

    @Option(help: ArgumentHelp("Date written into the provenance (default: today, UTC).", valueName: "yyyy-mm-dd"))
    var date: String?

    @Flag(help: "Derive a schedule from a study that is still running or was interrupted.")
    var allowPartial = false

    // MARK: - Running

    func validate() throws {
        guard minT >= 0, minT < 1 else { throw ValidationError("--min-t \(minT) is not in [0, 1)") }
        if studentSteps != nil && target == nil {
            throw ValidationError("--student-steps writes a searched schedule in a trainer's config: give --target too")
        }
        if target != nil && format == .json {
            throw ValidationError("--target writes YAML or Python, the forms the trainers load: drop --format json")
        }
    }

    func run() async throws {
        try await run(inputs: .standard)
    }

    /// The command's body with its study reader passed in (the Store adapter in the shipped CLI).
    func run(inputs reader: StudyInputs) async throws {
        let options = try analysis.reportOptions()
        do {
            let name = try analysis.studyName()
            let studies = try reader.load([input], study: name)
            guard studies.count == 1 else {
                throw ReportError.unknownStudy(file: input, study: name ?? "", available: studies.map(\.name))
            }
            let report = try StudyReport(study: studies[0], options: options)
            if let n = studentSteps, let target {
                guard let search = studies[0].search else {
                    throw fail("\(input): the study has no search result: run `trajprobe search` first", json: false, code: 2)
                }
                guard let found = search.result(steps: n) else {
                    throw fail("\(input): the search covered N = \(search.settings.studentSteps.map(String.init).joined(separator: ", ")), not \(n)", json: false, code: 2)
                }
                guard let best = found.best else {
                    throw fail("\(input): the search found no admissible \(n)-step schedule: \(found.note ?? "")", json: false, code: 2)
                }
                let day = date ?? todayUTC()
                let context = try (try? report.studentConfig(form: cfgForm, minT: minT, date: day, allowPartial: allowPartial))
                    .map(ProfileContext.init(config:)) ?? (try ProfileContext(report: report, minT: minT, date: day))
                try emit(TrainerProfile(target: target, context: context, schedule: best.studentSchedule), label: "\(n)-step \(best.label)")
                return
            }
            let config: StudentConfig
            do {
                config = try report.studentConfig(form: cfgForm, minT: minT, date: date ?? todayUTC(), allowPartial: allowPartial)
            } catch let error {
                switch error {
                case .noWindow, .noLandingStep, .tooFewClips, .unknownParameter: throw fail(error.description, json: format == .json, code: 2)
                case .partialStudy: throw fail(error.description, json: format == .json, code: ExitStatus.incomplete.rawValue)
                default: throw error
                }
            }
            // A config from a study that is not complete says so first (--allow-partial).
            let note = report.partial ? "study '\(report.study.name)' is \(report.incompleteTag ?? "PARTIAL: \(report.study.status.rawValue)"): this config comes from part of its units (--allow-partial)" : nil
            if let target {
                if let note { print("# \(note)") }
                try emit(TrainerProfile(target: target, config: config), label: "t_list \(config.t_list)")
            } else if let dir = output {
                let yaml = (note.map { "# \($0)\n" } ?? "") + (try config.yaml()), json = try config.json()
                if let note { print("warning: \(note)") }
                try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
                for (name, text) in [("schedule.yaml", yaml), ("schedule.json", json)] {
                    do { try AtomicFile.write(Data(text.utf8), to: "\(dir)/\(name)") } catch {
                        throw ReportError.writeFailed(file: "\(dir)/\(name)", problem: error.detail)
                    }
                }
                print("wrote \(dir)/schedule.yaml and \(dir)/schedule.json (t_list \(config.t_list), landing step \(config.provenance.landing_step))")
            } else {
                if let note {
                    if format == .json { FileHandle.standardError.write(Data("warning: \(note)\n".utf8)) } else { print("# \(note)") }
                }
                switch format {
                case .yaml: print(try config.yaml(), terminator: "")
                case .json: print(try config.json(), terminator: "")
                case .python:
                    print(try PythonConfig.assignments(yaml: try config.yaml(), prefix: pythonPrefix ?? "config.model", file: "schedule.yaml"),
                          terminator: "")
                }
            }
            if note != nil { throw ExitStatus.incomplete }
        } catch let error as ReportError {
            throw fail(error.description, json: format == .json, code: exitStatus(error))
        }
    }

    // MARK: - Output

    /// Prints a trainer profile, or writes `<target>.yaml` and `<target>.py` into --output.
    func emit(_ profile: TrainerProfile, label: String) throws {
        let py = profile.python(prefix: pythonPrefix ?? "config")
        guard let dir = output else {
            print(format == .python ? py : profile.yaml(), terminator: "")
            return
        }
        let stem = "\(dir)/\(profile.target.rawValue)" + (studentSteps.map { "-\($0)step" } ?? "")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        for (name, text) in [("\(stem).yaml", profile.yaml()), ("\(stem).py", py)] {
            do { try AtomicFile.write(Data(text.utf8), to: name) } catch {
                throw ReportError.writeFailed(file: name, problem: error.detail)
            }
        }
        print("wrote \(stem).yaml and \(stem).py (\(profile.target.rawValue), \(label))")
    }
}
