import Foundation
import Media

/// The per-window features FaceSync-CCA correlates, on SyncNet's time grid: window `i` is video
/// frames `i..<i+5` and MFCC frames `4i..<4i+20` (25 fps video, 16 kHz audio, 100 MFCC frames/s),
/// and a clip has `min(frames, samples / 640) - 5` windows, as syncnet_python's `evaluate`.
///
/// Video: the grey mouth box (OpenCV luma weights, unrounded), resampled bilinearly to
/// `cropSize x cropSize`, then the `dctSize x dctSize` lowest-frequency coefficients of its
/// orthonormal 2-D DCT-II (mouth opening and lip shape live in the low frequencies), concatenated
/// over the 5 frames. Audio: the 13 x 20 MFCC window (python_speech_features on int16-scale audio),
/// flattened frame-major. Slaney & Covell (2000) use the same two ingredients.
public struct FaceSyncFeatures: Sendable, Equatable, Codable {
    /// Side of the square grey mouth crop the DCT is taken of, in pixels.
    public var cropSize: Int = 32
    /// Low-frequency DCT coefficients kept per side (`dctSize²` per frame).
    public var dctSize: Int = 6
    /// Video frames per window (SyncNet's 5, 0.2 s at 25 fps).
    public var videoFrames: Int = 5
    /// MFCC rows per video frame (4: rows every 10 ms, frames every 40 ms).
    public var mfccPerFrame: Int = 4
    /// MFCC rows per window; must equal `mfccPerFrame * videoFrames`.
    public var mfccFrames: Int = 20
    /// Audio samples per video frame (640 = 16 kHz / 25 fps).
    public var samplesPerFrame: Int = 640

    /// The published setting: 32-pixel crop, 6 x 6 DCT, SyncNet's 5-frame window.
    public init() {}

    /// Largest `cropSize`: the DCT costs cropSize² per coefficient row and frame.
    public static let maxCropSize = 512
    /// Largest `dctSize` (coefficients per side kept; the mouth lives in the lowest few).
    public static let maxDCTSize = 32
    /// Longest window, in video frames (one second at 25 fps).
    public static let maxVideoFrames = 25

    /// Refuses settings the feature code cannot compute, before anything is sized from them: the
    /// time grid is fixed by 25 fps video and 16 kHz audio with MFCC rows every 10 ms (640
    /// samples and 4 MFCC rows per video frame, an audio window as long as the video window), and
    /// the sizes are bounded so that no product overflows or allocates without need.
    public func validate(source: String) throws(MetricsError) {
        func bad(_ field: String, _ detail: String) -> MetricsError {
            .modelFile(source: source, detail: "features.\(field) \(detail)")
        }
        guard (1...Self.maxCropSize).contains(cropSize) else { throw bad("cropSize", "\(cropSize) is not in 1...\(Self.maxCropSize)") }
        guard (1...min(cropSize, Self.maxDCTSize)).contains(dctSize) else {
            throw bad("dctSize", "\(dctSize) is not in 1...\(min(cropSize, Self.maxDCTSize)) (at most cropSize)")
        }
        guard (1...Self.maxVideoFrames).contains(videoFrames) else { throw bad("videoFrames", "\(videoFrames) is not in 1...\(Self.maxVideoFrames)") }
        guard samplesPerFrame == 640 else { throw bad("samplesPerFrame", "\(samplesPerFrame) is not 640 (16 kHz audio, 25 fps video)") }
        guard mfccPerFrame == 4 else { throw bad("mfccPerFrame", "\(mfccPerFrame) is not 4 (MFCC rows every 10 ms, 25 fps video)") }
        guard mfccFrames == mfccPerFrame * videoFrames else {
            throw bad("mfccFrames", "\(mfccFrames) is not \(mfccPerFrame * videoFrames) (the audio window must span the video window's \(videoFrames) frames)")
        }
    }

    /// Length of one window's video feature vector.
    public var videoDim: Int { videoFrames * dctSize * dctSize }
    /// Length of one window's audio feature vector (13 coefficients per MFCC row).
    public var audioDim: Int { mfccFrames * 13 }

    /// syncnet_python's window count for a clip.
    public func windowCount(frames: Int, samples: Int) -> Int {
        min(frames, samples / samplesPerFrame) - videoFrames
    }

    /// Per-frame DCT features of the mouth box, row-major `[frames x dctSize^2]`.
    public func frameFeatures(_ frames: [Frame], mouth: Box, source: String) throws(MetricsError) -> [Double] {
        let n = cropSize, m = dctSize
        // Orthonormal DCT-II basis rows, m x n.
        var basis = [Double](repeating: 0, count: m * n)
        for k in 0..<m {
            let s = k == 0 ? (1 / Double(n)).squareRoot() : (2 / Double(n)).squareRoot()
            for x in 0..<n { basis[k * n + x] = s * cos(Double.pi * Double(k) * Double(2 * x + 1) / Double(2 * n)) }
        }
        var out = [Double](repeating: 0, count: frames.count * m * m)
        var crop = [Double](repeating: 0, count: n * n)
        var tmp = [Double](repeating: 0, count: m * n)
        for (f, frame) in frames.enumerated() {
            guard mouth.fits(width: frame.width, height: frame.height) else {
                throw .boxOutsideFrame(source: "\(source) frame \(f)", box: mouth.description, width: frame.width, height: frame.height)
            }
            frame.rgb.withUnsafeBufferPointer { p in
                @inline(__always) func grey(_ x: Int, _ y: Int) -> Double {
                    let i = ((mouth.y + y) * frame.width + mouth.x + x) * 3
                    return 0.299 * Double(p[i]) + 0.587 * Double(p[i + 1]) + 0.114 * Double(p[i + 2])
                }
                let sx = Double(mouth.width) / Double(n), sy = Double(mouth.height) / Double(n)
                for y in 0..<n {
                    let fy = min(max((Double(y) + 0.5) * sy - 0.5, 0), Double(mouth.height - 1))
                    let y0 = Int(fy), y1 = min(y0 + 1, mouth.height - 1), wy = fy - Double(y0)
                    for x in 0..<n {
                        let fx = min(max((Double(x) + 0.5) * sx - 0.5, 0), Double(mouth.width - 1))
                        let x0 = Int(fx), x1 = min(x0 + 1, mouth.width - 1), wx = fx - Double(x0)
                        let top = grey(x0, y0) * (1 - wx) + grey(x1, y0) * wx
                        let bottom = grey(x0, y1) * (1 - wx) + grey(x1, y1) * wx
                        crop[y * n + x] = (top * (1 - wy) + bottom * wy) / 255
                    }
                }
            }
            // tmp = basis * crop (m x n), coefficients = tmp * basis^T (m x m).
            for k in 0..<m {
                for x in 0..<n {
                    var s = 0.0
                    for y in 0..<n { s += basis[k * n + y] * crop[y * n + x] }
                    tmp[k * n + x] = s
                }
            }
            for k in 0..<m {
                for l in 0..<m {
                    var s = 0.0
                    for x in 0..<n { s += tmp[k * n + x] * basis[l * n + x] }
                    out[f * m * m + k * m + l] = s
                }
            }
        }
        return out
    }

    /// Window features `[windows x videoDim]` and `[windows x audioDim]` of one clip.
    public func windows(frames: [Frame], audio: Audio, mouth: Box, source: String) throws(MetricsError) -> (video: [Double], audio: [Double], count: Int) {
        guard !frames.isEmpty else { throw .emptyInput(source: "\(source) video") }
        guard !audio.samples.isEmpty else { throw .emptyInput(source: "\(source) audio") }
        guard audio.samples.contains(where: { $0 != 0 }) else { throw .silentAudio(source: source) }
        for (f, frame) in frames.enumerated() where frame.width != frames[0].width || frame.height != frames[0].height {
            throw .sizeMismatch(source: "\(source) frame \(f)", detail: "\(frame.width)x\(frame.height) vs \(frames[0].width)x\(frames[0].height)")
        }
        let count = windowCount(frames: frames.count, samples: audio.samples.count)
        guard count >= 1 else { throw .clipTooShort(source: source, windows: max(0, count), needed: 1) }
        let perFrame = try frameFeatures(Array(frames.prefix(count + videoFrames)), mouth: mouth, source: source)
        let mfcc = try MFCC().compute(audio: audio, source: source)
        let fd = dctSize * dctSize
        var video = [Double](repeating: 0, count: count * videoDim)
        var aud = [Double](repeating: 0, count: count * audioDim)
        for i in 0..<count {
            for t in 0..<videoFrames {
                for d in 0..<fd { video[i * videoDim + t * fd + d] = perFrame[(i + t) * fd + d] }
            }
            for t in 0..<mfccFrames {
                let row = mfccPerFrame * i + t
                guard row < mfcc.frames else { break }
                for c in 0..<13 { aud[i * audioDim + t * 13 + c] = mfcc[row, c] }
            }
        }
        return (video, aud, count)
    }
}
