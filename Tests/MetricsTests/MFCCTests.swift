import Foundation
import Media
import Testing
@testable import Metrics

struct MFCCFixture: Decodable, Sendable {
    struct Case: Decodable, Sendable, CustomTestStringConvertible {
        var name: String
        var samples: String
        var count: Int
        var frames: Int
        var mfcc: [Double]
        var testDescription: String { name }
        var signal: [Float] { FidelityFixtures.littleEndian(samples, as: Int16.self).map { Float($0) } }
    }
    var filter_bins: [Int]
    var cases: [Case]
    static let file = try! JSONDecoder().decode(MFCCFixture.self, from: FidelityFixtures.data("mfcc_signals"))
}

@Test func mfccFilterBinsMatchNumpy() {
    #expect(MFCC().filterBins() == MFCCFixture.file.filter_bins)
}

@Test(arguments: MFCCFixture.file.cases)
func mfccMatchesPythonSpeechFeatures(_ c: MFCCFixture.Case) throws {
    let signal = c.signal
    #expect(signal.count == c.count)
    let got = try MFCC().compute(signal)
    #expect(got.frames == c.frames)
    #expect(got.numcep == 13)
    var worst = 0.0
    for i in 0..<c.mfcc.count {
        let e = c.mfcc[i], g = got.values[i]
        let ok = abs(e) < 1 ? abs(g - e) <= 1e-3 : relativelyClose(g, e, 1e-4)
        #expect(ok, "frame \(i / 13) coefficient \(i % 13): \(g) vs \(e)")
        worst = max(worst, abs(g - e) / max(1, abs(e)))
    }
    #expect(worst < 1e-9, "MFCC not double-exact: worst scaled error \(worst)")
}

@Test func mfccFromAudioUsesInt16Scale() throws {
    let c = MFCCFixture.file.cases[0]
    let audio = Audio(sampleRate: 16000, samples: c.signal.map { $0 / 32768 })
    let got = try MFCC().compute(audio: audio)
    #expect(abs(got[5, 3] - c.mfcc[5 * 13 + 3]) <= 1e-4 * max(1, abs(c.mfcc[5 * 13 + 3])))
    #expect(throws: MetricsError.self) { try MFCC().compute(audio: Audio(sampleRate: 22050, samples: [0.1, 0.2])) }
}

@Test func mfccRejectsBadInput() {
    #expect(throws: MetricsError.emptyInput(source: "audio")) { try MFCC().compute([]) }
    #expect(throws: MetricsError.nonFinite(source: "audio", index: 2)) { try MFCC().compute([1, 2, .nan, 4]) }
    // 0.1 s of silence: energy and filter outputs are guarded by eps, as numpy does.
    let silent = try? MFCC().compute([Float](repeating: 0, count: 1600))
    #expect(silent?.frames == 9)  // 1 + ceil((1600 - 400) / 160)
    #expect(silent?[0, 0] == log(Double.ulpOfOne))
}
