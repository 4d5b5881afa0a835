import Digest
import Foundation
import Measurement
import Media
import Metrics
import Synthetic
import Testing
@testable import TrajectoryProbe

/// The `syncnet_python-jpeg` preset against syncnet_python's own evaluate() on a committed lossy
/// clip (tools/fixtures/syncnet_jpeg_fixtures.py ran its ffmpeg commands, cv2.imread and
/// SyncNetInstance.evaluate; no ffmpeg or Python is needed here).
private enum JPEGFixture {
    static func url(_ name: String) throws -> URL {
        guard let url = Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Fixtures") else {
            throw InputError("fixture \(name) is missing: run tools/fixtures/syncnet_jpeg_fixtures.py")
        }
        return url
    }

    static func json() throws -> [String: Any] {
        let data = try Data(contentsOf: try url("syncnet_jpeg.json"))
        return try JSONSerialization.jsonObject(with: data) as! [String: Any]
    }

    static var clip: String { get throws { try url("syncnet_jpeg_clip.mp4").path } }

    static func reader() throws -> VideoReader {
        try VideoReader(path: try clip, options: VideoDecodeOptions(targetFPS: 25, roundTrip: .ffmpegJPEG))
    }
}

private struct InputError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

private func sha256(_ bytes: [UInt8]) -> String { SHA256Digest.hex(Data(bytes)) }

/// cv2.imread's layout: B, G, R interleaved.
private func bgr(_ frame: Frame) -> [UInt8] {
    var out = frame.rgb
    for p in stride(from: 0, to: out.count, by: 3) { out.swapAt(p, p + 2) }
    return out
}

@Test func jpegBytesEqualTheFFmpegCLIs() throws {
    let fixture = try JPEGFixture.json()
    let want = fixture["jpeg_sha256"] as! [String]
    let reader = try JPEGFixture.reader()
    var got: [String] = []
    var kept: [UInt8]?
    let keptIndex = fixture["kept_frame"] as! Int
    while let jpeg = try reader.nextJPEG() {
        got.append(sha256(jpeg))
        if got.count == keptIndex { kept = jpeg }
    }
    #expect(got.count == fixture["frames"] as! Int)
    // Rate control makes every frame depend on all before it: all must match, in order.
    #expect(got == want, "first differing frame: \(zip(got, want).enumerated().first { $0.1.0 != $0.1.1 }.map { $0.0 + 1 } ?? -1)")
    // The CLI's file itself, decoded next to ours: same bytes, same pixels.
    let cli = try [UInt8](Data(contentsOf: try JPEGFixture.url(fixture["kept_frame_file"] as! String)))
    let mine = try #require(kept)
    #expect(mine == cli)
    let a = try JPEG.decode(mine, source: "in-process"), b = try JPEG.decode(cli, source: "ffmpeg CLI")
    #expect(a == b && a.width == 224 && a.height == 224)
}

@Test func jpegDecodeEqualsCv2Imread() throws {
    let fixture = try JPEGFixture.json()
    let want = fixture["bgr_sha256"] as! [String]
    let reader = try JPEGFixture.reader()
    var got: [String] = []
    while let frame = try reader.nextFrame() { got.append(sha256(bgr(frame))) }
    #expect(got == want, "libjpeg-turbo \(JPEG.libjpegTurboVersion) vs opencv's \(fixture["opencv_jpeg"] ?? "?")")
}

@Test func wavEqualsFFmpegAsync() throws {
    let fixture = try JPEGFixture.json()
    let audio = try AudioDecoder.decodeAsFFmpegWAV(path: try JPEGFixture.clip)
    let pcm = audio.samples.map { Int16($0 * 32768) }
    #expect(pcm.count == fixture["wav_samples"] as! Int)
    let bytes = pcm.withUnsafeBytes { [UInt8]($0) }   // little-endian on every supported CPU
    #expect(sha256(bytes) == fixture["wav_sha256"] as! String)
    // Audio that starts 0.3 s after the video: -async 1 pads the gap with silence.
    let late = try AudioDecoder.decodeAsFFmpegWAV(path: try JPEGFixture.url(fixture["late_audio_clip"] as! String).path)
    let latePCM = late.samples.map { Int16($0 * 32768) }
    #expect(latePCM.count == fixture["late_audio_wav_samples"] as! Int && latePCM.count > pcm.count + 4000)
    #expect(sha256(latePCM.withUnsafeBytes { [UInt8]($0) }) == fixture["late_audio_wav_sha256"] as! String)
}

@Test func jpegPresetMatchesSyncnetPythonEvaluate() throws {
    let fixture = try JPEGFixture.json()
    let weights = FileManager.default.temporaryDirectory.appendingPathComponent("syncnet-jpeg-\(UUID().uuidString).safetensors")
    try FormulaWeights.write(SyncNet.tensorSpecs, to: weights)
    defer { try? FileManager.default.removeItem(at: weights) }
    let net = try SyncNet(weights: weights)
    let score = try SyncScorer.score(video: try JPEGFixture.clip, audio: nil, syncNet: net, syncNetWeights: weights.path,
                                     faceSync: nil, faceSyncPath: nil, crop: .wholeFrame, mouth: nil, preset: .syncnetPythonJPEG)
    let r = try #require(score.result, "\(score.reason?.rawValue ?? "") \(score.detail ?? "")")
    #expect(score.truncatedTo == nil)
    #expect(r.windowDistance.count == fixture["windows"] as! Int)
    #expect(r.offsetFrames == fixture["offset"] as! Int)
    let wantMean = (fixture["mean_dists"] as! [NSNumber]).map(\.doubleValue)
    let lseD = (fixture["lse_d"] as! NSNumber).doubleValue, lseC = (fixture["lse_c"] as! NSNumber).doubleValue
    let worst = zip(r.meanDistance, wantMean).map { abs($0 - $1) / $1 }.max()!
    print("syncnet_python-jpeg vs evaluate(): LSE-C \(r.lseC) vs \(lseC), LSE-D \(r.lseD) vs \(lseD), worst mean-distance rel. error \(worst)")
    // The formula weights put LSE-D near 1.6e4, where the reference's own float32 numbers are
    // 0.001 apart (one ulp): 1e-3 is met relative to LSE-D. LSE-C is a difference of two such
    // float32 means (each the rounded mean of 45 float32 distances, ~log2(45) + 2 ulps), so its
    // bound is 1e-3 plus 16 float32 ulps of LSE-D. Measured: 1.7e-7 and 2.2e-4 relative.
    let ulp = Double(Float(lseD).ulp)
    #expect(abs(r.lseD - lseD) <= 1e-3 * max(1, lseD))
    #expect(abs(r.lseC - lseC) <= 1e-3 + 16 * ulp)
    #expect(worst <= 1e-4)
}

@Test func jpegRoundTripRefusesWhatTheCLIWouldNotDo() throws {
    let clip = try JPEGFixture.clip
    #expect(throws: MediaError.self) {
        try VideoReader(path: clip, options: VideoDecodeOptions(crop: Box(x: 0, y: 0, width: 100, height: 100), roundTrip: .ffmpegJPEG))
    }
    #expect(throws: MediaError.self) { _ = try VideoReader(path: clip).nextJPEG() }
    #expect(throws: MediaError.self) { try JPEG.decode([0xFF, 0xD8, 0xFF, 0x00, 0x12], source: "garbage") }
    // Probes and imports score decoded frames, never files: the JPEG preset is refused there.
    #expect(SyncPreset.named("syncnet_python-jpeg") == .syncnetPythonJPEG)
    #expect(SyncPreset.syncnetPython.roundTrip == nil && SyncPreset.lipForcingReward.roundTrip == nil)
    #expect(DriverError.presetNeedsVideoFiles(file: "s.yaml", preset: "syncnet_python-jpeg").description.hasPrefix("s.yaml: sync preset"))
}

@Test func seekingRestartsTheRateControl() throws {
    // From frame 10 on, a fresh encoder: the CLI started there would give frame 10 the first
    // frame's quantiser, so the bytes differ from the full run's frame 11 but the reader stays in step.
    let fixture = try JPEGFixture.json()
    let want = fixture["jpeg_sha256"] as! [String]
    let reader = try JPEGFixture.reader()
    try reader.seek(toFrame: 10)
    let jpeg = try #require(try reader.nextJPEG())
    #expect(sha256(jpeg) != want[10])
    #expect(try JPEG.decode(jpeg, source: "seek").width == 224)
    try reader.seek(toFrame: 0)
    #expect(sha256(try #require(try reader.nextJPEG())) == want[0])
}

@Test func rawPresetJSONIsUnchanged() throws {
    // Studies stored before the JPEG preset compare their preset JSON on resume.
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    let json = String(decoding: try encoder.encode(SyncPreset.syncnetPython), as: UTF8.self)
    #expect(!json.contains("roundTrip"))
    #expect(String(decoding: try encoder.encode(SyncPreset.syncnetPythonJPEG), as: UTF8.self).contains(#""roundTrip":"ffmpeg-jpeg""#))
}
