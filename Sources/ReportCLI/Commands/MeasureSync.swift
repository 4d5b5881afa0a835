import ArgumentParser
import Foundation
import Measurement
import Media
import Metrics
import TrajectoryProbe

/// `trajprobe measure sync`: LSE-C/D of videos, one at a time or as a resumable batch into --db.
struct MeasureSync: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sync",
        abstract: "Lip sync of a video: LSE-C (Sync-C), LSE-D (Sync-D), AV offset, per-offset distances.",
        discussion: ExitStatus.discussion("""
            With SyncNet-v2 weights (converted once by tools/convert_syncnet.py from syncnet_python's \
            syncnet_v2.model) the numbers are syncnet_python's; without weights, a FaceSync-CCA model \
            (trajprobe facesync fit) scores the same quantities from the mouth box.

              trajprobe measure sync clip.mp4 --syncnet syncnet_v2.safetensors
              trajprobe measure sync clip.mp4 --audio dub.wav --syncnet w.safetensors \\
                  --preset lipforcing-reward --json
              trajprobe measure sync clip.mp4 --facesync facesync.json --mask mask.png
              # a batch: parallel over files, resumable, lists the files with LSE-C >= 3
              trajprobe measure sync dataset/ --syncnet w.safetensors \\
                  --db scores.sqlite --threshold 3

            Presets fix every preprocessing choice and are recorded with the score:
              syncnet_python     25 fps, whole-frame (or box) 224x224 crop, cv2 bilinear,
                                 BGR 0..255, int16 audio, MFCC 13x20 windows, offsets
                                 -15..15 with padded audio; scores the decoded frames
              syncnet_python-jpeg
                                 the same after syncnet_python's own extraction, as papers
                                 report LSE: each frame through JPEG as `ffmpeg -f image2
                                 %06d.jpg` writes it (yuvj420p, rate control at 200 kb/s,
                                 so quality drifts along the clip) and back through
                                 libjpeg-turbo as cv2.imread reads it; audio as ffmpeg
                                 -async 1 -ac 1 -acodec pcm_s16le -ar 16000. In memory, no
                                 ffmpeg needed. See the README for the size of the
                                 difference on H.264 video
              lipforcing-reward  the same with offset mode truncate (each offset uses only
                                 the overlapping windows), as Lip Forcing's reward scorer
            Offsets follow syncnet_python: offset_frames = vshift - argmin, so audio delayed by k \
            frames gives -k. Video at other rates is resampled to 25 fps (nearest frame in time); \
            audio and video of different durations are cut to the shorter (stated in the output). \
            Face detection is out of scope: frames are pre-aligned face crops, or give --box, or \
            --boxes boxes.json with one [x, y, w, h] per frame from your own detector (S3FD, ...). \
            A clip that cannot be scored prints its reason code (clip_too_short, silent_audio, \
            box_outside_frame, non_finite_frames, unreadable); a batch stores it as a failed unit and \
            marks the study incomplete. Any unscorable file makes the exit status 3.
            """))

    @Argument(help: "Video files or directories (searched for .mp4/.mov/.mkv/.avi/.webm).") var videos: [String]
    @Option(help: "Driving audio (default: the video's own track).") var audio: String?
    @Option(help: ArgumentHelp("SyncNet-v2 weights (safetensors from tools/convert_syncnet.py).", valueName: "file")) var syncnet: String?
    @Option(help: ArgumentHelp("FaceSync-CCA model (trajprobe facesync fit), used without SyncNet weights.", valueName: "model.json")) var facesync: String?
    @Option(help: ArgumentHelp("Face box x,y,w,h for SyncNet, mouth box for FaceSync.", valueName: "x,y,w,h")) var box: String?
    @Option(help: ArgumentHelp("Mask image giving the mouth box for FaceSync (black = mouth).", valueName: "png")) var mask: String?
    @Option(help: ArgumentHelp("Per-frame face boxes for SyncNet: a JSON list of [x, y, w, h], one per 25 fps frame (from your face detector).", valueName: "boxes.json")) var boxes: String?
    @Option(help: "Preset: syncnet_python, syncnet_python-jpeg or lipforcing-reward.") var preset = "syncnet_python"
    @Option(help: ArgumentHelp("Store every score in this study database (resumable batch scoring).", valueName: "file")) var db: String?
    @Option(help: ArgumentHelp("Study name inside the database (default: sync-scores).", valueName: "name")) var study: String?
    @Option(name: .customLong("study-name"), help: .hidden) var legacyStudyName: String?
    @Option(help: ArgumentHelp("List the files whose LSE-C is at or above this value (dataset filtering).", valueName: "lse_c")) var threshold: Double?
    @Option(name: .customLong("jobs"), help: "Files scored at once (default: one per core).") var jobs = 0
    @OptionGroup var jsonOutput: OutputOptions

    /// The database and study name, after the old spellings (`--study FILE --study-name NAME`).
    func target() throws -> StudySelection.Resolved {
        try StudySelection.resolve(study: study, legacyRun: nil, legacyStudyName: legacyStudyName, database: db, studyMayBeDatabase: true)
    }

    func validate() throws {
        let t = try target()
        if t.database == nil && t.study != nil { throw ValidationError("--study names a study inside a database: give --db FILE too") }
    }

    func run() async throws {
        let target = try target()
        Grammar.warn(target.notes)
        let json = jsonOutput.json, study = target.database, studyName = target.study ?? "sync-scores"
        guard let p = SyncPreset.named(preset) else {
            throw ValidationError("unknown preset '\(preset)': use \(SyncPreset.all.map(\.name).joined(separator: " or "))")
        }
        var boxValue: Box?
        if let box {
            guard let b = Box(parsing: box) else { throw ValidationError("--box '\(box)' is not x,y,w,h") }
            boxValue = b
        }
        var net: SyncNet?, fs: FaceSyncModel?, mouth: Box?
        if let syncnet {
            net = try SyncNet(weights: URL(fileURLWithPath: syncnet))
        } else if let facesync {
            fs = try FaceSyncModel(contentsOf: facesync)
            if mask != nil {
                mouth = nil  // resolved per file at its frame size
            } else if let boxValue {
                mouth = boxValue
            } else {
                throw ValidationError("FaceSync needs the mouth: give --mask mask.png or --box x,y,w,h")
            }
        } else {
            throw ValidationError("give --syncnet WEIGHTS (tools/convert_syncnet.py) or --facesync MODEL (trajprobe facesync fit)")
        }
        let files = SyncBatch.expand(videos)
        guard !files.isEmpty else { throw ValidationError("no video files under \(videos.joined(separator: ", "))") }
        var crop: SyncNet.Crop = boxValue.map { .box($0) } ?? .wholeFrame
        if let boxes { crop = .perFrame(try MeasureSync.readBoxes(boxes)) }
        var scores: [SyncScore] = []
        var storedLSEC: [String: Double]?
        if let study {
            let batch = SyncBatch(files: files, audioFor: { [audio] _ in audio }, preset: p, syncNet: net, syncNetWeights: syncnet,
                                  faceSync: fs, faceSyncPath: facesync, crop: crop, mouth: mouth, mask: mask)
            let bar = ProgressBar(quiet: json)
            (scores, storedLSEC) = try await batch.run(database: URL(fileURLWithPath: study), studyName: studyName, jobs: jobs,
                                                       progress: { bar.update($0) })
        } else {
            for file in files {
                scores.append(try SyncScorer.score(video: file, audio: audio, syncNet: net, syncNetWeights: syncnet, faceSync: fs,
                                                   faceSyncPath: facesync, crop: crop, mouth: mouth, mask: mask, preset: p))
            }
        }
        // With a study, the filter covers every file scored so far (earlier runs included).
        let all = storedLSEC ?? Dictionary(uniqueKeysWithValues: scores.compactMap { s in s.result.map { (s.file, $0.lseC) } })
        let passing = threshold.map { t in all.filter { $0.value >= t }.map(\.key).sorted() }
        if json {
            if files.count == 1 && passing == nil {
                try JSONOutput.print(scores[0])
            } else {
                struct Batch: Encodable { var scores: [SyncScore]; var threshold: Double?; var passing: [String]? }
                try JSONOutput.print(Batch(scores: scores, threshold: threshold, passing: passing))
            }
        } else {
            for score in scores {
                if let r = score.result {
                    print("\(score.file): \(score.syncModel), preset \(p.name), \(score.frames) frames (source \(String(format: "%.3f", score.originalFPS)) fps)")
                    if p.roundTrip != nil { print("  \(p.provenance)") }
                    print(String(format: "  lse_c %.4f  lse_d %.4f  offset_frames %d", r.lseC, r.lseD, r.offsetFrames))
                    if files.count == 1 {
                        print("  mean distance per offset: " + zip(r.offsets, r.meanDistance).map { "\($0):\(String(format: "%.3f", $1))" }.joined(separator: " "))
                    }
                    if let t = score.truncatedTo { print(String(format: "  warning: audio and video durations differ; both cut to %.2f s", t)) }
                } else {
                    print("\(score.file): not scored: \(score.reason?.rawValue ?? "unknown") (\(score.detail ?? ""))")
                }
            }
            if let threshold, let passing {
                print("\(passing.count) of \(files.count) files at or above LSE-C \(threshold):")
                for f in passing { print("  \(f)") }
            }
            if let study { print("stored in \(study) (study '\(studyName)'); rerun to resume") }
        }
        if scores.contains(where: { $0.result == nil }) { throw ExitStatus.incomplete }
    }
}

/// Reading --boxes.
extension MeasureSync {
    /// `[[x, y, w, h], ...]`, one box per frame after resampling to 25 fps.
    static func readBoxes(_ path: String) throws -> [Box] {
        guard let data = FileManager.default.contents(atPath: path) else { throw InputError("\(path): no such file") }
        guard let rows = (try? JSONSerialization.jsonObject(with: data)) as? [[Any]] else {
            throw InputError("\(path): expected a JSON list of [x, y, w, h] boxes, one per frame")
        }
        return try rows.enumerated().map { i, row in
            let v = row.compactMap { ($0 as? NSNumber)?.intValue }
            guard v.count == 4, v[2] > 0, v[3] > 0 else { throw InputError("\(path): box \(i) is not [x, y, w, h] with positive size") }
            return Box(x: v[0], y: v[1], width: v[2], height: v[3])
        }
    }
}

/// `trajprobe facesync`: the weight-free sync model (fit).
struct FaceSyncCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "facesync",
        abstract: "FaceSync-CCA, the sync model that needs no weights.",
        discussion: ExitStatus.help,
        subcommands: [Fit.self])

    /// `trajprobe facesync fit`: FaceSync-CCA fitted on a manifest's in-sync clips.
    struct Fit: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Fit FaceSync-CCA on in-sync clips of a manifest (id, video, identity, mask or box).",
            discussion: ExitStatus.discussion("""
                Canonical correlation between the mouth crop's low-frequency DCT (5-frame windows) and \
                13x20 MFCC windows, regularised, solved with LAPACK; window embeddings are unit length.

                  trajprobe facesync fit bank.yaml -o facesync.json
                  trajprobe measure sync clip.mp4 --facesync facesync.json --mask mask.png
                """))
        @Argument(help: "Manifest YAML (the probe-set format); dubbed entries are skipped.") var manifest: String
        @Option(name: .shortAndLong, help: "Model file to write.") var output: String
        @Option(help: "Canonical components kept.") var components = 8
        @Option(help: "Ridge regularisation of the covariances.") var regularisation = 0.1

        func run() async throws {
            let model = try SyncScorer.fitFaceSync(manifest: URL(fileURLWithPath: manifest), components: components, regularisation: regularisation)
            try model.save(to: output)
            print("FaceSync-CCA fitted on \(model.trainingWindows) windows, canonical correlations "
                  + model.correlations.map { String(format: "%.3f", $0) }.joined(separator: " ") + "; wrote \(output)")
        }
    }
}
