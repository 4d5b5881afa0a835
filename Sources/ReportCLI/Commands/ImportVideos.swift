import ArgumentParser
import Foundation
import Measurement
import Media
import Store
import TrajectoryProbe

/// `trajprobe import videos`: the imported teacher, prediction videos measured into a study.
struct ImportVideos: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "videos",
        abstract: "Measure prediction videos from your own teacher runs into a study (the imported teacher).",
        discussion: ExitStatus.discussion("""
            Layout, one directory per arm (or ROOT itself is one arm):

              ROOT/<arm>/ode_schedule.json
                  {"t_list": [...], "num_steps": 50, "shift": 5, "guidance_scale": 4.5}
              ROOT/<arm>/videos/<sample>/gt.mp4        the reference, with the driving audio
              ROOT/<arm>/videos/<sample>/step_030.mp4  decoded x0 prediction at step 30
              ROOT/<arm>/videos/<sample>/mask.png      optional mask (else --mask or --box)

            Every file is checked before any decoding; a missing one is named and nothing runs. \
            Each prediction is scored against gt.mp4 like a probe prediction (fidelity per \
            region, LPIPS too given --lpips WEIGHTS, Sync-C/D against gt.mp4's audio with SyncNet-v2 \
            given --syncnet WEIGHTS, else FaceSync-CCA given --facesync MODEL, else FaceSync-CCA fitted \
            on these GT videos, which makes the sync scores circular: the command warns). \
            guidance_scale may be any number (1, 0, 4 or 4.5). Resumable: rerun after a crash. A layout \
            missing some step predictions is refused with the steps every sample has: import those \
            with --steps.

              trajprobe import videos runs/ --db omni.sqlite --mask mask.png \\
                  --arm 'cfg=trajectory w=4.5' --arm 'nocfg=trajectory w=1'
              trajprobe report omni.sqlite
            """))

    @Argument(help: ArgumentHelp("Layout root.", valueName: "root")) var root: String
    @OptionGroup var database: DatabaseOption
    @OptionGroup var selection: StudySelection
    @Option(name: .customLong("arm"), help: ArgumentHelp("Arm of a directory, DIR=LABEL (default: trajectory w=<guidance_scale>).", valueName: "dir=label"))
    var arms: [String] = []
    @Option(help: ArgumentHelp("Mask image for every sample (LatentSync mask.png: white upper face, black mouth).", valueName: "png")) var mask: String?
    @Option(help: ArgumentHelp("Mouth box x,y,w,h in pixels, instead of a mask.", valueName: "x,y,w,h")) var box: String?
    @Option(help: ArgumentHelp("Fitted FaceSync-CCA model (default: fit on the GT videos).", valueName: "model.json")) var facesync: String?
    @Option(help: ArgumentHelp("SyncNet-v2 weights (tools/convert_syncnet.py): score sync as syncnet_python does.", valueName: "file")) var syncnet: String?
    @Option(help: "SyncNet preset: syncnet_python or lipforcing-reward.") var preset = "syncnet_python"
    @Option(help: ArgumentHelp("LPIPS-AlexNet weights (tools/convert_lpips.py): adds lpips on the full frame and on the mouth box padded by 4 px.", valueName: "file")) var lpips: String?
    @Option(help: ArgumentHelp("Only these steps, comma-separated (default: all of num_steps).", valueName: "0,10,20")) var steps: String?
    @Option(help: "Teacher model name recorded with the study.") var model = "imported"
    @Option(help: ArgumentHelp("What the negative branch dropped: audio, text+audio or unknown.", valueName: "mode")) var drop = DropOption(argument: "unknown")!
    @OptionGroup var jsonOutput: OutputOptions

    func run() async throws {
        let target = try selection.resolve(database: database.db, studyMayBeDatabase: false)
        Grammar.warn(target.notes + drop.notes)
        guard let db = target.database else { throw ValidationError("give the study database: --db FILE") }
        let json = jsonOutput.json
        var labels: [String: ArmSpec] = [:]
        for a in arms {
            let parts = a.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { throw ValidationError("--arm '\(a)' is not DIR=LABEL") }
            labels[parts[0]] = try ArmSpec(parsing: parts[1])
        }
        var boxValue: Box?
        if let box {
            guard let b = Box(parsing: box) else { throw ValidationError("--box '\(box)' is not x,y,w,h") }
            boxValue = b
        }
        let stepList = try steps.map { try CommaList.integers($0, flag: "--steps") }
        guard let syncPreset = SyncPreset.named(preset), syncPreset.roundTrip == nil else {
            // syncnet_python-jpeg re-extracts frames from files; imports score decoded frames.
            throw ValidationError("unknown preset '\(preset)' for imports: use \(SyncPreset.all.filter { $0.roundTrip == nil }.map(\.name).joined(separator: " or "))")
        }
        let name = target.study ?? URL(fileURLWithPath: root).standardizedFileURL.lastPathComponent
        if syncnet == nil && facesync == nil {
            FileHandle.standardError.write(Data("warning: \(ImportedVideos.circularSyncWarning)\n".utf8))
        }
        let bar = ProgressBar(quiet: json)
        var options = ImportedVideos.Options(database: URL(fileURLWithPath: db), studyName: name, armLabels: labels, mask: mask,
                                             box: boxValue, faceSyncModel: facesync, steps: stepList, modelName: model, dropMode: drop.teacherValue)
        options.syncNetWeights = syncnet
        options.syncPreset = syncPreset
        options.lpipsWeights = lpips
        let summary = try ImportedVideos(root: root).run(
            options: options,
            progress: { bar.update($0) })
        if json {
            let object: [String: Any] = ["database": db, "study": name, "written": summary.written, "failed": summary.failed,
                                         "skipped": summary.skipped, "seconds": summary.seconds, "failures": summary.failures]
            JSONOutput.print(object: object)
        } else {
            print(String(format: "study '%@' in %@: %d videos measured, %d failed, %d already stored, %.1f s",
                         name, db, summary.written, summary.failed, summary.skipped, summary.seconds))
            for line in summary.failures.prefix(10) { print("  failed: \(line)") }
            print("next: trajprobe report \(db)")
        }
        if summary.failed > 0 { throw ExitStatus.incomplete }
    }
}
