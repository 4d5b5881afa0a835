import ArgumentParser
import Foundation
import Measurement
import Report
import Store
import Support
import TrajectoryProbe

extension StudentScheduleKnobs.Transition: ExpressibleByArgument {}

/// `trajprobe search`: few-step student schedules searched with the teacher in the loop.
struct SearchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "search",
        abstract: "Search 1- to 4-step student schedules (t_list and per-step CFG) with the teacher in the loop.",
        discussion: ExitStatus.discussion("""
            The teacher runs each candidate student's whole few-step sampling (a student_schedule \
            arm: x0 at each step with that step's guidance, an Euler jump or a re-noise to the \
            next), and the search keeps the schedules with the highest Sync-C whose fidelity cost \
            against the same steps sampled without CFG passes the two-step landing's rule (by \
            default 0.15 × the peak CFG cost over the trajectory; the rule options are those of \
            `trajprobe report`). Candidates: for each N in --student-steps, every choice of N − 1 \
            landing steps on --grid after step 0 (t_0 = max_t) and of a guidance scale per step \
            among --scales (default: no CFG and the teacher's scale).

            Successive halving under --budget teacher passes: every candidate is scored on \
            --first-pairs (clip, seed) pairs, each round keeps the best 1/--eta of each N plus \
            the cost–Sync-C front and scores them on --eta times as many pairs, until the last \
            round has them all. Passes are counted as a fresh run spends them (candidates sharing \
            a prefix share its passes), so the decisions never depend on what is already stored: \
            kill it at any moment and run the same command again, it skips what is stored and ends \
            with the same result. The result is saved in the study; `trajprobe report` draws the \
            fronts and `trajprobe schedule --student-steps N --target …` writes a trainer's config.

              trajprobe probe study.yaml --db study.sqlite      # first: the probe
              trajprobe search study.yaml --db study.sqlite
              trajprobe search study.yaml --db study.sqlite --student-steps 3 \\
                  --scales 1,2,4.5 --grid all --transition both --budget 200000
              trajprobe schedule study.sqlite --student-steps 3 --target self-forcing

            A search refuses imported studies (no teacher to run a new sampling), a study whose \
            probe is not complete, and a budget too small for its first round (1); units the \
            teacher failed are stored as failed, left out of the scores, and the search ends with \
            3 (run it again to redo them).
            """))

    // MARK: - Arguments and options

    @Argument(help: ArgumentHelp("The study configuration the study was probed with (YAML).", valueName: "study.yaml")) var config: String
    @OptionGroup var database: DatabaseOption
    @OptionGroup var analysis: StudyAnalysisOptions

    @Option(help: ArgumentHelp("Student step counts to search, comma-separated.", valueName: "1,2,3,4")) var studentSteps = "1,2,3,4"
    @Option(help: ArgumentHelp("Guidance choices per student step (uncond form), comma-separated; 1 is always one (default: 1 and the teacher's scale).", valueName: "1,w")) var scales: String?
    @Option(help: ArgumentHelp("Landing steps: probed (the study's measured steps), all (every step of its schedule) or a comma-separated list.", valueName: "probed")) var grid = "probed"
    @Option(help: ArgumentHelp("Move between student steps: euler, renoise or both.", valueName: "euler")) var transition = "euler"
    @Option(help: ArgumentHelp("Teacher passes the search may spend.", valueName: "n")) var budget = 60_000
    @Option(help: ArgumentHelp("Each round keeps 1/eta of the candidates on eta times the pairs.", valueName: "n")) var eta = 3
    @Option(help: ArgumentHelp("(clip, seed) pairs of the first round.", valueName: "n")) var firstPairs = 1
    @Option(name: .customLong("jobs"), help: "(clip, seed) pairs run at once (default: one per core).") var jobs = 0
    @OptionGroup var jsonOutput: OutputOptions
    @Flag(help: "No progress output.") var quiet = false

    // MARK: - Running

    func run() async throws {
        guard let db = database.db else { throw ValidationError("give the probed study's database: --db FILE") }
        let json = jsonOutput.json
        let cfg = try ProbeStudyFile.load(URL(fileURLWithPath: config))
        let name = try analysis.studyName() ?? URL(fileURLWithPath: config).deletingPathExtension().lastPathComponent
        var options = try analysis.reportOptions()
        options.ruleResamples = 0
        let studies = try StudyData.load(database: db, study: name)
        let study = studies[0]
        if study.teacher == "imported" {
            throw InputError(DriverError.studentScheduleNeedsTeacher(source: "\(db) (study '\(name)')", arm: "student_schedule").description)
        }
        guard study.status == .finished else {
            throw InputError("\(db): study '\(name)' is \(study.status.rawValue): finish its probe first (run `trajprobe probe` again), the search costs schedules with its rule")
        }
        let report = try StudyReport(study: study, options: options)
        let w = report.guidanceScale
        guard w.isFinite else { throw InputError("\(db): the teacher's CFG scale is not known: pass --guidance W") }
        let settings = try SearchSettings(
            studentSteps: try CommaList.integers(studentSteps, flag: "--student-steps"),
            scales: try scales.map { try CommaList.numbers($0, flag: "--scales") }.map { $0 + [1] } ?? [1, w],
            grid: try gridSteps(study: study), transitions: try transitions(),
            budget: budget, eta: eta, firstPairs: firstPairs)
        let search = try ScheduleSearch(report: report, settings: settings)

        let bar = ProgressBar(quiet: quiet || json)
        let runner = try await StudentScheduleRunner.open(config: cfg, options: ProbeRunOptions(database: URL(fileURLWithPath: db), studyName: name, concurrency: jobs),
                                                          progress: { bar.update($0) })
        let adapter = Runner(runner: runner, bar: bar)
        let started = Date()
        let silent = quiet || json
        let log: @Sendable (String) -> Void = { line in
            if !silent { FileHandle.standardError.write(Data((line + "\n").utf8)) }
        }
        log("search: \(settings.text); \(runner.pairs.count) (clip, seed) pairs")
        log("admissible: \(search.criterion.text)")
        let timing = RoundClock()
        let result = try await search.run(runner: adapter, store: runner.store) { info, phase in
            if phase == .started {
                timing.start()
                log("round \(info.index + 1)/\(info.planned): \(info.candidates) schedules on \(info.pairs) pair(s), \(info.passes) passes")
            } else {
                let seconds = timing.elapsed()
                // Later rounds keep about 1/eta of the schedules on eta times the pairs: about as
                // many units each, the last one fewer.
                let units = Double(info.candidates * info.pairs), left = info.planned - info.index - 1
                let eta = units > 0 && left > 0 ? String(format: ", search ETA about %@", ProgressBar.clock(seconds * Double(left))) : ""
                log(String(format: "round %d done in %.0f s%@", info.index + 1, seconds, eta))
            }
        }
        try runner.store.saveSchedule(name: SearchResult.storedName, format: "json", body: try result.json())
        // The last connection checkpoints the WAL into the file, so the .sqlite alone holds the study.
        try? runner.store.close()
        let failed = adapter.failed.value
        if json {
            try JSONOutput.print(result)
            if failed > 0 { throw ExitStatus.incomplete }
            return
        }
        for r in result.byStepCount { print(r.text) }
        if let l = result.landing { print(l.text) }
        if let s = result.stoppedEarly { print("note: \(s)") }
        print(String(format: "search finished in %.0f s: %d passes planned (budget %d), %d spent by this run; saved in %@ (next: trajprobe report %@)",
                     Date().timeIntervalSince(started), result.passesPlanned, budget, adapter.spent.value, db, db))
        if failed > 0 {
            print("incomplete: \(failed) unit(s) failed on the teacher and are left out of the scores; run the same command again to redo them")
            throw ExitStatus.incomplete
        }
    }

    // MARK: - Option parsing

    /// The landing steps --grid names: the probed steps, every step, or a list.
    func gridSteps(study: StudyData) throws -> [Int] {
        switch grid {
        case "probed": return ScheduleSearch.probedGrid(study)
        case "all":
            guard let n = try study.numSteps ?? analysis.sampler()?.numSteps else {
                throw ValidationError("--grid all: the study does not record num_steps (give --num-steps, --shift and --max-t)")
            }
            return Array(1..<n)
        default: return try CommaList.integers(grid, flag: "--grid")
        }
    }

    /// The moves between student steps --transition names.
    func transitions() throws -> [StudentScheduleKnobs.Transition] {
        switch transition {
        case "both": return [.euler, .renoise]
        default:
            guard let t = StudentScheduleKnobs.Transition(rawValue: transition) else {
                throw ValidationError("--transition '\(transition)' is not one of euler, renoise, both")
            }
            return [t]
        }
    }

    // MARK: - Runner and progress

    /// The TrajectoryProbe runner behind the search's protocol, with one progress bar per round.
    struct Runner: ScheduleSearchRunner {
        let runner: StudentScheduleRunner
        let bar: ProgressBar
        let spent = PassCount(), failed = PassCount()
        var pairs: [SearchPair] { runner.pairs.map { SearchPair(clip: $0.clip, seed: $0.seed) } }
        func passes(arms: [ArmSpec], pairs: Int) throws -> Int { try runner.passes(arms: arms, pairs: pairs) }
        func run(arms: [ArmSpec], on pairs: [SearchPair], round: SearchRoundInfo) async throws -> Int {
            let phase = "round \(round.index + 1)/\(round.planned)"
            let r = try await runner.run(arms: arms, on: pairs.map { ClipSeed(clip: $0.clip, seed: $0.seed) }) { p in
                // The round's bar starts with its first counted update (its clock with it).
                guard p.total > 0 || p.skipped > 0 else { return }
                var q = p
                q.phase = phase
                bar.update(q)
            }
            spent.add(r.teacherPasses)
            failed.add(r.failed)
            return r.teacherPasses
        }
    }

    /// A counter the runner's concurrent rounds add to (teacher passes spent, units failed).
    final class PassCount: Sendable {
        private let n = Locked(0)
        func add(_ k: Int) { n.withLock { $0 += k } }
        var value: Int { n.snapshot }
    }

    /// The start of the current search round, for its duration and the ETA.
    final class RoundClock: Sendable {
        private let since = Locked(Date())
        func start() { since.withLock { $0 = Date() } }
        func elapsed() -> Double { Date().timeIntervalSince(since.snapshot) }
    }
}
