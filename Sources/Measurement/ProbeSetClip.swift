import Media

/// One probe clip of a manifest. Paths are absolute once loaded (resolved against the
/// manifest's directory).
public struct ProbeSetClip: Sendable, Equatable {
    /// The clip's name, the key of its rows in the Store and of its noise streams.
    public var id: String
    /// Reference video (a pre-aligned face crop).
    public var video: String
    /// Driving audio; nil means the reference video's own audio track. A different clip's audio
    /// makes a dubbed probe, the real V2V use case.
    public var audio: String?
    /// The clip the audio came from, when dubbed (informational, reported).
    public var audioFrom: String?
    /// Region mask image (LatentSync's `mask.png` convention: white = upper face, black = mouth).
    public var mask: String?
    /// Or a mouth box in pixels.
    public var box: Box?
    /// The person in the clip (the analytic teacher's bank and drop modes group by it).
    public var identity: String

    /// A clip of a manifest (paths as given; TrajectoryProbe's `ProbeSet.load` resolves them).
    public init(id: String, video: String, audio: String? = nil, audioFrom: String? = nil, mask: String? = nil,
                box: Box? = nil, identity: String) {
        self.id = id
        self.video = video
        self.audio = audio
        self.audioFrom = audioFrom
        self.mask = mask
        self.box = box
        self.identity = identity
    }

    /// Whether the driving audio is another clip's.
    public var isDubbed: Bool { audioFrom != nil && audioFrom != id }
}
