import Foundation
import Media
import Testing
@testable import Metrics

private func formulaSyncNet() throws -> SyncNet {
    let url = try NetsFormula.weightsFile(SyncNet.tensorSpecs, name: "syncnet")
    defer { try? FileManager.default.removeItem(at: url) }
    return try SyncNet(weights: url)
}

/// Largest element error relative to the reference's RMS (per-element relative error is
/// meaningless for entries near zero).
private func relativeError(_ got: [Float], _ want: [Float]) -> Float {
    precondition(got.count == want.count)
    var maxDiff: Float = 0, sumSq: Double = 0
    for (g, w) in zip(got, want) {
        maxDiff = max(maxDiff, abs(g - w))
        sumSq += Double(w) * Double(w)
    }
    return maxDiff / Float((sumSq / Double(want.count)).squareRoot())
}

@Test func syncNetEmbeddingsMatchPyTorch() throws {
    let fixture = try NetsFormula.fixture("syncnet_v2")
    let frames = fixture["frames"] as! Int, mfccFrames = fixture["mfcc_frames"] as! Int
    let windows = fixture["windows"] as! Int
    let net = try formulaSyncNet()
    let lip = NetsFormula.unit(2000, frames * 3 * 224 * 224).map { ($0 + 1) * Float(127.5) }
    let mfcc = NetsFormula.unit(2001, mfccFrames * 13).map { $0 * Float(10) }
    let video = try net.embedVideo(lipInput: lip, frameCount: frames)
    let audio = try net.embedAudio(mfcc: mfcc, frameCount: mfccFrames)
    let wantVideo = NetsFormula.floats(fixture["video_embeddings"])
    let wantAudio = NetsFormula.floats(fixture["audio_embeddings"])
    #expect(video.count == windows * SyncNet.embeddingSize && wantVideo.count == video.count)
    #expect(audio.count == windows * SyncNet.embeddingSize && wantAudio.count == audio.count)
    #expect(relativeError(video, wantVideo) <= 1e-4, "video \(relativeError(video, wantVideo))")
    #expect(relativeError(audio, wantAudio) <= 1e-4, "audio \(relativeError(audio, wantAudio))")
    // A subset of windows is the same rows (syncnet_python scores min_length - 5 windows).
    let two = try net.embedVideo(lipInput: lip, frameCount: frames, windows: 2)
    #expect(relativeError(two, Array(wantVideo.prefix(2 * SyncNet.embeddingSize))) <= 1e-4)
}

@Test func syncNetRejectsBadInput() throws {
    let net = try formulaSyncNet()
    let plane = 3 * 224 * 224
    #expect(throws: NetsError.notEnoughFrames(what: "SyncNet video (0 windows asked)", count: 4, minimum: 5)) {
        try net.embedVideo(lipInput: [Float](repeating: 0, count: 4 * plane), frameCount: 4)
    }
    #expect(throws: NetsError.self) {
        try net.embedVideo(lipInput: [Float](repeating: 0, count: 6 * plane), frameCount: 6, windows: 3)
    }
    #expect(throws: NetsError.self) { try net.embedVideo(lipInput: [1, 2, 3], frameCount: 5) }
    var nan = [Float](repeating: 1, count: 5 * plane)
    nan[12345] = .nan
    #expect(throws: NetsError.nonFinite(what: "SyncNet lip input")) { try net.embedVideo(lipInput: nan, frameCount: 5) }
    #expect(throws: NetsError.notEnoughFrames(what: "SyncNet MFCC (0 windows asked)", count: 19, minimum: 20)) {
        try net.embedAudio(mfcc: [Float](repeating: 0, count: 19 * 13), frameCount: 19)
    }
    #expect(throws: NetsError.self) { try net.embedAudio(mfcc: [Float](repeating: 0, count: 20 * 12), frameCount: 20) }
}
