import Foundation
import Media
import Metrics
import Synthetic

/// Swift half of the neural-network metrics benchmark (`trajprobe bench nets DIR`): the same
/// formula weights (safetensors written by Benchmarks/metrics_nets_bench.py), the same inputs,
/// timed here and compared with the PyTorch timings of the same run (`reference.json`). Prints
/// the speed ratios and how far the results are from PyTorch's. `Benchmarks/metrics_nets_bench.sh`
/// runs both halves.
public enum MetricsNetsBench {
    static let crops = 100, cropHeight = 96, cropWidth = 160
    static let frames = 250, mfccFrames = 1000, vshift = 15

    static func unit(_ stream: Int, _ count: Int) -> [Float] { FormulaWeights.unit(stream, count) }

    static func imagePair(_ stream: Int, _ h: Int, _ w: Int) -> (Image, Image) {
        let n = 3 * h * w, plane = h * w
        let u0 = unit(stream, n), u1 = unit(stream + 1, n)
        var a = [Float](repeating: 0, count: n), b = a
        for c in 0..<3 {
            for p in 0..<plane {
                let va = (u0[c * plane + p] + 1) * Float(0.5)
                a[p * 3 + c] = va
                b[p * 3 + c] = va * Float(0.7) + ((u1[c * plane + p] + 1) * Float(0.5)) * Float(0.3)
            }
        }
        return (Image(width: w, height: h, channels: 3, data: a), Image(width: w, height: h, channels: 3, data: b))
    }

    static func seconds(_ body: () throws -> Void) rethrows -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        try body()
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }

    /// Runs LPIPS and SyncNet on the weights in `directory` and the same formula inputs, compares
    /// with the PyTorch timings and values in `reference.json`, and returns the report lines.
    public static func run(directory: URL) throws -> String {
        let reference = try JSONSerialization.jsonObject(with: Data(contentsOf: directory.appendingPathComponent("reference.json"))) as! [String: Any]
        func number(_ key: String) -> Double { (reference[key] as! NSNumber).doubleValue }
        func floats(_ key: String) -> [Float] { (reference[key] as! [NSNumber]).map { $0.floatValue } }
        var lines: [String] = []

        // LPIPS on 100 mouth-crop pairs, best of 3 as the reference (LPIPS.distances batches
        // them and runs a batch per core; PyTorch's fastest variant, per pair or 16 per call,
        // counts).
        let lpips = try LPIPS(weights: directory.appendingPathComponent("lpips.safetensors"))
        let pairs = (0..<crops).map { imagePair(5000 + 2 * $0, cropHeight, cropWidth) }
        _ = try lpips.distance(pairs[0].0, pairs[0].1)
        var values: [Float] = []
        var lpipsTime = Double.infinity
        for _ in 0..<3 { lpipsTime = min(lpipsTime, try seconds { values = try lpips.distances(pairs) }) }
        let lpipsError = zip(values, floats("lpips_values")).map { abs($0 - $1) }.max() ?? .nan
        lines.append(String(format: "LPIPS-AlexNet, %d crops %dx%d: Swift %.3f s, PyTorch %.3f s, speed ratio %.2fx (max |diff| %.2e)",
                            crops, cropWidth, cropHeight, lpipsTime, number("lpips_seconds"), number("lpips_seconds") / lpipsTime, lpipsError))

        // SyncNet LSE on a 10 s 25 fps clip.
        let net = try SyncNet(weights: directory.appendingPathComponent("syncnet.safetensors"))
        let lip = unit(6000, frames * 3 * 224 * 224).map { ($0 + 1) * Float(127.5) }
        let mfcc = unit(6001, mfccFrames * 13).map { $0 * Float(10) }
        let windows = frames - 5
        var video: [Float] = [], audio: [Float] = [], meanDists: [Float] = []
        _ = try net.embedVideo(lipInput: Array(lip.prefix(5 * 3 * 224 * 224)), frameCount: 5)
        let syncTime = try seconds {
            video = try net.embedVideo(lipInput: lip, frameCount: frames, windows: windows)
            audio = try net.embedAudio(mfcc: mfcc, frameCount: mfccFrames, windows: windows)
            meanDists = meanDistances(video, audio, count: windows, dim: SyncNet.embeddingSize, vshift: vshift)
        }
        let minIndex = meanDists.indices.min { meanDists[$0] < meanDists[$1] }!
        let lseD = meanDists[minIndex]
        let lseC = meanDists.sorted()[meanDists.count / 2] - lseD
        let dim = SyncNet.embeddingSize
        func rel(_ got: ArraySlice<Float>, _ want: [Float]) -> Float {
            let rms = (want.map { $0 * $0 }.reduce(0, +) / Float(want.count)).squareRoot()
            return zip(got, want).map { abs($0 - $1) }.max()! / rms
        }
        let embeddingError = max(rel(video[0..<dim], floats("video_first")), rel(video[(windows - 1) * dim..<windows * dim], floats("video_last")),
                                 rel(audio[0..<dim], floats("audio_first")), rel(audio[(windows - 1) * dim..<windows * dim], floats("audio_last")))
        lines.append(String(format: "SyncNet-v2 LSE, %d frames (%d windows): Swift %.3f s, PyTorch %.3f s, speed ratio %.2fx",
                            frames, windows, syncTime, number("syncnet_seconds"), number("syncnet_seconds") / syncTime))
        lines.append(String(format: "  embeddings rel. error %.2e; LSE-D %.6f vs %.6f, LSE-C %.6f vs %.6f, offset %d vs %d",
                            embeddingError, lseD, number("lse_d"), lseC, number("lse_c"), vshift - minIndex, Int(number("offset"))))
        return lines.joined(separator: "\n")
    }

    /// calc_pdist + the mean over frames (zero-padded audio, pairwise_distance's eps 1e-6),
    /// enough to time the sweep; the library's LSE lives in Metrics/Sync.
    static func meanDistances(_ video: [Float], _ audio: [Float], count: Int, dim: Int, vshift: Int) -> [Float] {
        var sums = [Double](repeating: 0, count: 2 * vshift + 1)
        for i in 0..<count {
            for k in 0...(2 * vshift) {
                let j = i + k - vshift
                var s: Float = 0
                for d in 0..<dim {
                    let a = j >= 0 && j < count ? audio[j * dim + d] : 0
                    let diff = video[i * dim + d] - a + 1e-6
                    s += diff * diff
                }
                sums[k] += Double(s.squareRoot())
            }
        }
        return sums.map { Float($0 / Double(count)) }
    }
}
