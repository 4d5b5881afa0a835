import ArgumentParser
import Foundation
import Store
import TrajectoryProbe

/// `trajprobe probe`: a study configuration probed into a database (resumable, shardable).
struct Probe: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Probe a teacher along its trajectory, with and without CFG, into a study database.",
        discussion: ExitStatus.discussion("""
            Reads a study configuration (YAML: probe set, teacher, steps, arms, seeds, metrics, sync \
            model), probes every (clip, arm, step, seed) unit and writes each unit to the study \
            database in one transaction. Killed runs resume: run the same command again and only \
            the missing units are probed.

              trajprobe probe study.yaml --db runs/study.sqlite
              trajprobe probe study.yaml --db runs/study.sqlite \\
                  --arm 'fresh_noise w=1' --arm 'fresh_noise w=4.5'
              trajprobe probe study.yaml --db shard-3.sqlite --shard 3/8  # then merge
              trajprobe probe study.yaml --db shard.sqlite --shard auto   # Slurm, k8s
              trajprobe report runs/study.sqlite                           # next step

            The teacher is the embedded analytic teacher (teacher.kind analytic) or a model on a GPU \
            machine behind an Open Inference Protocol server (teacher.kind remote, with url and \
            model; check it first with `trajprobe teacher check URL --model NAME`). A remote server \
            that stays down fails the units in flight; rerun the command to redo them.

            Units that fail (a teacher that stays down, a prediction that cannot be measured) are \
            stored as failed with their reason, the study is marked incomplete (`trajprobe runs` \
            shows it) and the exit status is 3; the same command again redoes exactly those.
            Limits: steps.num_steps at most 10,000, teacher.resolution at most 4,096 (and the \
            decoded clips must fit in memory). With --json the summary states the peak resident \
            memory (peak_rss_bytes): it grows with the probed steps, arms and lanes, not num_steps.
            """))

    @Argument(help: ArgumentHelp("Study configuration (YAML).", valueName: "study.yaml")) var config: String
    @OptionGroup var database: DatabaseOption
    @OptionGroup var selection: StudySelection
    @Option(help: ArgumentHelp("This machine's slice: INDEX/COUNT (0-based) or auto (Slurm/Kubernetes).", valueName: "i/n")) var shard: String?
    @Option(name: .customLong("jobs"), help: "(clip, seed) pairs probed at once (default: one per core).") var jobs = 0
    @Option(name: .customLong("arm"), help: ArgumentHelp("Replace the config's arms (repeatable), e.g. 'trajectory w=4.5', 'factorial w=4.5'.", valueName: "arm")) var arms: [String] = []
    @Option(help: ArgumentHelp("Replace the seeds, comma-separated.", valueName: "0,1")) var seeds: String?
    @Option(help: ArgumentHelp("Measure only these steps, comma-separated.", valueName: "0,10,20")) var steps: String?
    @Option(help: "Analytic teacher's effective-SNR knob κ.") var kappa: Double?
    @Option(help: "Analytic teacher's working resolution in pixels.") var resolution: Int?
    @Option(help: ArgumentHelp("What the negative branch drops: audio or text+audio.", valueName: "mode")) var drop: DropOption?
    @Option(help: ArgumentHelp("The teacher's CFG scale w (its arms decide window and schedule).", valueName: "w")) var guidanceScale: Double?
    @Option(help: ArgumentHelp("Analytic teacher identity prior: identity or masked_reference.", valueName: "prior")) var identityPrior: String?
    @Option(help: ArgumentHelp("Masked-reference kernel width (pixels in [0, 1]).", valueName: "h")) var referenceBandwidth: Double?
    @Option(help: ArgumentHelp("Work in a PCA latent with this many components.", valueName: "k")) var pcaComponents: Int?
    @Option(help: ArgumentHelp("Bank manifest of the analytic teacher.", valueName: "bank.yaml")) var bank: String?
    @Option(help: ArgumentHelp("Metrics to store, comma-separated (mse, psnr, ssim, lpips, sharpness, sync_c, sync_d, sync_offset; lpips needs lpips.weights in the study).", valueName: "list")) var metrics: String?
    @OptionGroup var jsonOutput: OutputOptions
    @Flag(help: "No progress output.") var quiet = false

    func validate() throws {
        if drop?.mode == .unknown { throw ValidationError("--drop must be audio or text+audio for a probe") }
    }

    func run() async throws {
        let target = try selection.resolve(database: database.db, studyMayBeDatabase: false)
        Grammar.warn(target.notes + (drop?.notes ?? []))
        // Checked here, not in validate(): an unknown option is then reported first.
        guard let db = target.database else { throw ValidationError("give the study database: --db FILE") }
        let json = jsonOutput.json
        var cfg = try ProbeStudyFile.load(URL(fileURLWithPath: config))
        try cfg.override(arms: arms.isEmpty ? nil : arms, seeds: seeds, steps: steps, kappa: kappa, resolution: resolution,
                         drop: drop?.teacherValue, guidanceScale: guidanceScale, identityPrior: identityPrior,
                         referenceBandwidth: referenceBandwidth, pcaComponents: pcaComponents,
                         bank: bank.map { URL(fileURLWithPath: $0).standardizedFileURL.path }, metrics: metrics)
        var shardValue = Shard.all
        if let shard { shardValue = try Shard(parsing: shard, environment: ProcessInfo.processInfo.environment) }
        let name = target.study ?? URL(fileURLWithPath: config).deletingPathExtension().lastPathComponent
        let bar = ProgressBar(quiet: quiet || json)
        let summary = try await ProbeDriver(config: cfg).run(
            options: ProbeRunOptions(database: URL(fileURLWithPath: db), studyName: name, shard: shardValue, concurrency: jobs),
            progress: { bar.update($0) })
        if json {
            let object: [String: Any] = ["database": db, "study": name, "written": summary.written, "failed": summary.failed,
                                         "skipped": summary.skipped, "stored_by_others": summary.storedByOthers,
                                         "status": summary.status.rawValue, "seconds": summary.seconds,
                                         "teacher_passes": summary.teacherPasses, "failures": summary.failures,
                                         "peak_rss_bytes": summary.peakResidentBytes]
            JSONOutput.print(object: object)
        } else {
            print(String(format: "study '%@' in %@: %d units written, %d failed, %d skipped (already stored), %.1f s",
                         name, db, summary.written, summary.failed, summary.skipped, summary.seconds))
            if summary.storedByOthers > 0 {
                print("  \(summary.storedByOthers) units were stored by another process first (same values): not counted as written")
            }
            for line in summary.failures.prefix(10) { print("  failed: \(line)") }
            if summary.failed > 0 {
                print("study incomplete: \(summary.failed) units failed; run the same command again to redo them")
            }
            print("next: trajprobe report \(db)")
        }
        if summary.failed > 0 { throw ExitStatus.incomplete }
    }
}
