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
    public var name: String
    /// `pad` (syncnet_python: zero-padded audio features) or `truncate` (Lip Forcing's reward
    /// scorer: each offset uses only overlapping windows).
    public var offsetMode: LSEOffsetMode
    public var vshift: Int
    public var fps: Double
    public var cropSize: Int
    public var resize: String
    public var colourOrder: String
    public var audioScale: String
    public var crop: String

    public static let syncnetPython = SyncPreset(name: "syncnet_python", offsetMode: .pad, vshift: 15, fps: 25, cropSize: 224,
                                                 resize: "cv2.INTER_LINEAR on 8-bit", colourOrder: "BGR, 0..255",
                                                 audioScale: "int16 (16 kHz mono WAV)", crop: "whole pre-aligned face frame, or a box")
    public static let lipForcingReward = SyncPreset(name: "lipforcing-reward", offsetMode: .truncate, vshift: 15, fps: 25, cropSize: 224,
                                                    resize: "cv2.INTER_LINEAR on 8-bit", colourOrder: "BGR, 0..255",
                                                    audioScale: "int16 (16 kHz mono WAV)", crop: "whole pre-aligned face frame")
    public static let all = [syncnetPython, lipForcingReward]

    public static func named(_ name: String) -> SyncPreset? { all.first { $0.name == name } }
}

/// Why a clip got no sync score (stored and printed; never a silent gap).
public enum SyncReason: String, Sendable, Codable {
    case clipTooShort = "clip_too_short"
    case silentAudio = "silent_audio"
    case boxOutsideFrame = "box_outside_frame"
    case nonFiniteFrames = "non_finite_frames"
    case unreadable = "unreadable"
}

public struct SyncScore: Sendable, Codable {
    public var file: String
    public var audio: String
    public var syncModel: String
    public var preset: SyncPreset
    public var weightsSHA256: String
    public var originalFPS: Double
    public var frames: Int
    /// nil when the clip could not be scored; `reason` says why.
    public var result: LSEResult?
    public var reason: SyncReason?
    public var detail: String?
    public var libav: String
    public var toolkit: String
    /// Audio and video durations differed: both were cut to the shorter (stated rule).
    public var truncatedTo: Double?
}

public enum SyncScorer {
    /// Scores `video` (audio from `audio` or the video's own track) with SyncNet-v2 weights or a
    /// FaceSync-CCA model. The video is resampled to 25 fps first (original rate recorded).
    public static func score(video: String, audio: String?, syncNet: SyncNet?, syncNetWeights: String?,
                             faceSync: FaceSyncModel?, faceSyncPath: String?, crop: SyncNet.Crop, mouth: Box?,
                             preset: SyncPreset) throws -> SyncScore {
        let reader = try VideoReader(path: video, options: VideoDecodeOptions(targetFPS: preset.fps))
        var frames = try reader.readAll()
        var sound = try AudioDecoder.decode(path: audio ?? video, sampleRate: 16_000)
        let videoSeconds = Double(frames.count) / preset.fps, audioSeconds = sound.duration
        var truncated: Double?
        if abs(videoSeconds - audioSeconds) > 1 / preset.fps {
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
                let windows = min(frames.count, sound.samples.count / 640) - SyncNet.windowFrames
                guard windows >= 1 else { throw MetricsError.clipTooShort(source: video, windows: max(0, windows), needed: 1) }
                guard sound.samples.contains(where: { $0 != 0 }) else { throw MetricsError.silentAudio(source: video) }
                let v = try net.embedVideo(frames: frames, crop: crop, windows: windows)
                let mfcc = try MFCC().compute(audio: sound, source: video)
                let a = try net.embedAudio(mfcc: mfcc.values.map { Float($0) }, frameCount: mfcc.frames, windows: windows)
                score.result = try LSE.evaluate(video: v, audio: a, dim: SyncNet.embeddingSize, vshift: preset.vshift,
                                                mode: preset.offsetMode, source: video)
            } else if let fs = faceSync, let mouth {
                score.result = try fs.score(frames: frames, audio: sound, mouth: mouth, vshift: preset.vshift,
                                            mode: preset.offsetMode, source: video)
            }
        } catch let error as MetricsError {
            score.reason = SyncScorer.reason(error)
            score.detail = error.description
        } catch let error as NetsError {
            switch error {
            case .missingWeights, .unreadable, .truncated, .badHeader, .missingTensor, .wrongShape, .unsupportedDType: throw error
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

    /// Fits FaceSync-CCA on the (in-sync) clips of a probe-set manifest, at their own size.
    public static func fitFaceSync(manifest: URL, components: Int = 8, regularisation: Double = 0.1) throws -> FaceSyncModel {
        let set = try ProbeSet.load(manifest)
        var clips: [FaceSyncClip] = []
        for c in set.clips where !c.isDubbed {
            let info = try VideoReader(path: c.video).info
            let data = try ClipData.load(c, width: info.width, height: info.height, gtVideo: nil)
            clips.append(FaceSyncClip(name: c.id, frames: data.frames, audio: data.audio, mouth: data.regions.mouthBox))
        }
        return try FaceSyncModel.fit(clips: clips, components: components, regularisation: regularisation)
    }
}
