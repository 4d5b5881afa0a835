import ArgumentParser
import Foundation
import Report

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

            A study that is not complete (failed units, still running, interrupted) is refused \
            with exit status 3; with --allow-partial the config is written, its first line says \
            the study is incomplete, and the exit status is still 3. No window or no landing step \
            (exit 2): the message names the criterion that failed at the closest step and the \
            setting that would change the answer. A metric or region the study does not hold is \
            invalid usage (64).
            """))

    enum Format: String, ExpressibleByArgument, CaseIterable { case yaml, json, python }

    @Argument(help: ArgumentHelp("Study database or study JSON file.", valueName: "study"))
    var input: String

    @OptionGroup var analysis: StudyAnalysisOptions

    @Option(help: ArgumentHelp("Printed format: yaml, json or python (config.model.… = … lines).", valueName: "format"))
    var format: Format = .yaml

    @Option(help: ArgumentHelp("CFG form: uncond (w) or cond (g = w − 1).", valueName: "form"))
    var cfgForm: CFGForm = .uncond

    @Option(help: ArgumentHelp("min_t of sample_t_cfg.", valueName: "t"))
    var minT: Double = 0

    @Option(help: ArgumentHelp("Prefix of the python assignment lines.", valueName: "prefix"))
    var pythonPrefix: String = "config.model"

    @Option(name: .shortAndLong, help: ArgumentHelp("Write schedule.yaml and schedule.json into this directory instead of printing.", valueName: "dir"))
    var output: String?

    @Option(help: ArgumentHelp("Date written into the provenance (default: today, UTC).", valueName: "yyyy-mm-dd"))
    var date: String?

    @Flag(help: "Derive a schedule from a study that is still running or was interrupted.")
    var allowPartial = false

    func validate() throws {
        guard minT >= 0, minT < 1 else { throw ValidationError("--min-t \(minT) is not in [0, 1)") }
    }

    func run() async throws {
        try await run(inputs: .standard)
    }

    /// The command's body with its study reader passed in (the Store adapter in the shipped CLI).
    func run(inputs reader: StudyInputs) async throws {
        let options = try analysis.reportOptions()
        do {
            let studies = try reader.load([input], study: analysis.study)
            guard studies.count == 1 else {
                throw ReportError.unknownStudy(file: input, study: analysis.study ?? "", available: studies.map(\.name))
            }
            let report = try StudyReport(study: studies[0], options: options)
            let config: StudentConfig
            do {
                config = try report.studentConfig(form: cfgForm, minT: minT, date: date ?? todayUTC(), allowPartial: allowPartial)
            } catch let error {
                switch error {
                case .noWindow, .noLandingStep, .tooFewClips: throw fail(error.description, json: format == .json, code: 2)
                case .partialStudy: throw fail(error.description, json: format == .json, code: ExitStatus.incomplete.rawValue)
                default: throw error
                }
            }
            // A config from a study that is not complete says so first (--allow-partial).
            let note = report.partial ? "study '\(report.study.name)' is \(report.incompleteTag ?? "PARTIAL: \(report.study.status.rawValue)"): this config comes from part of its units (--allow-partial)" : nil
            if let dir = output {
                let yaml = (note.map { "# \($0)\n" } ?? "") + (try config.yaml()), json = try config.json()
                if let note { print("warning: \(note)") }
                try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
                for (name, text) in [("schedule.yaml", yaml), ("schedule.json", json)] {
                    do { try Data(text.utf8).write(to: URL(fileURLWithPath: "\(dir)/\(name)"), options: .atomic) } catch {
                        throw ReportError.writeFailed(file: "\(dir)/\(name)", problem: error.localizedDescription)
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
                case .python: print(config.python(prefix: pythonPrefix), terminator: "")
                }
            }
            if note != nil { throw ExitStatus.incomplete }
        } catch let error as ReportError {
            throw fail(error.description, json: format == .json, code: exitStatus(error))
        }
    }
}
