import Digest
import Foundation
import Store
import Testing
@testable import Report

@Suite struct StatisticsTests {
    @Test func splitMix64MatchesReferenceSequence() {
        // Vigna's splitmix64.c seeded with 1234567.
        var rng = SplitMix64(seed: 1_234_567)
        let expected: [UInt64] = [6_457_827_717_110_365_317, 3_203_168_211_198_807_973, 9_817_491_932_198_370_423,
                                  4_593_380_528_125_082_431, 16_408_922_859_458_223_821]
        #expect((0..<5).map { _ in rng.next() } == expected)
    }

    /// The bootstrap stream of a cell is Digest's FNV-1a of its parts joined by U+001F, the value
    /// Report's own copy gave (computed in Python from that copy's formula).
    @Test func bootstrapStreamKeepsItsHash() {
        #expect(Bootstrap.stream("clip07", "seed 0", "ε") == 0xFCF6_F721_159A_D672)
    }

    @Test func nextIndexIsUniform() {
        var rng = SplitMix64(seed: 3)
        var counts = [Int](repeating: 0, count: 7)
        for _ in 0..<70_000 { counts[rng.nextIndex(below: 7)] += 1 }
        // Binomial sd ≈ 93; 5 sd bound.
        #expect(counts.allSatisfy { abs($0 - 10_000) < 470 }, "\(counts)")
    }

    @Test func bootstrapIsDeterministicForASeed() throws {
        let b = try Bootstrap(resamples: 2000, seed: 42)
        let v = [0.1, 0.5, 0.3, 0.9, 0.2, 0.7]
        #expect(b.estimate(v, stream: 5) == b.estimate(v, stream: 5))
        #expect(b.estimate(v, stream: 5) != b.estimate(v, stream: 6))
        let e = b.estimate(v)
        #expect(abs(e.mean - 0.45) < 1e-12)
        #expect(e.lower! < 0.45 && e.upper! > 0.45 && e.lower! > 0.1 && e.upper! < 0.9)
    }

    @Test func fewerThanTwoValuesGiveNoCI() throws {
        let e = try Bootstrap().estimate([3.0])
        #expect(e.mean == 3 && e.lower == nil && e.upper == nil && e.count == 1)
    }

    @Test func tooFewResamplesAreRefused() {
        #expect(throws: ReportError.self) { try Bootstrap(resamples: 500) }
    }

    /// 95% percentile CIs of the mean of N(μ, 1) samples (n = 25, Box–Muller from SplitMix64) cover μ
    /// at close to the nominal rate over 400 independent data sets and seeds. The percentile
    /// bootstrap under-covers slightly at small n (theory ≈ 0.94 at n = 25); the binomial sd over
    /// 400 trials is 0.011.
    @Test func bootstrapCoversTheTruthAtTheNominalRate() throws {
        let mu = 1.7
        var data = SplitMix64(seed: 99)
        func uniform() -> Double { (Double(data.next() >> 11) + 0.5) / Double(1 << 53) }
        var covered = 0
        let trials = 400
        for trial in 0..<trials {
            var xs: [Double] = []
            for _ in 0..<25 {
                let r = (-2 * log(uniform())).squareRoot()
                xs.append(mu + r * cos(2 * Double.pi * uniform()))
            }
            let e = try Bootstrap(resamples: 2000, seed: UInt64(trial) &* 7919 &+ 1).estimate(xs)
            if e.lower! <= mu && mu <= e.upper! { covered += 1 }
        }
        let rate = Double(covered) / Double(trials)
        #expect(rate >= 0.91 && rate <= 0.98, "coverage \(rate)")
    }

    @Test func shiftedScheduleMatchesThePublishedTable() {
        let s = try! ShiftedSchedule(numSteps: 50, shift: 5, maxT: 0.999)
        let table: [(Int, Double)] = [(0, 0.999000), (1, 0.995732), (20, 0.882093), (30, 0.768935), (40, 0.555247), (49, 0.092507), (50, 0)]
        for (j, t) in table { #expect(abs(s.t(j) - t) < 5e-7, "t_\(j) = \(s.t(j))") }
        #expect(ShiftedSchedule.integerTimestep(s.t(30)) == 769)
        #expect(ShiftedSchedule.integerTimestep(s.t(0)) == 999)
    }
}

@Suite struct QuantileTests {
    @Test(arguments: [0.025, 0.5, 0.975, 0.0, 1.0])
    func selectionQuantileEqualsSortedQuantile(q: Double) {
        var rng = SplitMix64(seed: UInt64(q * 1000) + 1)
        for n in [2, 3, 10, 2000, 2001] {
            var v = (0..<n).map { _ in Double(rng.next() % 50) / 7 }  // ties included
            let expected = Bootstrap.quantile(sorted: v.sorted(), q)
            let got = v.withUnsafeMutableBufferPointer { Bootstrap.quantile(selecting: $0, q) }
            #expect(got == expected, "n=\(n) q=\(q)")
        }
    }
}
