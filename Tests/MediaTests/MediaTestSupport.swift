import Foundation
@testable import Media

/// A per-test scratch directory, removed when the value goes away.
final class Scratch {
    let url: URL
    init() {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("trajprobe-media-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(at: url) }
    func path(_ name: String) -> String { url.appendingPathComponent(name).path }
}

/// A moving pattern: smooth gradients plus a bright square that moves 2 px per frame, so that
/// decoded frames can be told apart and compared by PSNR.
func patternFrames(count: Int, width: Int, height: Int) -> [Frame] {
    (0..<count).map { k in
        var rgb = [UInt8](repeating: 0, count: width * height * 3)
        for y in 0..<height {
            for x in 0..<width {
                let i = (y * width + x) * 3
                rgb[i] = UInt8((x * 255) / max(1, width - 1))
                rgb[i + 1] = UInt8((y * 255) / max(1, height - 1))
                rgb[i + 2] = UInt8((k * 9) % 256)
                let sx = (2 * k) % max(1, width - 12)
                if x >= sx && x < sx + 12 && y >= 10 && y < 22 { rgb[i] = 255; rgb[i + 1] = 255; rgb[i + 2] = 255 }
            }
        }
        return Frame(width: width, height: height, rgb: rgb, index: k)
    }
}

func tone(frequency: Double, sampleRate: Int, seconds: Double, amplitude: Float = 0.5) -> Audio {
    let n = Int(Double(sampleRate) * seconds)
    return Audio(sampleRate: sampleRate, samples: (0..<n).map {
        amplitude * Float(sin(2 * Double.pi * frequency * Double($0) / Double(sampleRate)))
    })
}

/// Frequency of a pure tone from its upward zero crossings, interpolated linearly between samples,
/// over the middle of the signal (skipping codec start-up and tail).
func estimateFrequency(_ audio: Audio) -> Double {
    let s = audio.samples
    let lo = s.count / 5, hi = s.count * 4 / 5
    var crossings: [Double] = []
    for i in lo..<(hi - 1) where s[i] < 0 && s[i + 1] >= 0 {
        let frac = Double(-s[i]) / Double(s[i + 1] - s[i])
        crossings.append(Double(i) + frac)
    }
    guard crossings.count > 2 else { return 0 }
    let periods = Double(crossings.count - 1)
    return periods / ((crossings.last! - crossings.first!) / Double(audio.sampleRate))
}

func psnr(_ a: Frame, _ b: Frame) -> Double {
    var sum = 0.0
    for i in 0..<a.rgb.count {
        let d = Double(a.rgb[i]) - Double(b.rgb[i])
        sum += d * d
    }
    let mse = sum / Double(a.rgb.count)
    return 10 * log10(255 * 255 / mse)
}
