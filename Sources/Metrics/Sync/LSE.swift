import Foundation

/// How the offset sweep treats windows whose shifted partner lies outside the clip.
public enum LSEOffsetMode: String, Sendable, Codable, CaseIterable {
    /// syncnet_python: the audio embeddings are zero-padded by `vshift` rows at both ends
    /// (`F.pad(feat2, (0, 0, vshift, vshift))`), so every offset averages over every video window.
    case pad
    /// Only overlapping windows: each offset averages over the windows whose partner exists
    /// (Lip Forcing's SyncNet reward scorer); no zero vectors enter the means.
    case truncate
}

/// LSE-C / LSE-D / AV offset from per-window video and audio embeddings.
///
/// Sign convention (syncnet_python's): `offsetFrames = vshift - argmin`, where index `j` of the
/// sweep compares video window `i` with audio window `i + j - vshift`. Audio that is *delayed* by
/// k frames (the sound comes k frames after the mouth moves) gives `offsetFrames = -k`; audio that
/// leads the video by k frames gives `+k`; 0 is in sync.
public struct LSEResult: Sendable, Codable, Equatable {
    /// Sync-C: median − min of the mean distances over offsets (higher is better).
    public var lseC: Double
    /// Sync-D: min over offsets of the mean distance (lower is better).
    public var lseD: Double
    /// AV offset in frames at the minimum (see the sign convention above).
    public var offsetFrames: Int
    /// How windows without a partner at an offset were treated.
    public var mode: LSEOffsetMode
    /// The offsets swept, in syncnet_python's order: `vshift, vshift-1, ..., -vshift`.
    public var offsets: [Int]
    /// Mean distance per offset, aligned with ``offsets``.
    public var meanDistance: [Double]
    /// Per video window, the distance at the best offset (nil in `truncate` mode where that
    /// window has no partner at the best offset).
    public var windowDistance: [Double?]
    /// Per window, `median(meanDistance) - windowDistance` (syncnet_python's `fconf`).
    public var windowConfidence: [Double?]
    /// ``windowConfidence`` through `scipy.signal.medfilt(kernel_size=9)` (zero-padded ends), as
    /// syncnet_python prints it; only in `pad` mode (nil elsewhere).
    public var windowConfidenceSmoothed: [Double]?

    enum CodingKeys: String, CodingKey {
        case lseC = "lse_c", lseD = "lse_d", offsetFrames = "offset_frames", mode, offsets
        case meanDistance = "mean_distance", windowDistance = "window_distance"
        case windowConfidence = "window_confidence", windowConfidenceSmoothed = "window_confidence_smoothed"
    }
}

/// The offset sweep that turns video and audio embeddings (SyncNet or FaceSync) into LSE-C,
/// LSE-D and the AV offset, as syncnet_python's `evaluate` computes them.
public enum LSE {
    /// `torch.nn.functional.pairwise_distance`'s default eps, added to the difference.
    public static let pairwiseEps = 1e-6

    /// Runs the offset sweep of syncnet_python's `calc_pdist` / `evaluate`.
    ///
    /// - Parameters:
    ///   - video: row-major `[videoWindows x dim]` embeddings (`im_feat`).
    ///   - audio: row-major `[audioWindows x dim]` embeddings (`cc_feat`).
    ///   - vshift: the sweep covers `-vshift...vshift` (syncnet_python's `--vshift`, 15).
    public static func evaluate(video: [Float], audio: [Float], dim: Int, vshift: Int = 15,
                                mode: LSEOffsetMode = .pad, source: String = "clip") throws(MetricsError) -> LSEResult {
        guard dim > 0 else { throw .invalidArgument(source: source, detail: "embedding dimension must be positive") }
        guard vshift >= 0 else { throw .invalidArgument(source: source, detail: "vshift must be ≥ 0") }
        guard video.count % dim == 0, audio.count % dim == 0 else {
            throw .sizeMismatch(source: source, detail: "embedding counts \(video.count), \(audio.count) are not multiples of dim \(dim)")
        }
        let nv = video.count / dim, na = audio.count / dim
        guard nv > 0, na > 0 else { throw .emptyInput(source: source) }
        try video.withUnsafeBufferPointer { p throws(MetricsError) in try checkFinite(p, source: "\(source) video embeddings") }
        try audio.withUnsafeBufferPointer { p throws(MetricsError) in try checkFinite(p, source: "\(source) audio embeddings") }
        if mode == .truncate {
            // Every offset needs at least one overlapping pair.
            for j in 0...(2 * vshift) {
                let d = j - vshift
                if min(nv, na - d) <= max(0, -d) {
                    throw .clipTooShort(source: source, windows: min(nv, na), needed: vshift + 1)
                }
            }
        }
        let width = 2 * vshift + 1
        // dist[i * width + j]: video window i vs audio window i + j - vshift (nil: no partner).
        var dist = [Double](repeating: .nan, count: nv * width)
        video.withUnsafeBufferPointer { pv in
            audio.withUnsafeBufferPointer { pa in
                for i in 0..<nv {
                    let v = pv.baseAddress! + i * dim
                    for j in 0..<width {
                        let ai = i + j - vshift
                        var s = 0.0
                        if ai >= 0 && ai < na {
                            let a = pa.baseAddress! + ai * dim
                            for k in 0..<dim {
                                let d = Double(v[k]) - Double(a[k]) + pairwiseEps
                                s += d * d
                            }
                        } else if mode == .pad {
                            for k in 0..<dim {
                                let d = Double(v[k]) + pairwiseEps
                                s += d * d
                            }
                        } else {
                            continue
                        }
                        dist[i * width + j] = s.squareRoot()
                    }
                }
            }
        }
        var mean = [Double](repeating: 0, count: width)
        for j in 0..<width {
            var s = 0.0, n = 0
            for i in 0..<nv where !dist[i * width + j].isNaN {
                s += dist[i * width + j]; n += 1
            }
            mean[j] = s / Double(n)
        }
        var best = 0
        for j in 1..<width where mean[j] < mean[best] { best = j }
        // torch.median: the lower middle element.
        let median = mean.sorted()[(width - 1) / 2]
        let windowDistance: [Double?] = (0..<nv).map { i in
            let d = dist[i * width + best]
            return d.isNaN ? nil : d
        }
        let windowConfidence = windowDistance.map { $0.map { median - $0 } }
        let smoothed: [Double]? = mode == .pad ? medfilt(windowConfidence.map { $0! }, kernel: 9) : nil
        return LSEResult(lseC: median - mean[best], lseD: mean[best], offsetFrames: vshift - best, mode: mode,
                         offsets: (0..<width).map { vshift - $0 }, meanDistance: mean,
                         windowDistance: windowDistance, windowConfidence: windowConfidence,
                         windowConfidenceSmoothed: smoothed)
    }

    /// `scipy.signal.medfilt`: median of each `kernel`-long neighbourhood, zero-padded at the ends.
    static func medfilt(_ x: [Double], kernel: Int) -> [Double] {
        let h = kernel / 2
        return (0..<x.count).map { i in
            var window = [Double]()
            window.reserveCapacity(kernel)
            for k in (i - h)...(i + h) { window.append(k >= 0 && k < x.count ? x[k] : 0) }
            window.sort()
            return window[h]
        }
    }
}
