import Foundation
import Measurement
import Media

/// The probe set: the clips a study probes.
public struct ProbeSet: Sendable, Equatable {
    /// The clips, in manifest order.
    public var clips: [ProbeSetClip]

    /// A probe set of `clips`.
    public init(clips: [ProbeSetClip]) { self.clips = clips }

    static let clipKeys = ["id", "video", "audio", "audio_from", "mask", "box", "identity"]

    /// Loads a manifest file (`clips:` list).
    public static func load(_ url: URL) throws(ProbeError) -> ProbeSet {
        let y = try StrictYAML.load(url)
        try y.allowOnly(["clips"])
        return try parse(clips: y, key: "clips", baseDirectory: url.deletingLastPathComponent())
    }

    /// Parses a `clips:` list inside any strict mapping (a manifest or a study config).
    static func parse(clips y: StrictYAML, key: String, baseDirectory: URL) throws(ProbeError) -> ProbeSet {
        guard let items = try y.sequence(key) else { throw .missingKey(file: y.file, key: y.key(key)) }
        guard !items.isEmpty else { throw .invalidValue(file: y.file, key: y.key(key), problem: "no clips") }
        func resolve(_ p: String) -> String {
            p.hasPrefix("/") ? p : baseDirectory.appendingPathComponent(p).standardizedFileURL.path
        }
        var clips: [ProbeSetClip] = []
        var ids = Set<String>()
        for (i, n) in items.enumerated() {
            let c = try StrictYAML(node: n, file: y.file, path: "\(y.key(key))[\(i)]")
            try c.allowOnly(clipKeys)
            guard let id = try c.string("id") else { throw .missingKey(file: y.file, key: c.key("id")) }
            guard ids.insert(id).inserted else { throw .invalidValue(file: y.file, key: c.key("id"), problem: "duplicate clip id '\(id)'") }
            guard let video = try c.string("video") else { throw .missingKey(file: y.file, key: c.key("video")) }
            guard let identity = try c.string("identity") else { throw .missingKey(file: y.file, key: c.key("identity")) }
            let mask = try c.string("mask")
            var box: Box?
            if let b = try c.string("box") {
                guard let parsed = Box(parsing: b) else { throw .invalidValue(file: y.file, key: c.key("box"), problem: "'\(b)' is not x,y,w,h") }
                box = parsed
            }
            guard (mask == nil) != (box == nil) else {
                throw .invalidValue(file: y.file, key: c.key(mask == nil ? "mask" : "box"), problem: "give exactly one of mask or box")
            }
            clips.append(ProbeSetClip(id: id, video: resolve(video), audio: try c.string("audio").map(resolve),
                                      audioFrom: try c.string("audio_from"), mask: mask.map(resolve), box: box, identity: identity))
        }
        // `audio_from: <clip>` without an audio path takes that clip's video's audio track.
        for (i, c) in clips.enumerated() where c.audio == nil {
            guard let src = c.audioFrom else { continue }
            guard let source = clips.first(where: { $0.id == src }) else {
                throw .invalidValue(file: y.file, key: "\(y.key(key))[\(i)].audio_from",
                                    problem: "clip '\(src)' is not in the probe set and no audio path is given")
            }
            clips[i].audio = source.video
        }
        return ProbeSet(clips: clips)
    }
}
