// libFuzzer harness: the demuxer and decoders on media bytes (video frames resampled to 25 fps
// and scaled, as the probe decodes clips; 16 kHz audio). The bytes go through a tmpfs file, the
// path every caller uses. Built by `make fuzz` only.
import Foundation
import Media

let mediaFile: String = {
    let root = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
    return root + "/trajprobe-fuzz-media-\(getpid())"
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzMedia(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard (try? Data(bytes: data, count: size).write(to: URL(fileURLWithPath: mediaFile))) != nil else { return 0 }
    if let reader = try? VideoReader(path: mediaFile, options: VideoDecodeOptions(targetFPS: 25, size: (16, 16), threads: 1)) {
        // At most 200 frames: a hostile header may declare billions, each decode is real work.
        var n = 0
        while n < 200, let frame = try? reader.nextFrame() {
            precondition(frame.rgb.count == 16 * 16 * 3)
            n += 1
        }
        if reader.outputFrameCount > 1 { try? reader.seek(toFrame: reader.outputFrameCount / 2) }
        _ = try? reader.nextFrame()
    }
    _ = try? AudioDecoder.decode(path: mediaFile, sampleRate: 16_000)
    return 0
}
