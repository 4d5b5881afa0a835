import Foundation
import Testing
@testable import Media
import CFFmpeg

@Suite struct BadInputTests {
    @Test func missingFile() {
        #expect(throws: MediaError.fileNotFound(path: "/nonexistent/clip.mp4")) {
            try VideoReader(path: "/nonexistent/clip.mp4")
        }
        #expect(throws: MediaError.fileNotFound(path: "/nonexistent/a.wav")) {
            try AudioDecoder.decode(path: "/nonexistent/a.wav")
        }
    }

    @Test func randomBytesAreNotMedia() throws {
        let scratch = Scratch()
        let path = scratch.path("noise.mp4")
        var state: UInt64 = 42
        let bytes = (0..<20_000).map { _ -> UInt8 in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return UInt8(truncatingIfNeeded: state >> 33)
        }
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        do {
            _ = try VideoReader(path: path)
            Issue.record("random bytes opened as video")
        } catch {
            guard case .notMedia(let p, _) = error else { Issue.record("got \(error)"); return }
            #expect(p == path)
            #expect(error.description.hasPrefix(path))
        }
    }

    @Test func truncatedFileIsCorrupt() throws {
        let scratch = Scratch()
        let path = scratch.path("whole.mp4")
        try VideoWriter.write(path: path, frames: patternFrames(count: 60, width: 64, height: 48), fps: 25,
                              audio: tone(frequency: 440, sampleRate: 16_000, seconds: 2.4))
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        // Cut at several points: inside the index, inside the media data.
        for fraction in [0.05, 0.5, 0.9] {
            let cut = scratch.path("cut-\(fraction).mp4")
            try data.prefix(Int(Double(data.count) * fraction)).write(to: URL(fileURLWithPath: cut))
            do {
                _ = try VideoReader(path: cut).readAll()
                Issue.record("truncated file at \(fraction) decoded as whole")
            } catch {
                switch error {
                case .corrupt(let p, _), .zeroFrames(let p): #expect(p == cut)
                default: Issue.record("truncated at \(fraction): unexpected \(error)")
                }
            }
        }
    }

    @Test func noAudioTrack() throws {
        let scratch = Scratch()
        let path = scratch.path("silent.mp4")
        try VideoWriter.write(path: path, frames: patternFrames(count: 5, width: 32, height: 32), fps: 25)
        #expect(try VideoReader(path: path).info.hasAudio == false)
        #expect(throws: MediaError.noAudioStream(path: path)) { try AudioDecoder.decode(path: path) }
        #expect(MediaError.noAudioStream(path: path).description.contains("--audio"))
    }

    @Test func audioOnlyFileHasNoVideo() throws {
        let scratch = Scratch()
        let path = scratch.path("tone.wav")
        try tone(frequency: 300, sampleRate: 16_000, seconds: 0.5).writeWAV(to: path)
        #expect(throws: MediaError.noVideoStream(path: path)) { try VideoReader(path: path) }
    }

    @Test func zeroFrames() throws {
        let scratch = Scratch()
        let path = scratch.path("empty.mp4")
        #expect(throws: MediaError.zeroFrames(path: path)) {
            try VideoWriter.write(path: path, frames: [], fps: 25)
        }
        // An mp4 demuxer drops an empty track (no video stream); Matroska keeps it (zero frames).
        let mkv = scratch.path("empty.mkv")
        let writer = try VideoWriter(path: mkv, width: 32, height: 32, fps: 25, audioSampleRate: 16_000)
        writer.permitsEmptyVideo = true
        try writer.appendAudio(tone(frequency: 300, sampleRate: 16_000, seconds: 0.5).samples)
        try writer.finish()
        #expect(throws: MediaError.zeroFrames(path: mkv)) { try VideoReader(path: mkv) }
    }

    @Test func unsupportedPixelFormat() {
        #expect(throws: MediaError.unsupportedPixelFormat(path: "x.mp4", format: "vaapi")) {
            try VideoReader.checkConvertible(AV_PIX_FMT_VAAPI, path: "x.mp4")
        }
        #expect((try? VideoReader.checkConvertible(AV_PIX_FMT_YUV420P, path: "x.mp4")) == "yuv420p")
    }

    @Test func badArguments() throws {
        let scratch = Scratch()
        let path = scratch.path("c.mp4")
        try VideoWriter.write(path: path, frames: patternFrames(count: 3, width: 32, height: 32), fps: 25)
        #expect(throws: MediaError.self) { try VideoReader(path: path, options: VideoDecodeOptions(crop: Box(x: 20, y: 0, width: 20, height: 10))) }
        let writer = try VideoWriter(path: scratch.path("d.mp4"), width: 32, height: 32, fps: 25)
        #expect(throws: MediaError.self) { try writer.append(patternFrames(count: 1, width: 16, height: 16)[0]) }
        #expect(throws: MediaError.self) { try writer.appendAudio([0, 1]) }
        // An unfinished writer leaves no file under the real name.
        #expect(!FileManager.default.fileExists(atPath: scratch.path("d.mp4")))
    }
}
