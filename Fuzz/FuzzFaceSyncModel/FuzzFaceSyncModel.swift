// libFuzzer harness: a FaceSync-CCA model file, and scoring a small clip with a model that
// loads (every field it accepts must be one the scoring code can compute with). Built by
// `make fuzz` only.
import Foundation
import Media
import Metrics

/// 40 frames of 32x32 RGB with a moving mouth, and 1.6 s of audio whose envelope follows it.
let clip: (frames: [Frame], audio: Audio) = {
    var frames: [Frame] = []
    var samples: [Float] = []
    for f in 0..<40 {
        let open = 0.5 + 0.5 * sin(Double(f) * 0.7)
        var rgb = [UInt8](repeating: 128, count: 32 * 32 * 3)
        for y in 16..<28 { for x in 8..<24 where Double(abs(y - 22)) < 1 + 5 * open { for c in 0..<3 { rgb[(y * 32 + x) * 3 + c] = 40 } } }
        frames.append(Frame(width: 32, height: 32, rgb: rgb, index: f))
        for s in 0..<640 { samples.append(Float(open * sin(Double(f * 640 + s) * 0.3) * 0.5)) }
    }
    return (frames, Audio(sampleRate: 16_000, samples: samples))
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzFaceSyncModel(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard let model = try? FaceSyncModel(data: Data(bytes: data, count: size), source: "fuzz.json") else { return 0 }
    _ = try? model.score(frames: clip.frames, audio: clip.audio, mouth: Box(x: 8, y: 14, width: 16, height: 16), vshift: 3)
    return 0
}
