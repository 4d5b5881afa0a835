import Testing
@testable import Digest

/// The shared generator and hash must reproduce, bit for bit, the copies they replaced (Report's
/// bootstrap generator, the demo's, GaussianNoise's counter form, the formula weights', the
/// fidelity benchmark's and the synthetic study's finaliser, the FNV-1a copies in GaussianNoise,
/// Shard and Bootstrap). The numbers below were computed from those copies' formulas in
/// arbitrary-precision integer arithmetic (Python), not printed by this implementation.
@Suite struct SplitMixFNVTests {
    @Test func sequentialWordsMatchGoldenStreams() {
        var zero = SplitMix64(seed: 0)
        // Seed 0's first word is SplitMix64's published first output.
        #expect([zero.next(), zero.next(), zero.next()] == [0xE220_A839_7B1D_CDAF, 0x6E78_9E6A_A1B9_65F4, 0x06C4_5D18_8009_454F])
        var answer = SplitMix64(seed: 42)
        #expect([answer.next(), answer.next(), answer.next()] == [0xBDD7_3226_2FEB_6E95, 0x28EF_E333_B266_F103, 0x4752_6757_130F_9F52])
        #expect(answer.state == 42 &+ 3 &* SplitMix64.gamma)
    }

    @Test func counterWordsEqualTheSequentialStream() {
        for seed: UInt64 in [0, 1, 42, 0xDEAD_BEEF, .max] {
            var rng = SplitMix64(seed: seed)
            for n: UInt64 in 1...64 { #expect(SplitMix64.word(seed: seed, n) == rng.next()) }
        }
    }

    @Test func finaliserMatchesGoldenValues() {
        // The fidelity benchmark's hash of counter 5: mix(5 · gamma).
        #expect(SplitMix64.word(seed: 0, 5) == 0x1B39_896A_51A8_749B)
        // The formula weights' word for stream 3, element 4: mix(((3 << 32) | 4) + gamma).
        #expect(SplitMix64.word(seed: (3 << 32) | 4, 1) == 0xA696_662E_CF57_8DDD)
        // The synthetic study's direct finaliser.
        #expect(SplitMix64.mix(12_345) == 0xF36C_F116_4265_DD51)
    }

    @Test func boundedIndicesAndUniformsMatchGoldenDraws() {
        var rng = SplitMix64(seed: 0xDEAD_BEEF)
        let bounds = [1, 2, 3, 7, 10, 1000, (1 << 40) + 7, 5]
        #expect(bounds.map { rng.nextIndex(below: $0) } == [0, 1, 0, 3, 2, 668, 387_350_014_969, 3])
        var uniform = SplitMix64(seed: 7)
        // 53-bit values are exact in Double, so equality is exact.
        #expect(uniform.nextUniform() == 0.3898297483912715)
        #expect(uniform.nextUniform() == 0.01678829452815611)
    }

    @Test func fnv1aMatchesGoldenHashes() {
        #expect(FNV1a.hash64("") == FNV1a.offsetBasis)
        #expect(FNV1a.hash64("a") == 0xAF63_DC4C_8601_EC8C)
        #expect(FNV1a.hash64("foobar") == 0x8594_4171_F739_67E8)
        // Bootstrap's stream key: parts joined by the unit separator, UTF-8 (ε is two bytes).
        #expect(FNV1a.hash64("clip07\u{1F}seed 0\u{1F}ε") == 0xFCF6_F721_159A_D672)
        #expect(FNV1a.hash64(bytes: Array("foobar".utf8)) == FNV1a.hash64("foobar"))
    }
}
