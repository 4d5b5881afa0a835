import Foundation
import Testing
@testable import Metrics

struct LSEFixture: Decodable, Sendable {
    struct Case: Decodable, Sendable, CustomTestStringConvertible {
        var frames: Int, dim: Int
        var video: String, audio: String
        var offset: Int, lse_d: Double, lse_c: Double
        var mean_distance: [Double], frame_distance: [Double], frame_confidence_medfilt9: [Double]
        var testDescription: String { "\(frames) windows x \(dim)" }
    }
    var cases: [Case]
    static let file = try! JSONDecoder().decode(LSEFixture.self, from: FidelityFixtures.data("fidelity_lse"))
}

@Test(arguments: LSEFixture.file.cases)
func lseMatchesSyncnetPython(_ c: LSEFixture.Case) throws {
    let r = try LSE.evaluate(video: FidelityFixtures.floats(c.video), audio: FidelityFixtures.floats(c.audio), dim: c.dim)
    #expect(r.offsetFrames == c.offset)
    #expect(abs(r.lseD - c.lse_d) <= 1e-4)
    #expect(abs(r.lseC - c.lse_c) <= 1e-4)
    #expect(r.offsets.first == 15 && r.offsets.last == -15)
    for j in 0..<31 { #expect(abs(r.meanDistance[j] - c.mean_distance[j]) <= 1e-4 * max(1, c.mean_distance[j])) }
    for i in 0..<c.frames {
        #expect(abs(r.windowDistance[i]! - c.frame_distance[i]) <= 1e-4 * max(1, c.frame_distance[i]))
        #expect(abs(r.windowConfidenceSmoothed![i] - c.frame_confidence_medfilt9[i]) <= 1e-4 * max(1, abs(c.frame_confidence_medfilt9[i])))
    }
}

@Test func lseSignConventionAndTruncate() throws {
    // Audio embeddings delayed by 4 windows: audio row i + 4 matches video row i → offset -4.
    let n = 60, dim = 6, k = 4
    var video = [Float](), audio = [Float](repeating: 0, count: n * dim)
    var state: UInt64 = 7
    func next() -> Float {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return Float(Int64(bitPattern: state >> 11) % 2001 - 1000) / 1000
    }
    for _ in 0..<(n * dim) { video.append(next()) }
    for i in 0..<n where i + k < n { for d in 0..<dim { audio[(i + k) * dim + d] = video[i * dim + d] } }
    for mode in LSEOffsetMode.allCases {
        let r = try LSE.evaluate(video: video, audio: audio, dim: dim, mode: mode)
        #expect(r.offsetFrames == -k, "\(mode)")
        #expect(r.lseC > 0.5, "\(mode)")
    }
    let t = try LSE.evaluate(video: video, audio: audio, dim: dim, mode: .truncate)
    // At the best offset the last k video windows have no partner in truncate mode.
    #expect(t.windowDistance.suffix(k).allSatisfy { $0 == nil })
    #expect(t.windowConfidenceSmoothed == nil)
}

@Test func lseRejectsBadInput() {
    #expect(throws: MetricsError.self) { try LSE.evaluate(video: [1, 2, 3], audio: [1, 2], dim: 2) }
    #expect(throws: MetricsError.self) { try LSE.evaluate(video: [], audio: [], dim: 2) }
    #expect(throws: MetricsError.self) { try LSE.evaluate(video: [1, .nan], audio: [1, 2], dim: 2) }
    // Ten windows cannot cover offsets ±15 without padding.
    let ten = [Float](repeating: 1, count: 20)
    #expect(throws: MetricsError.clipTooShort(source: "clip", windows: 10, needed: 16)) {
        try LSE.evaluate(video: ten, audio: ten, dim: 2, mode: .truncate)
    }
    #expect(throws: Never.self) { try LSE.evaluate(video: ten, audio: ten, dim: 2, mode: .pad) }
}
