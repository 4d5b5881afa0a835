import Measurement

/// The analytic teacher's data: frames with per-frame audio features, identity and clip ids.
///
/// Independent of video decoding on purpose: the demo, the data layer or a test fills it from
/// whatever source (decoded clips resized to 32x32, a synthetic renderer). Frames are float HWC
/// in [0, 1], flattened, all the same size.
public struct FrameBank: Sendable, Equatable {
    /// Frame width in pixels.
    public let width: Int
    /// Frame height in pixels.
    public let height: Int
    /// Values per pixel (3 for RGB).
    public let channels: Int
    /// Audio features per frame.
    public let featureCount: Int
    /// `count × frameSize` values, row-major.
    public private(set) var frames: [Float] = []
    /// `count × featureCount` raw (unstandardised) audio features.
    public private(set) var audioFeatures: [Float] = []
    /// Identity of each frame, bank row order; the identity prior restricts branches by it.
    public private(set) var identities: [String] = []
    /// Clip of each frame, bank row order; probe clips are held out by it.
    public private(set) var clips: [String] = []

    /// An empty bank for frames of this size; throws on a non-positive size or feature count.
    public init(width: Int, height: Int, channels: Int, featureCount: Int) throws(ProbeError) {
        guard width > 0, height > 0, channels > 0 else { throw .invalidBank("frame size \(width)x\(height)x\(channels)") }
        guard featureCount > 0 else { throw .invalidBank("audio feature count must be positive") }
        self.width = width
        self.height = height
        self.channels = channels
        self.featureCount = featureCount
    }

    /// Values per frame, `width * height * channels`.
    public var frameSize: Int { width * height * channels }
    /// Number of frames in the bank.
    public var count: Int { identities.count }

    /// Adds one frame (HWC, `frameSize` values) with its audio features.
    public mutating func append(frame: [Float], audio: [Float], identity: String, clip: String) throws(ProbeError) {
        guard frame.count == frameSize else {
            throw .invalidBank("frame \(count) of clip '\(clip)' has \(frame.count) values, expected \(frameSize)")
        }
        guard audio.count == featureCount else {
            throw .invalidBank("frame \(count) of clip '\(clip)' has \(audio.count) audio features, expected \(featureCount)")
        }
        guard frame.allSatisfy({ $0.isFinite }), audio.allSatisfy({ $0.isFinite }) else {
            throw .invalidBank("frame \(count) of clip '\(clip)' has a non-finite value")
        }
        frames.append(contentsOf: frame)
        audioFeatures.append(contentsOf: audio)
        identities.append(identity)
        clips.append(clip)
    }

    /// The bank without the given clips: probes must be held out, or the exact posterior mean
    /// simply returns the probe's own frame and nothing is learnt about guidance.
    public func excluding(clips held: Set<String>) -> FrameBank {
        var out = self
        out.frames = []; out.audioFeatures = []; out.identities = []; out.clips = []
        let d = frameSize, f = featureCount
        for i in 0..<count where !held.contains(clips[i]) {
            out.frames.append(contentsOf: frames[(i * d)..<((i + 1) * d)])
            out.audioFeatures.append(contentsOf: audioFeatures[(i * f)..<((i + 1) * f)])
            out.identities.append(identities[i])
            out.clips.append(clips[i])
        }
        return out
    }

    /// Rows of one clip, in order.
    public func rows(ofClip clip: String) -> [Int] { (0..<count).filter { clips[$0] == clip } }

    /// Frames of the given rows as a `[rows, frameSize]` tensor.
    public func frames(rows: [Int]) -> Tensor {
        var data = [Float](); data.reserveCapacity(rows.count * frameSize)
        for r in rows { data.append(contentsOf: frames[(r * frameSize)..<((r + 1) * frameSize)]) }
        return Tensor(unchecked: [rows.count, frameSize], data)
    }

    /// Audio features of the given rows as a `[rows, featureCount]` tensor.
    public func audio(rows: [Int]) -> Tensor {
        var data = [Float]()
        for r in rows { data.append(contentsOf: audioFeatures[(r * featureCount)..<((r + 1) * featureCount)]) }
        return Tensor(unchecked: [rows.count, featureCount], data)
    }
}
