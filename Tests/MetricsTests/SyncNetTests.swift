import Foundation
import Media
import Testing
@testable import Metrics

/// Built once (13.6 M formula weights written to a temporary file and read back through the
/// loader) and shared by the tests: an immutable lazily initialised constant.
private let sharedSyncNet: Result<SyncNet, any Error> = Result {
    let url = try NetsFormula.weightsFile(SyncNet.tensorSpecs, name: "syncnet")
    defer { try? FileManager.default.removeItem(at: url) }
    return try SyncNet(weights: url)
}

private func formulaSyncNet() throws -> SyncNet { try sharedSyncNet.get() }

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

@Test func cropResizeMatchesOpenCV() throws {
    let fixture = try NetsFormula.fixture("syncnet_resize")
    let cases = try #require(fixture["cases"] as? [[String: Any]])
    var total = 0, exact = 0, worst = 0
    for c in cases {
        let h = c["height"] as! Int, w = c["width"] as! Int, oh = c["out_height"] as! Int, ow = c["out_width"] as! Int
        let pixels = NetsFormula.unit(c["stream"] as! Int, h * w * 3).map { UInt8((($0 + 1) * Float(127.99)).rounded(.down)) }
        let want = (c["out"] as! [Int])
        let got = LinearResize(sourceWidth: w, sourceHeight: h, width: ow, height: oh).apply(pixels, stride: w * 3, offset: 0)
        for (g, e) in zip(got, want) {
            total += 1
            if Int(g) == e { exact += 1 }
            worst = max(worst, abs(Int(g) - e))
        }
    }
    #expect(total == 7 * 9 * 3 + 29 * 31 * 3 + 24 * 24 * 3)
    #expect(worst == 0 && exact == total, "resize: \(exact)/\(total) exact, worst \(worst)")
}

@Test func lipInputIsBGRPlanesOfTheCrop() throws {
    // A 224x224 frame is taken as is (resize by 1 is the identity); channels come out B, G, R.
    let size = 224
    var rgb = [UInt8](repeating: 0, count: size * size * 3)
    for i in rgb.indices { rgb[i] = UInt8(truncatingIfNeeded: i &* 7 &+ i / 3) }
    let frame = Frame(width: size, height: size, rgb: rgb)
    let input = try SyncNet.lipInput(frames: [frame, frame])
    let plane = size * size
    #expect(input.count == 2 * 3 * plane)
    for p in stride(from: 0, to: plane, by: 997) {
        #expect(input[p] == Float(rgb[p * 3 + 2]))
        #expect(input[plane + p] == Float(rgb[p * 3 + 1]))
        #expect(input[2 * plane + p] == Float(rgb[p * 3]))
        #expect(input[3 * plane + p] == Float(rgb[p * 3 + 2]))
    }
    // A box is cropped before resizing: a 224x224 box inside a larger frame gives the same planes.
    var big = [UInt8](repeating: 9, count: 300 * 260 * 3)
    for y in 0..<size {
        let row = y * size * 3, target = ((y + 20) * 300 + 30) * 3
        for x in 0..<(size * 3) { big[target + x] = rgb[row + x] }
    }
    let boxed = try SyncNet.lipInput(frames: [Frame(width: 300, height: 260, rgb: big)],
                                     crop: .box(Box(x: 30, y: 20, width: size, height: size)))
    #expect(boxed == Array(input.prefix(3 * plane)))
    #expect(throws: NetsError.boxOutsideFrame(box: Box(x: 100, y: 0, width: 224, height: 224), width: 300, height: 260)) {
        try SyncNet.lipInput(frames: [Frame(width: 300, height: 260, rgb: big)], crop: .box(Box(x: 100, y: 0, width: 224, height: 224)))
    }
    #expect(throws: NetsError.self) { try SyncNet.lipInput(frames: [frame, frame], crop: .perFrame([Box(x: 0, y: 0, width: 9, height: 9)])) }
}

@Test func embedVideoFromFramesEqualsPreparedInput() throws {
    // 7 decoded 64x48 frames (whole-frame crops, upscaled to 224): the frame path, which prepares
    // crops chunk by chunk, gives the rows of the prepared-input path.
    let net = try formulaSyncNet()
    let frames = (0..<7).map { f in
        Frame(width: 64, height: 48, rgb: NetsFormula.unit(2200 + f, 64 * 48 * 3).map { UInt8((($0 + 1) * Float(127.99)).rounded(.down)) })
    }
    let input = try SyncNet.lipInput(frames: frames)
    // Both paths run the same layers on the same input, so they agree bit for bit only under one
    // OpenBLAS thread count: that count is process-wide, and tests running beside this one change
    // it (sgemm's threaded split can round differently), so it is pinned for both calls.
    let (direct, viaFrames) = try withSingleThreadedBLAS {
        (try net.embedVideo(lipInput: input, frameCount: 7), try net.embedVideo(frames: frames))
    }
    #expect(direct.count == 3 * SyncNet.embeddingSize)
    #expect(viaFrames == direct)
    #expect(throws: NetsError.notEnoughFrames(what: "SyncNet video (0 windows asked)", count: 4, minimum: 5)) {
        try net.embedVideo(frames: Array(frames.prefix(4)))
    }
}

@Test func lseOnSwiftEmbeddingsMatchesSyncNetPython() throws {
    // The whole chain on the fixture clip: Swift SyncNet embeddings -> LSE.evaluate (pad mode)
    // against calc_pdist/evaluate run by PyTorch on PyTorch's embeddings. With random weights
    // the distances are ~27000 and PyTorch sums in float32, so LSE is compared relative to LSE-D.
    let fixture = try NetsFormula.fixture("syncnet_v2")
    let net = try formulaSyncNet()
    let lip = NetsFormula.unit(2000, 9 * 3 * 224 * 224).map { ($0 + 1) * Float(127.5) }
    let mfcc = NetsFormula.unit(2001, 36 * 13).map { $0 * Float(10) }
    let result = try LSE.evaluate(video: try net.embedVideo(lipInput: lip, frameCount: 9),
                                  audio: try net.embedAudio(mfcc: mfcc, frameCount: 36),
                                  dim: SyncNet.embeddingSize, vshift: fixture["vshift"] as! Int)
    let lseD = (fixture["lse_d"] as! NSNumber).doubleValue, lseC = (fixture["lse_c"] as! NSNumber).doubleValue
    #expect(abs(result.lseD - lseD) <= 1e-4 * lseD, "LSE-D \(result.lseD) vs \(lseD)")
    #expect(abs(result.lseC - lseC) <= 1e-4 * lseD, "LSE-C \(result.lseC) vs \(lseC)")
    #expect(result.offsetFrames == fixture["offset"] as! Int)
    let means = NetsFormula.floats(fixture["mean_dists"])
    for (got, want) in zip(result.meanDistance, means) { #expect(abs(got - Double(want)) <= 1e-4 * lseD) }

    // Embeddings with a real optimum (audio delayed by 3 windows), straight from the fixture.
    let synthetic = try #require(fixture["lse_synthetic"] as? [String: Any])
    let s = try LSE.evaluate(video: NetsFormula.floats(synthetic["video_embeddings"]),
                             audio: NetsFormula.floats(synthetic["audio_embeddings"]), dim: 16, vshift: 15)
    #expect(abs(s.lseD - (synthetic["lse_d"] as! NSNumber).doubleValue) <= 1e-4)
    #expect(abs(s.lseC - (synthetic["lse_c"] as! NSNumber).doubleValue) <= 1e-4)
    #expect(s.offsetFrames == synthetic["offset"] as! Int && s.offsetFrames == -3)
}
