import ArgumentParser
import Foundation
import Store
import Synthetic
import TrajectoryProbe

/// `trajprobe demo`: the whole workflow on generated clips, as one command.
struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The whole workflow in a few minutes: demo clips → probe → search → report → schedule.",
        discussion: ExitStatus.discussion("""
            Generates the demo probe set if it is missing (talking-head clips with espeak-ng speech, \
            see `trajprobe demo-data`), probes the embedded analytic teacher with every arm family \
            (trajectory at w = 1..6, fresh noise, the Euler-jump 2x2 factorial, scheduled CFG, \
            spatial), scores sync with FaceSync-CCA (no weights needed), searches 1- to 4-step \
            student schedules with the teacher in the loop (`trajprobe search`), and writes the \
            report, the figures and the two-step schedule.

              trajprobe demo            # into Reports/demo
              trajprobe demo --quick    # fewer clips, steps and seeds (a smoke test)

            Then open Reports/demo/report.html, or read Reports/demo/report.md.
            """))

    @Option(name: .shortAndLong, help: "Output directory of the report.") var output = "Reports/demo"
    @Option(help: "Where the demo clips are (generated when missing).") var data = "demo-data"
    @Flag(help: "A smaller run: 2 identities, 7 steps, 1 seed.") var quick = false
    @Option(name: .customLong("jobs"), help: "(clip, seed) pairs probed at once (default: one per core).") var jobs = 0

    static let quickSteps = "0,10,20,30,40,49"
    /// Teacher passes the demo's search may spend: N = 1..4 over the 11 probed steps after step 0,
    /// guidance off or w = 2 per step (3,126 schedules), eta 4, plans about 13,000.
    static let searchBudget = 20_000

    func run() async throws {
        let started = Date()
        let fm = FileManager.default
        let identities = quick ? 2 : 4
        let dataDir = data + (quick ? "-quick" : "")
        if !fm.fileExists(atPath: dataDir + "/study.yaml") {
            FileHandle.standardError.write(Data("generating the demo clips in \(dataDir)/…\n".utf8))
            _ = try DemoDataGenerator(identities: identities).generate(into: dataDir) { line in
                FileHandle.standardError.write(Data(("  " + line + "\n").utf8))
            }
        }
        try fm.createDirectory(atPath: output, withIntermediateDirectories: true)
        let db = output + "/study.sqlite"
        for suffix in ["", "-wal", "-shm", ".facesync.json"] { try? fm.removeItem(atPath: db + suffix) }

        var config = try ProbeStudyFile.load(URL(fileURLWithPath: dataDir + "/study.yaml"))
        if quick { try config.override(seeds: "0", steps: Demo.quickSteps) }
        let bar = ProgressBar()
        let summary = try await ProbeDriver(config: config).run(
            options: ProbeRunOptions(database: URL(fileURLWithPath: db), studyName: "demo", concurrency: jobs),
            progress: { bar.update($0) })
        print(String(format: "probe: %d units in %.1f s (%d failed), %d teacher passes", summary.written, summary.seconds,
                     summary.failed, summary.teacherPasses))

        // Few-step schedules with the teacher in the loop (the budget is the demo's committed one).
        let searchStarted = Date()
        let search = try SearchCommand.parse([dataDir + "/study.yaml", "--db", db, "--study", "demo", "--eta", "4",
                                              "--budget", "\(Demo.searchBudget)", "--jobs", "\(jobs)"])
        try await search.run()
        print(String(format: "search: %.0f s", Date().timeIntervalSince(searchStarted)))

        let report = try ReportCommand.parse([db, "--output", output])
        try await report.run()
        print(String(format: "demo finished in %.0f s. Open %@/report.html (or read %@/report.md); the study is %@.",
                     Date().timeIntervalSince(started), output, output, db))
    }
}
