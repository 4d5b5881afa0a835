import Foundation
import Media
import Testing
@testable import Metrics

/// Why a remote teacher's sync and sharpness numbers differ from the in-process teacher's by
/// more than float32 noise (issue 16, D9): both are computed, like any video's, on 8-bit frames,
/// and rounding to 8 bits is discontinuous. Predictions one float32 ulp apart (what NumPy's sums
/// and the FP32 wire leave against Swift's) give equal continuous metrics, but the few values
/// whose `x * 255` lies within that ulp of a half-integer round to the neighbouring grey level.
/// The test states, and checks, what one such flip can do.
@Suite struct QuantisationTests {
    static func quantise(_ x: [Float], width: Int, height: Int) -> Frame {
        Frame(width: width, height: height, rgb: x.map { UInt8(max(0, min(255, ($0 * 255).rounded()))) })
    }

    @Test func oneULPMovesOnlyTheMetricsOf8BitFrames() throws {
        let training = (1...2).map { seed -> FaceSyncClip in
            let c = SyntheticTalker.clip(seconds: 3, seed: UInt64(seed))
            return FaceSyncClip(name: "t\(seed)", frames: c.frames, audio: c.audio, mouth: SyntheticTalker.mouthBox)
        }
        let model = try FaceSyncModel.fit(clips: training)
        let clip = SyntheticTalker.clip(seconds: 3, seed: 42)
        let (w, h) = (clip.frames[0].width, clip.frames[0].height)
        let box = SyntheticTalker.mouthBox

        // A prediction off the 8-bit grid, and its twin one float32 ulp away in every value.
        var a: [[Float]] = [], b: [[Float]] = []
        for (f, frame) in clip.frames.enumerated() {
            let x = frame.rgb.enumerated().map { i, v in min(1, max(0, (Float(v) + 0.5 + 0.2 * Float(sin(Double(i * 7 + f * 13) * 0.37))) / 255)) }
            a.append(x)
            b.append(x.enumerated().map { i, v in i % 2 == 0 ? v.nextUp : v.nextDown })
        }
        // Continuous metrics barely move: |Δmse| ≤ 2 |x − r| ulp + ulp² per value.
        let reference = clip.frames.map { $0.image() }
        var worstMSE = 0.0
        for f in a.indices {
            let ma = try PixelError.mse(reference[f], Image(width: w, height: h, channels: 3, data: a[f]))[.full]!
            let mb = try PixelError.mse(reference[f], Image(width: w, height: h, channels: 3, data: b[f]))[.full]!
            worstMSE = max(worstMSE, abs(ma - mb) / ma)
        }
        #expect(worstMSE < 1e-5, "relative MSE change \(worstMSE)")

        // The 8-bit frames differ in a few values: each one is a value within an ulp of a rounding edge.
        let qa = a.map { Self.quantise($0, width: w, height: h) }, qb = b.map { Self.quantise($0, width: w, height: h) }
        var flips = 0, mouthFlipsPerFrame = [Int](repeating: 0, count: qa.count)
        for f in qa.indices {
            for i in qa[f].rgb.indices where qa[f].rgb[i] != qb[f].rgb[i] {
                flips += 1
                #expect(abs(Int(qa[f].rgb[i]) - Int(qb[f].rgb[i])) == 1)
                let p = i / 3, x = p % w, y = p / w
                if x >= box.x && x < box.x + box.width && y >= box.y && y < box.y + box.height { mouthFlipsPerFrame[f] += 1 }
            }
        }
        #expect(flips > 0 && flips < a.count * a[0].count / 1000, "\(flips) flips")

        // Sharpness: one grey level at one pixel changes the Laplacian by 4 there and by at most
        // 2 at each of its 4 neighbours (BORDER_REFLECT_101 counts a pixel twice at an edge), so
        // the variance of N values moves by at most (48 max|L| + 32) / N, averaged over frames.
        var deltaSharp = 0.0, boundSharp = 0.0
        let n = Double(box.width * box.height)
        for f in qa.indices {
            deltaSharp += try Sharpness.laplacianVariance(qa[f], box: box) - Sharpness.laplacianVariance(qb[f], box: box)
            boundSharp += Double(mouthFlipsPerFrame[f]) * (48 * 4 * 255 + 32) / n
        }
        #expect(abs(deltaSharp) / Double(qa.count) <= boundSharp / Double(qa.count) + 1e-9)

        // Sync: each offset's mean distance moves by at most the mean over windows of how far the
        // (unit-length) video embeddings moved, so LSE-D by that much and LSE-C by twice that.
        let ea = try model.embeddings(frames: qa, audio: clip.audio, mouth: box)
        let eb = try model.embeddings(frames: qb, audio: clip.audio, mouth: box)
        var moved = 0.0
        for i in 0..<ea.windows {
            var d2 = 0.0
            for c in 0..<model.components { let d = Double(ea.video[i * model.components + c] - eb.video[i * model.components + c]); d2 += d * d }
            moved += d2.squareRoot()
        }
        let bound = moved / Double(ea.windows)
        let sa = try model.score(frames: qa, audio: clip.audio, mouth: box), sb = try model.score(frames: qb, audio: clip.audio, mouth: box)
        // 1e-6: the distances are float32 sums of `components` terms of unit-length vectors.
        #expect(abs(sa.lseD - sb.lseD) <= bound + 1e-6, "Δlse_d \(abs(sa.lseD - sb.lseD)) vs bound \(bound)")
        #expect(abs(sa.lseC - sb.lseC) <= 2 * bound + 1e-6, "Δlse_c \(abs(sa.lseC - sb.lseC)) vs bound \(2 * bound)")

        // And equal 8-bit frames give bitwise equal numbers, whatever the floats were.
        let same = b.enumerated().map { f, x in x.enumerated().map { i, v in qa[f].rgb[i] != qb[f].rgb[i] ? a[f][i] : v } }
        let qs = same.map { Self.quantise($0, width: w, height: h) }
        #expect(qs == qa)
        let ss = try model.score(frames: qs, audio: clip.audio, mouth: box)
        #expect(ss.lseC == sa.lseC && ss.lseD == sa.lseD && ss.offsetFrames == sa.offsetFrames)
    }
}
