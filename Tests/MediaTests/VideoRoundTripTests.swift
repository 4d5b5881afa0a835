import Foundation
import Testing
@testable import Media

@Suite struct VideoRoundTripTests {
    @Test(arguments: [44_100, 48_000])
    func encodeDecodeRoundTrip(audioRate: Int) throws {
        let scratch = Scratch()
        let path = scratch.path("clip.mp4")
        let frames = patternFrames(count: 50, width: 96, height: 64)
        try VideoWriter.write(path: path, frames: frames, fps: 25,
                              audio: tone(frequency: 440, sampleRate: audioRate, seconds: 2))
        let reader = try VideoReader(path: path)
        #expect(reader.info.frameCount == 50)
        #expect(reader.info.fps == 25)
        #expect(reader.info.width == 96 && reader.info.height == 64)
        #expect(reader.info.duration == 2)
        #expect(reader.info.hasAudio)
        let decoded = try reader.readAll()
        #expect(decoded.count == 50)
        let worst = zip(frames, decoded).map { psnr($0, $1) }.min()!
        print("round trip \(reader.info.codec): worst-frame PSNR \(String(format: "%.2f", worst)) dB")
        #expect(worst > 30)

        let audio = try AudioDecoder.decode(path: path, sampleRate: 16_000)
        #expect(audio.sampleRate == 16_000)
        #expect(abs(audio.duration - 2) < 0.1)
        let f = estimateFrequency(audio)
        print("tone from \(audioRate) Hz AAC resampled to 16 kHz: \(String(format: "%.3f", f)) Hz")
        #expect(abs(f - 440) < 1)
    }

    @Test func wavResampledTo16k() throws {
        let scratch = Scratch()
        let path = scratch.path("tone.wav")
        try tone(frequency: 440, sampleRate: 44_100, seconds: 1.5).writeWAV(to: path)
        let audio = try AudioDecoder.decode(path: path)
        #expect(abs(audio.samples.count - 24_000) <= 2)
        #expect(abs(estimateFrequency(audio) - 440) < 1)
        // int16 view is on the 16-bit scale.
        #expect(audio.int16Scaled.max()! > 15_000 && audio.int16Scaled.max()! <= 16_385)
    }

    @Test func mpeg4Fallback() throws {
        let scratch = Scratch()
        let path = scratch.path("mpeg4.mp4")
        let frames = patternFrames(count: 10, width: 64, height: 48)
        try VideoWriter.write(path: path, frames: frames, fps: 25, options: VideoEncodeOptions(forceMPEG4: true))
        let reader = try VideoReader(path: path)
        #expect(reader.info.codec == "mpeg4")
        let decoded = try reader.readAll()
        #expect(decoded.count == 10)
        #expect(zip(frames, decoded).map { psnr($0, $1) }.min()! > 25)
    }

    @Test func cropScaleAndResample() throws {
        let scratch = Scratch()
        let path = scratch.path("clip30.mp4")
        let frames = patternFrames(count: 30, width: 96, height: 64)
        try VideoWriter.write(path: path, frames: frames, fps: 30)

        let cropped = try VideoReader.frames(of: path, options: VideoDecodeOptions(crop: Box(x: 8, y: 4, width: 40, height: 30)))
        #expect(cropped.count == 30)
        #expect(cropped[0].width == 40 && cropped[0].height == 30)
        // The crop shows the same pixels as the full decode.
        let full = try VideoReader.frames(of: path)
        #expect(cropped[3] == (try full[3].cropped(to: Box(x: 8, y: 4, width: 40, height: 30))))

        let scaled = try VideoReader.frames(of: path, options: VideoDecodeOptions(size: (224, 224)))
        #expect(scaled[0].width == 224 && scaled[0].height == 224)
        let both = try VideoReader.frames(of: path, options: VideoDecodeOptions(crop: Box(x: 0, y: 0, width: 48, height: 32), size: (24, 16)))
        #expect(both[0].width == 24 && both[0].height == 16 && both[0].rgb.count == 24 * 16 * 3)

        // 30 fps to 25 fps: 1 s of video gives 25 frames, each the source frame nearest in time.
        let reader = try VideoReader(path: path, options: VideoDecodeOptions(targetFPS: 25))
        #expect(reader.outputFrameCount == 25)
        #expect(reader.sourceIndex(forOutput: 1) == 1)   // 1.2 -> 1
        #expect(reader.sourceIndex(forOutput: 3) == 4)   // 3.6 -> 4
        #expect(reader.sourceIndex(forOutput: 24) == 29) // 28.8 -> 29
        let resampled = try reader.readAll()
        #expect(resampled.count == 25)
        #expect(resampled[3] == Frame(width: 96, height: 64, rgb: full[4].rgb, index: 3))
    }

    @Test func frameAccurateSeek() throws {
        let scratch = Scratch()
        let path = scratch.path("seek.mp4")
        try VideoWriter.write(path: path, frames: patternFrames(count: 120, width: 64, height: 48), fps: 25)
        let all = try VideoReader.frames(of: path)
        let reader = try VideoReader(path: path)
        for target in [97, 3, 50, 0, 119] {
            try reader.seek(toFrame: target)
            let frame = try #require(try reader.nextFrame())
            #expect(frame.index == target)
            #expect(frame.rgb == all[target].rgb, "frame \(target) after seek differs from sequential decode")
        }
        #expect(throws: MediaError.frameOutOfRange(path: path, index: 120, count: 120)) { try reader.seek(toFrame: 120) }
    }
}
