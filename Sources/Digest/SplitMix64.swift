/// SplitMix64 (Steele, Lea & Flood 2014): trajprobe's one seeded generator, so a bootstrap, a
/// noise stream or a demo seeded with the same number gives the same values on every platform
/// and Swift version (the standard library's generator makes no such promise).
///
/// Word n (n = 1, 2, …) of the stream seeded with `s` is `mix(s &+ n &* gamma)`, so counter-based
/// users (``GaussianNoise`` in TrajectoryProbe, the test-weight formula) compute any word without
/// its predecessors and still get this sequence.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    /// The Weyl increment (2⁶⁴ / φ, odd) added to the state before each output.
    public static let gamma: UInt64 = 0x9E37_79B9_7F4A_7C15

    /// The generator's state: the seed plus `gamma` times the number of words drawn.
    public private(set) var state: UInt64

    /// A stream that starts at `seed` (its first word is `mix(seed &+ gamma)`).
    public init(seed: UInt64) { state = seed }

    /// SplitMix64's output function (a variant of MurmurHash3's finaliser): a bijection on
    /// UInt64 that hashes counters and keys the same way the generator does.
    @inline(__always)
    public static func mix(_ x: UInt64) -> UInt64 {
        var z = x
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Word `n` (1-based) of the stream seeded with `seed`, without drawing the ones before it.
    @inline(__always)
    public static func word(seed: UInt64, _ n: UInt64) -> UInt64 { mix(seed &+ n &* gamma) }

    /// The next 64-bit word.
    public mutating func next() -> UInt64 {
        state &+= SplitMix64.gamma
        return SplitMix64.mix(state)
    }

    /// Uniform integer in 0..<n by Lemire's multiply-shift with rejection (no modulo bias).
    public mutating func nextIndex(below n: Int) -> Int {
        precondition(n > 0, "nextIndex(below:) needs n > 0")
        let bound = UInt64(n)
        var m = next().multipliedFullWidth(by: bound)
        if m.low < bound {
            let threshold = (0 &- bound) % bound
            while m.low < threshold { m = next().multipliedFullWidth(by: bound) }
        }
        return Int(m.high)
    }

    /// Uniform in [0, 1) with 53 random bits (the top 53 of the next word).
    public mutating func nextUniform() -> Double { Double(next() >> 11) * 0x1.0p-53 }
}
