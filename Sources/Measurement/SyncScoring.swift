import Foundation
import Media
import Metrics
import Store

/// Scoring one video's lip sync outside a probe (`trajprobe measure sync`), with every
/// preprocessing choice fixed by a named preset and recorded with the result.
///
/// Why presets: SyncNet scores that differ between papers and scripts almost always differ in
/// preprocessing (crop, resize, colour order, frame rate, offset handling, audio scale), so the
/// choices travel with the numbers.
public struct SyncPreset: Sendable, Equatable, Codable {
    /// The name users pass (`--preset`) and studies store.
    public var name: String
    /// `pad` (syncnet_python: zero-padded audio features) or `truncate` (Lip Forcing's reward
    /// scorer: each offset uses only overlapping windows).
    public var offsetMode: LSEOffsetMode
    /// Largest audio–video offset swept, in frames, either way.
    public var vshift: Int
    /// Frame rate the video is resampled to before scoring (SyncNet was trained at 25 fps).
    public var fps: Double
    /// Side of the square crop the network sees, in pixels.
    public var cropSize: Int
    /// How frames are resized to `cropSize`, in words.
    public var resize: String
    /// Channel order and value range the network receives, in words.
    public var colourOrder: String
    /// The audio sample scale MFCCs are computed on, in words.
    public var audioScale: String
    /// What region of the frame is cropped, in words.
    public var crop: String
    /// syncnet_python's file extraction (frames through JPEG, audio through ffmpeg's 16-bit WAV)
    /// instead of the decoded frames; nil for the raw-frame presets, which keeps it out of their
    /// stored JSON (studies scored before it existed resume unchanged).
    public var roundTrip: FrameRoundTrip? = nil

    /// Scores the decoded frames themselves (no JPEG round trip): what a probe or an import sees,
    /// and the reference the JPEG preset's difference is measured against.
    public static let syncnetPython = SyncPreset(name: "syncnet_python", offsetMode: .pad, vshift: 15, fps: 25, cropSize: 224,
                                                 resize: "cv2.INTER_LINEAR on 8-bit", colourOrder: "BGR, 0..255",
                                                 audioScale: "int16 (16 kHz mono WAV)", crop: "whole pre-aligned face frame, or a box")
    /// syncnet_python's `evaluate()` as papers ran it on a video file: its ffmpeg frame and audio
    /// extraction and `cv2.imread`, reproduced in process (see ``provenance``).
    public static let syncnetPythonJPEG = SyncPreset(name: "syncnet_python-jpeg", offsetMode: .pad, vshift: 15, fps: 25, cropSize: 224,
                                                     resize: "cv2.INTER_LINEAR on 8-bit (identity on 224x224 crops)",
                                                     colourOrder: "BGR, 0..255 (cv2.imread)",
                                                     audioScale: "int16 (ffmpeg -async 1 -ac 1 -acodec pcm_s16le -ar 16000)",
                                                     crop: "whole pre-aligned face frame, or a box (cut after the JPEG round trip)",
                                                     roundTrip: .ffmpegJPEG)
    /// Lip Forcing's reward scorer: raw frames like ``syncnetPython`` but offsets use only overlapping
    /// windows (`truncate`), so its scores can be compared with that paper's rewards.
    public static let lipForcingReward = SyncPreset(name: "lipforcing-reward", offsetMode: .truncate, vshift: 15, fps: 25, cropSize: 224,
                                                    resize: "cv2.INTER_LINEAR on 8-bit", colourOrder: "BGR, 0..255",
                                                    audioScale: "int16 (16 kHz mono WAV)", crop: "whole pre-aligned face frame")
    /// Every preset: the names `--preset` accepts, listed in this order when a name is unknown.
    public static let all = [syncnetPython, syncnetPythonJPEG, lipForcingReward]

    /// Every step between the file and the network, in words (printed by `measure sync --help`
    /// and stored with each study as part of `sync_preset`).
    public var provenance: String {
        let frames: String
        switch roundTrip ?? FrameRoundTrip.none {
        case .none:
            frames = "frames: decoded by libav, converted to RGB by libswscale (bilinear, accurate rounding), no JPEG round trip"
        case .ffmpegJPEG:
            frames = "frames as syncnet_python's evaluate() extracts them (ffmpeg -y -i VIDEO -threads 1 -f image2 %06d.jpg): "
                + "libav decode, yuvj420p (full range) by libswscale as the CLI's auto-inserted scale filter, "
                + "libavcodec mjpeg with the CLI's defaults (rate control at 200 kb/s, qmin 2, qmax 31, time base 1/25, "
                + "one thread, optimal Huffman tables), in memory; decoded as cv2.imread (libjpeg-turbo \(JPEG.libjpegTurboVersion), "
                + "ISLOW IDCT, fancy upsampling); audio as ffmpeg -async 1 -ac 1 -vn -acodec pcm_s16le -ar 16000 "
                + "(libswresample s16, async=1, first_pts=0); no length cut (evaluate's min_length decides)"
        }
        return "\(name): \(frames); \(Int(fps)) fps (nearest frame), \(cropSize)x\(cropSize) \(resize), \(colourOrder), "
            + "audio \(audioScale), MFCC 13x20 windows, offsets -\(vshift)..\(vshift) \(offsetMode.rawValue)"
    }

    /// The preset called `name`, or nil so the caller can list the valid names.
    public static func named(_ name: String) -> SyncPreset? { all.first { $0.name == name } }
}

/// Why a clip got no sync score (stored and printed; never a silent gap).
public enum SyncReason: String, Sendable, Codable {
    /// Fewer frames or audio samples than one sync window.
    case clipTooShort = "clip_too_short"
    /// The audio track is silent, so every offset scores alike.
    case silentAudio = "silent_audio"
    /// The mouth box does not lie inside the frame.
    case boxOutsideFrame = "box_outside_frame"
    /// Decoded frames held NaN or infinite values.
    case nonFiniteFrames = "non_finite_frames"
    /// The file could not be decoded, or failed for another recorded reason.
    case unreadable = "unreadable"
}

/// One file's sync score with everything needed to reproduce it (model, weights hash, preset,
/// library versions), so a number never travels without its preprocessing.
public struct SyncScore: Sendable, Codable {
    /// The video scored.
    public var file: String
    /// Where the audio came from: a separate file, or the video itself.
    public var audio: String
    /// `syncnet-v2` or `facesync-cca`.
    public var syncModel: String
    /// The preprocessing the score was made with.
    public var preset: SyncPreset
    /// SHA-256 of the weights or fitted model file, so scores from different weights are never mixed.
    public var weightsSHA256: String
    /// The video's own frame rate before resampling to the preset's `fps`.
    public var originalFPS: Double
    /// Frames scored, after resampling (and any cut to the audio's length).
    public var frames: Int
    /// nil when the clip could not be scored; `reason` says why.
    public var result: LSEResult?
    /// Why the clip got no score; nil when `result` is set.
    public var reason: SyncReason?
    /// The underlying error's text, for the reader who must fix the file.
    public var detail: String?
    /// libav versions the file was decoded with; decoders can change frames and so scores.
    public var libav: String
    /// trajprobe's version that produced the score.
    public var toolkit: String
    /// Audio and video durations differed: both were cut to the shorter (stated rule).
    public var truncatedTo: Double?
}

/// The sync model a study scores with: SyncNet-v2 (exact, needs weights) or FaceSync-CCA.
public enum ClipSyncModel: Sendable {
    /// FaceSync-CCA: scores the mouth box; needs no weights but a model fitted on in-sync clips.
    case faceSync(FaceSyncModel)
    /// SyncNet-v2 with its weights, and the preset fixing its preprocessing.
    case syncNet(SyncNet, SyncPreset)

    /// The model's name as studies store it (`sync_model`).
    public var name: String {
        switch self {
        case .faceSync: return SyncModelName.faceSyncCCA.rawValue
        case .syncNet: return SyncModelName.syncNetV2.rawValue
        }
    }

    /// Every preprocessing choice behind the scores, stored with the study (`sync_preset`).
    public var presetDescription: String {
        switch self {
        case .faceSync:
            return "25 fps, 5-frame mouth windows, MFCC 13x20, vshift 15, pad, unit-length CCA embeddings"
        case .syncNet(_, let p):
            if p.roundTrip != nil { return p.provenance }
            return "\(p.name): whole-frame 224 crop, BGR 0..255, MFCC 13x20, vshift \(p.vshift), \(p.offsetMode.rawValue)"
        }
    }

    /// LSE of a clip: the mouth box is FaceSync's input; SyncNet takes the whole pre-aligned frame.
    public func score(frames: [Frame], audio: Audio, mouth: Box, source: String) throws -> LSEResult {
        switch self {
        case .faceSync(let m):
            return try m.score(frames: frames, audio: audio, mouth: mouth, source: source)
        case .syncNet(let net, let preset):
            return try SyncScorer.syncNetLSE(net, frames: frames, audio: audio, crop: .wholeFrame, preset: preset, source: source)
        }
    }
}

/// Scoring one file or one decoded clip with SyncNet-v2 or FaceSync-CCA; shared by `measure sync`,
/// batch scoring and studies so every path preprocesses alike.
public enum SyncScorer {
    /// syncnet_python's evaluate: windows = min(frames, samples / 640) − 5, MFCC on the int16
    /// scale, the offset sweep of the preset.
    public static func syncNetLSE(_ net: SyncNet, frames: [Frame], audio: Audio, crop: SyncNet.Crop, preset: SyncPreset,
                                  source: String) throws -> LSEResult {
        let windows = min(frames.count, audio.samples.count / 640) - SyncNet.windowFrames
        guard windows >= 1 else { throw MetricsError.clipTooShort(source: source, windows: max(0, windows), needed: 1) }
        guard audio.samples.contains(where: { $0 != 0 }) else { throw MetricsError.silentAudio(source: source) }
        let v = try net.embedVideo(frames: frames, crop: crop, windows: windows)
        let mfcc = try MFCC().compute(audio: audio, source: source)
        let a = try net.embedAudio(mfcc: mfcc.values.map { Float($0) }, frameCount: mfcc.frames, windows: windows)
        return try LSE.evaluate(video: v, audio: a, dim: SyncNet.embeddingSize, vshift: preset.vshift, mode: preset.offsetMode, source: source)
    }

    /// Scores `video` (audio from `audio` or the video's own track) with SyncNet-v2 weights or a
    /// FaceSync-CCA model. The video is resampled to 25 fps first (original rate recorded).
    public static func score(video: String, audio: String?, syncNet: SyncNet?, syncNetWeights: String?,
                             faceSync: FaceSyncModel?, faceSyncPath: String?, crop: SyncNet.Crop, mouth: Box?,
                             mask: String? = nil, preset: SyncPreset) throws -> SyncScore {
        let roundTrip = preset.roundTrip ?? FrameRoundTrip.none
        let reader = try VideoReader(path: video, options: VideoDecodeOptions(targetFPS: preset.fps, roundTrip: roundTrip))
        var frames = try reader.readAll()
        var sound = roundTrip == .none ? try AudioDecoder.decode(path: audio ?? video, sampleRate: 16_000)
                                       : try AudioDecoder.decodeAsFFmpegWAV(path: audio ?? video, sampleRate: 16_000)
        let videoSeconds = Double(frames.count) / preset.fps, audioSeconds = sound.duration
        var truncated: Double?
        // More than 0.1 s apart (AAC priming alone is ~64 ms): cut both to the shorter and say so.
        // Not for syncnet_python's own extraction: evaluate() cuts nothing (its last MFCC frames
        // read audio past the last video window).
        if roundTrip == .none && abs(videoSeconds - audioSeconds) > 0.1 {
            let n = min(frames.count, sound.samples.count / 640)
            frames = Array(frames.prefix(n))
            sound.samples = Array(sound.samples.prefix(n * 640))
            truncated = Double(n) / preset.fps
        }
        let model = syncNet != nil ? "syncnet-v2" : "facesync-cca"
        let sha = syncNet?.weightsSHA256() ?? (faceSyncPath.map { (try? fileSHA256($0)) ?? "" } ?? "")
        var score = SyncScore(file: video, audio: audio ?? video, syncModel: model, preset: preset, weightsSHA256: sha,
                              originalFPS: reader.info.fps, frames: frames.count, result: nil, reason: nil, detail: nil,
                              libav: MediaLibraries.version, toolkit: Toolkit.version, truncatedTo: truncated)
        do {
            if let net = syncNet {
                score.result = try syncNetLSE(net, frames: frames, audio: sound, crop: crop, preset: preset, source: video)
            } else if let fs = faceSync {
                guard let first = frames.first else { throw MetricsError.emptyInput(source: video) }
                // The mask is resized to each file's frames, so one mask serves a directory of clips.
                let box = try mouth ?? mask.map { try RegionMask(maskPath: $0, width: first.width, height: first.height).mouthBox }
                guard let box else { throw MetricsError.invalidArgument(source: video, detail: "FaceSync needs a mouth box or mask") }
                score.result = try fs.score(frames: frames, audio: sound, mouth: box, vshift: preset.vshift,
                                            mode: preset.offsetMode, source: video)
            }
        } catch let error as MetricsError {
            score.reason = SyncScorer.reason(error)
            score.detail = error.description
        } catch let error as NetsError {
            switch error {
            case .missingWeights, .unreadable, .truncated, .badHeader, .missingTensor, .wrongShape, .unsupportedDType, .nonFiniteWeights: throw error
            default:
                score.reason = .unreadable
                score.detail = error.description
            }
        }
        return score
    }

    static func reason(_ error: MetricsError) -> SyncReason {
        switch error {
        case .clipTooShort: return .clipTooShort
        case .silentAudio: return .silentAudio
        case .boxOutsideFrame: return .boxOutsideFrame
        case .nonFinite: return .nonFiniteFrames
        default: return .unreadable
        }
    }
}

/// Batch sync scoring into a study database (dataset filtering at a Sync-C threshold): every file
/// is a clip of the arm `scored` at step 0, each one transaction; files that cannot be scored are
/// recorded as failed units with their reason code; a rerun skips what is stored.
public struct SyncBatch: Sendable {
    /// The video files to score, each its own clip.
    public var files: [String]
    /// Each file's separate audio track, or nil to use the video's own.
    public var audioFor: @Sendable (String) -> String?
    /// The preprocessing every file is scored with.
    public var preset: SyncPreset
    /// SyncNet-v2 to score with; when nil, `faceSync` is used.
    public var syncNet: SyncNet?
    /// Path of the weights `syncNet` was loaded from, handed on to ``SyncScorer/score(video:audio:syncNet:syncNetWeights:faceSync:faceSyncPath:crop:mouth:mask:preset:)``.
    public var syncNetWeights: String?
    /// A fitted FaceSync-CCA model, used when `syncNet` is nil.
    public var faceSync: FaceSyncModel?
    /// Path of the FaceSync-CCA model file, hashed into each score.
    public var faceSyncPath: String?
    /// The region SyncNet-v2 sees.
    public var crop: SyncNet.Crop
    /// FaceSync's mouth box for every file; when nil it comes from `mask`.
    public var mouth: Box?
    /// A region mask resized to each file's frames, so one mask serves a directory of clips.
    public var mask: String?

    /// A batch over `files`, scored with `syncNet` when given, else with `faceSync`.
    public init(files: [String], audioFor: @escaping @Sendable (String) -> String? = { _ in nil }, preset: SyncPreset,
                syncNet: SyncNet?, syncNetWeights: String?, faceSync: FaceSyncModel?, faceSyncPath: String?,
                crop: SyncNet.Crop, mouth: Box?, mask: String? = nil) {
        self.mask = mask
        self.files = files; self.audioFor = audioFor; self.preset = preset; self.syncNet = syncNet
        self.syncNetWeights = syncNetWeights; self.faceSync = faceSync; self.faceSyncPath = faceSyncPath
        self.crop = crop; self.mouth = mouth
    }

    /// Every video file under the given paths (directories are searched recursively).
    public static func expand(_ paths: [String]) -> [String] {
        let extensions: Set<String> = ["mp4", "mov", "mkv", "avi", "webm", "m4v"]
        var out: [String] = []
        for p in paths {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: p, isDirectory: &isDir) else { out.append(p); continue }
            if !isDir.boolValue { out.append(p); continue }
            let walker = FileManager.default.enumerator(atPath: p)
            var found: [String] = []
            while let rel = walker?.nextObject() as? String {
                if extensions.contains((rel as NSString).pathExtension.lowercased()) { found.append(p + "/" + rel) }
            }
            out += found.sorted()
        }
        return out
    }

    /// Scores the files not yet stored; returns their scores and the LSE-C of every scored file in
    /// the study (earlier runs included), which is what a threshold filter needs.
    public func run(database: URL, studyName: String, jobs: Int,
                    progress: @escaping @Sendable (ProbeProgress) -> Void = { _ in }) async throws -> (scores: [SyncScore], lseC: [String: Double]) {
        let model = syncNet != nil ? "syncnet-v2" : "facesync-cca"
        let sha = syncNet?.weightsSHA256() ?? (faceSyncPath.map { (try? fileSHA256($0)) ?? "" } ?? "")
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]  // the config must compare equal on resume
        // Written as a v1 study's `sync_preset` object reads back (JSONSerialization, sorted), so
        // a study scored before v2 resumes.
        let presetObject = try JSONSerialization.jsonObject(with: try encoder.encode(preset), options: [.fragmentsAllowed])
        let presetJSON = String(decoding: try JSONSerialization.data(withJSONObject: presetObject, options: [.sortedKeys, .fragmentsAllowed]),
                                as: UTF8.self)
        // Videos scored as they are: one step, no CFG (w = 1).
        var parameters = StudyParameters()
        parameters.guidanceScale = 1
        parameters.numSteps = 1
        parameters.syncPreset = presetJSON
        let config = StudyRecord(name: studyName, teacherKind: "scored", teacherIdentity: "batch sync scoring",
                                       modelName: "none", dropMode: "none", syncModel: model, syncWeightsSHA256: sha,
                                       libavVersion: MediaLibraries.version,
                                       parameters: parameters)
        let store = try StudyStore.openOrCreate(at: database, config: config)
        try store.registerSteps([(j: 0, t: 0)])
        let arm = try store.registerArm(ArmSpec(family: .scored), isBaseline: true)
        var ids: [String: ClipID] = [:]
        for f in files { ids[f] = try store.registerClip(ClipSpec(name: f, referencePath: f, audioPath: audioFor(f) ?? f)) }
        let clipIDs = ids
        let finished = try store.finishedUnits()
        let todo = files.filter { !finished.contains(UnitKey(clip: clipIDs[$0]!, arm: arm, step: 0, seed: 0)) }
        let status = Status(phase: "scoring", progress: progress)
        status.start(total: todo.count, skipped: files.count - todo.count, phase: "scoring")
        let lanes = max(1, jobs > 0 ? jobs : ProcessInfo.processInfo.activeProcessorCount)
        let scores: [SyncScore] = try await withThrowingTaskGroup(of: SyncScore.self) { group in
            var next = 0, out: [SyncScore] = []
            func launch() {
                guard next < todo.count else { return }
                let file = todo[next]
                next += 1
                group.addTask {
                    let key = UnitKey(clip: clipIDs[file]!, arm: arm, step: 0, seed: 0)
                    var score: SyncScore
                    do {
                        score = try SyncScorer.score(video: file, audio: audioFor(file), syncNet: syncNet, syncNetWeights: syncNetWeights,
                                                     faceSync: faceSync, faceSyncPath: faceSyncPath, crop: crop, mouth: mouth,
                                                     mask: mask, preset: preset)
                    } catch let error as NetsError {
                        throw error
                    } catch {
                        // An unreadable file is a reason code, not the end of the batch.
                        score = SyncScore(file: file, audio: audioFor(file) ?? file, syncModel: model, preset: preset, weightsSHA256: sha,
                                          originalFPS: 0, frames: 0, result: nil, reason: .unreadable, detail: "\(error)",
                                          libav: MediaLibraries.version, toolkit: Toolkit.version, truncatedTo: nil)
                    }
                    if let r = score.result {
                        _ = try store.writeUnit(UnitResult(key: key, measurements: [
                            MeasurementValue(metric: MetricName.syncC, region: RegionName.face, value: r.lseC),
                            MeasurementValue(metric: MetricName.syncD, region: RegionName.face, value: r.lseD),
                            MeasurementValue(metric: MetricName.syncOffset, region: RegionName.face, value: Double(r.offsetFrames)),
                        ]))
                        status.unit(failed: false)
                    } else {
                        try store.markFailed(key, reason: "\(score.reason?.rawValue ?? "unreadable"): \(score.detail ?? "")")
                        status.unit(failed: true)
                    }
                    return score
                }
            }
            for _ in 0..<min(lanes, todo.count) { launch() }
            while let s = try await group.next() { out.append(s); launch() }
            return out
        }
        let counts = status.snapshot
        if counts.done + counts.failed == counts.total { try store.setStatus(counts.failed == 0 ? .finished : .incomplete) }
        let names = Dictionary(uniqueKeysWithValues: clipIDs.map { ($1, $0) })
        var stored: [String: Double] = [:]
        for v in try store.values(arm: arm, step: 0, metric: MetricName.syncC, region: RegionName.face) {
            if let name = names[v.clip] { stored[name] = v.value }
        }
        return (scores.sorted { $0.file < $1.file }, stored)
    }
}
