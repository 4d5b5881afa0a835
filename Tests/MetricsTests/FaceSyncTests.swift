import Foundation
import Media
import Testing
@testable import Metrics

/// A synthetic talking clip: a voiced carrier (120 Hz harmonics) under a random syllable envelope,
/// and a face whose dark mouth ellipse opens with the same envelope at each frame's time.
enum SyntheticTalker {
    static let size = 64
    static let mouthBox = Box(x: 16, y: 30, width: 32, height: 28)

    struct Rng {
        var state: UInt64
        mutating func next() -> Double {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Double(state >> 11) / Double(1 << 53)
        }
    }

    /// Envelope in [0, 1], one value per 10 ms, random syllables of 120..280 ms with pauses.
    static func envelope(seconds: Double, seed: UInt64) -> [Double] {
        var rng = Rng(state: seed)
        let n = Int(seconds * 100)
        var e = [Double](repeating: 0, count: n)
        var t = 0
        while t < n {
            let len = 12 + Int(rng.next() * 16)
            let amp = rng.next() < 0.25 ? 0 : 0.3 + 0.7 * rng.next()
            for k in 0..<len where t + k < n { e[t + k] = amp * sin(Double.pi * Double(k) / Double(len)) }
            t += len
        }
        return e
    }

    static func envelopeAt(_ e: [Double], seconds s: Double) -> Double {
        let x = s * 100, i = Int(x)
        if i + 1 >= e.count { return e.last! }
        return e[i] + (e[i + 1] - e[i]) * (x - Double(i))
    }

    static func clip(seconds: Double, seed: UInt64) -> (frames: [Frame], audio: Audio) {
        let e = envelope(seconds: seconds, seed: seed)
        var rng = Rng(state: seed ^ 0x9E3779B97F4A7C15)
        let count = Int(seconds * 16000)
        var samples = [Float](repeating: 0, count: count)
        for i in 0..<count {
            let t = Double(i) / 16000
            var v = 0.0
            for h in 1...6 { v += sin(2 * Double.pi * 120 * Double(h) * t) / Double(h) }
            v = 0.25 * envelopeAt(e, seconds: t) * v + 0.002 * (rng.next() - 0.5)
            samples[i] = Float(v)
        }
        var frames = [Frame]()
        for f in 0..<Int(seconds * 25) {
            let open = envelopeAt(e, seconds: (Double(f) + 0.5) / 25)
            var rgb = [UInt8](repeating: 0, count: size * size * 3)
            let ry = 2 + 10 * open
            for y in 0..<size {
                for x in 0..<size {
                    let dx = (Double(x) - 32) / 12, dy = (Double(y) - 44) / ry
                    let inMouth = dx * dx + dy * dy <= 1
                    let noise = (rng.next() - 0.5) * 6
                    let base: (Double, Double, Double) = inMouth ? (70, 25, 30) : (205, 160, 135)
                    let i = (y * size + x) * 3
                    rgb[i] = UInt8(max(0, min(255, base.0 + noise)))
                    rgb[i + 1] = UInt8(max(0, min(255, base.1 + noise)))
                    rgb[i + 2] = UInt8(max(0, min(255, base.2 + noise)))
                }
            }
            frames.append(Frame(width: size, height: size, rgb: rgb, index: f))
        }
        return (frames, Audio(sampleRate: 16000, samples: samples))
    }

    /// The same audio shifted by `k` video frames: k > 0 delays it (the sound comes later).
    static func shifted(_ audio: Audio, frames k: Int) -> Audio {
        let s = k * 640
        var out = [Float](repeating: 0, count: audio.samples.count)
        for i in 0..<out.count where i - s >= 0 && i - s < out.count { out[i] = audio.samples[i - s] }
        return Audio(sampleRate: audio.sampleRate, samples: out)
    }
}

@Test func faceSyncFindsTheTrueOffsetAndFollowsShifts() throws {
    let training = (1...4).map { seed -> FaceSyncClip in
        let c = SyntheticTalker.clip(seconds: 6, seed: UInt64(seed))
        return FaceSyncClip(name: "train\(seed)", frames: c.frames, audio: c.audio, mouth: SyntheticTalker.mouthBox)
    }
    let model = try FaceSyncModel.fit(clips: training)
    #expect(model.correlations[0] > 0.8, "leading canonical correlation \(model.correlations[0])")
    #expect(zip(model.correlations, model.correlations.dropFirst()).allSatisfy { $0 >= $1 })

    let test = SyntheticTalker.clip(seconds: 6, seed: 99)
    let inSync = try model.score(frames: test.frames, audio: test.audio, mouth: SyntheticTalker.mouthBox)
    #expect(inSync.offsetFrames == 0)
    #expect(inSync.lseC > 0)
    for k in [3, -4, 7] {
        // syncnet_python's convention: audio delayed by k frames → offset −k.
        let shifted = SyntheticTalker.shifted(test.audio, frames: k)
        let r = try model.score(frames: test.frames, audio: shifted, mouth: SyntheticTalker.mouthBox)
        #expect(r.offsetFrames == -k, "audio delayed by \(k) frames gave offset \(r.offsetFrames)")
        let t = try model.score(frames: test.frames, audio: shifted, mouth: SyntheticTalker.mouthBox, mode: .truncate)
        #expect(t.offsetFrames == -k, "truncate: delay \(k) gave \(t.offsetFrames)")
    }

    // Save, reload, same numbers.
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("facesync-\(UUID().uuidString).json").path
    defer { try? FileManager.default.removeItem(atPath: path) }
    try model.save(to: path)
    let loaded = try FaceSyncModel(contentsOf: path)
    #expect(loaded == model)
    let again = try loaded.score(frames: test.frames, audio: test.audio, mouth: SyntheticTalker.mouthBox)
    #expect(again == inSync)
}

@Test func faceSyncRejectsBadInput() throws {
    let c = SyntheticTalker.clip(seconds: 0.4, seed: 5)
    let silent = Audio(sampleRate: 16000, samples: [Float](repeating: 0, count: c.audio.samples.count))
    let features = FaceSyncFeatures()
    #expect(throws: MetricsError.silentAudio(source: "x")) {
        try features.windows(frames: c.frames, audio: silent, mouth: SyntheticTalker.mouthBox, source: "x")
    }
    // 10 frames: 10 - 5 = 5 windows; 4 frames: none.
    #expect(throws: MetricsError.clipTooShort(source: "x", windows: 0, needed: 1)) {
        try features.windows(frames: Array(c.frames.prefix(4)), audio: c.audio, mouth: SyntheticTalker.mouthBox, source: "x")
    }
    #expect(throws: MetricsError.self) {
        try features.windows(frames: c.frames, audio: c.audio, mouth: Box(x: 50, y: 50, width: 20, height: 20), source: "x")
    }
    let bad = FileManager.default.temporaryDirectory.appendingPathComponent("facesync-bad-\(UUID().uuidString).json").path
    try Data(#"{"format":"other"}"#.utf8).write(to: URL(fileURLWithPath: bad))
    defer { try? FileManager.default.removeItem(atPath: bad) }
    #expect(throws: MetricsError.self) { try FaceSyncModel(contentsOf: bad) }
    #expect(throws: MetricsError.self) { try FaceSyncModel(contentsOf: "/nonexistent/model.json") }
}
