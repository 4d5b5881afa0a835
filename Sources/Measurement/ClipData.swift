import Digest
import Foundation
import Media
import Metrics
import Store

/// One clip decoded for the probe: reference frames at the teacher's resolution, the driving
/// audio at 16 kHz, its per-frame audio features, the regions, and the GT video for the sync
/// ceiling (the audio's own video: for a dubbed probe, the clip the audio came from).
package struct ClipData: Sendable {
    /// The clip's id in the probe set (its name in the study).
    package var id: String
    /// The person in the clip (drop modes and the bank group clips by it).
    package var identity: String
    /// Reference frames, `[B]`, resized to the working resolution, 8-bit as decoded.
    package var frames: [Frame]
    /// Driving audio, 16 kHz mono, trimmed to `frames.count` video frames.
    package var audio: Audio
    /// Per-frame audio features `[B, AudioFrameFeatures.count]`.
    package var features: [Float]
    /// The mouth and upper-face regions at the working resolution.
    package var regions: RegionMask
    /// The video whose mouth matches the driving audio, at the working resolution.
    package var gtFrames: [Frame]
    /// The clip as the study registers it (paths, hashes, size).
    package var spec: ClipSpec
    /// Whether the driving audio is another clip's.
    package var isDubbed: Bool

    /// Frames in the clip.
    package var count: Int { frames.count }

    /// Decodes one probe-set clip: video at 25 fps resized to `resolution`, audio at 16 kHz, the
    /// mask at the working resolution. Fails with the clip's file named.
    package static func load(_ clip: ProbeSetClip, resolution: Int, gtVideo: String?) throws -> ClipData {
        try load(clip, width: resolution, height: resolution, gtVideo: gtVideo)
    }

    /// Same at any frame size (imported videos are measured at their own size).
    package static func load(_ clip: ProbeSetClip, width: Int, height: Int, gtVideo: String?) throws -> ClipData {
        let options = VideoDecodeOptions(targetFPS: 25, size: (width, height))
        let reader = try VideoReader(path: clip.video, options: options)
        let frames = try reader.readAll()
        let audioPath = clip.audio ?? clip.video
        var audio = try AudioDecoder.decode(path: audioPath, sampleRate: 16_000)
        let audioFrames = audio.samples.count / AudioFrameFeatures.samplesPerFrame
        var gtSource: [Frame]? = nil
        if let gtVideo, gtVideo != clip.video { gtSource = try VideoReader(path: gtVideo, options: options).readAll() }
        // Audio and video of different lengths: the shorter rules (a dubbed pair rarely matches).
        let count = min(frames.count, audioFrames, gtSource?.count ?? Int.max)
        guard count >= AudioFrameFeatures.minimumFrames else {
            throw DriverError.clipTooShort(clip: clip.id, frames: count, needed: AudioFrameFeatures.minimumFrames)
        }
        audio.samples = Array(audio.samples.prefix(count * AudioFrameFeatures.samplesPerFrame))
        let regions: RegionMask
        if let mask = clip.mask {
            regions = try RegionMask(maskPath: mask, width: width, height: height)
        } else if let box = clip.box {
            // Boxes are given in the source video's pixels; scale to the working resolution.
            let sx = Double(width) / Double(reader.info.width), sy = Double(height) / Double(reader.info.height)
            let scaled = Box(x: Int((Double(box.x) * sx).rounded(.down)), y: Int((Double(box.y) * sy).rounded(.down)),
                             width: max(1, Int((Double(box.width) * sx).rounded(.up))),
                             height: max(1, Int((Double(box.height) * sy).rounded(.up))))
            regions = try RegionMask(box: scaled, width: width, height: height, source: "\(clip.id) box")
        } else {
            throw DriverError.noRegions(clip: clip.id)
        }
        let gt = Array((gtSource ?? frames).prefix(count))
        let spec = ClipSpec(name: clip.id, referencePath: clip.video, audioPath: audioPath, maskPath: clip.mask,
                            referenceSHA256: try fileSHA256(clip.video), audioSHA256: try fileSHA256(audioPath),
                            maskSHA256: try clip.mask.map(fileSHA256), frames: count, fps: 25,
                            mask: clip.mask == nil ? clip.box.map { "box \($0)" } : "png")
        return ClipData(id: clip.id, identity: clip.identity, frames: Array(frames.prefix(count)), audio: audio,
                        features: AudioFrameFeatures.compute(audio, frames: count), regions: regions,
                        gtFrames: gt, spec: spec, isDubbed: clip.isDubbed)
    }

    /// Frames as a `[B, H*W*3]` tensor in [0, 1], scaled exactly as `Frame.image()` scales them.
    package func pixelTensor() -> Tensor { ClipData.tensor(frames) }

    /// `frames` as a `[B, H*W*3]` tensor of values in [0, 1].
    package static func tensor(_ frames: some Collection<Frame>) -> Tensor {
        let size = frames.first!.rgb.count
        var data = [Float](); data.reserveCapacity(frames.count * size)
        for f in frames { data.append(contentsOf: f.rgb.lazy.map { Float($0) * (1 / 255) }) }
        return Tensor(unchecked: [frames.count, size], data)
    }

    /// The first `n` frames with their audio and features (a prediction shorter than its
    /// reference is measured over the frames both have).
    package func prefix(_ n: Int) -> ClipData {
        var out = self
        out.frames = Array(frames.prefix(n))
        out.gtFrames = Array(gtFrames.prefix(n))
        out.audio.samples = Array(audio.samples.prefix(n * AudioFrameFeatures.samplesPerFrame))
        out.features = Array(features.prefix(n * AudioFrameFeatures.count))
        return out
    }

    /// Per-pixel keep weight (1 on the upper face, 0 on the mouth): what a lip-sync teacher sees
    /// of the reference.
    package var keepMask: [Float] { regions.mouth.map { $0 != 0 ? 0 : 1 } }
}

/// SHA-256 of a file's bytes (provenance of weights and models); a missing file is
/// ``MediaError/fileNotFound(path:)``.
package func fileSHA256(_ path: String) throws -> String {
    do { return SHA256Digest.hex(try Data(contentsOf: URL(fileURLWithPath: path), options: .mappedIfSafe)) }
    catch { throw MediaError.fileNotFound(path: path) }
}

/// The analytic teacher's audio conditioning, computed from the driving audio alone: per video
/// frame (640 samples at 16 kHz), log energy in dB, zero-crossing rate, and the mean of MFCC c1
/// over the frame's four MFCC rows. Low-dimensional on purpose: the teacher standardises them and
/// adds noise, so the audio informs the mouth without determining it (DESIGN.md).
package enum AudioFrameFeatures {
    /// Features per video frame.
    package static let count = 3
    /// Audio samples per video frame (16 kHz at 25 fps).
    package static let samplesPerFrame = 640
    /// The shortest clip the sync measures can score (5-frame windows and a ±15 frame sweep).
    package static let minimumFrames = 20

    /// The features of `frames` video frames of `audio`, `[frames, count]` row-major.
    package static func compute(_ audio: Audio, frames: Int) -> [Float] {
        let s = audio.samples
        let mfcc = try? MFCC().compute(audio: audio, source: "features")
        var out = [Float](repeating: 0, count: frames * count)
        for k in 0..<frames {
            let lo = k * samplesPerFrame, hi = min(s.count, lo + samplesPerFrame)
            var energy: Float = 0, crossings = 0
            if hi > lo {
                for j in lo..<hi {
                    energy += s[j] * s[j]
                    if j > lo && (s[j] >= 0) != (s[j - 1] >= 0) { crossings += 1 }
                }
                energy /= Float(hi - lo)
            }
            out[k * count] = 10 * log10(energy + 1e-10)
            out[k * count + 1] = Float(crossings) / Float(samplesPerFrame)
            if let m = mfcc {
                var c1: Double = 0, n = 0
                for r in (4 * k)..<min(4 * k + 4, m.frames) { c1 += Double(m.values[r * m.numcep + 1]); n += 1 }
                out[k * count + 2] = n > 0 ? Float(c1 / Double(n)) : 0
            }
        }
        return out
    }
}
