/// SplitMix64 (Steele, Lea & Flood 2014): a small PRNG of our own, so a bootstrap seeded with the
/// same number gives the same CIs on every platform and Swift version (the standard library's
/// generator makes no such promise).
public struct SplitMix64: RandomNumberGenerator, Sendable {
    /// The generator's whole state; it advances by the golden-ratio increment per draw.
    public private(set) var state: UInt64

    /// A generator whose sequence is fixed by `seed`.
    public init(seed: UInt64) { state = seed }

    /// The next 64 random bits (SplitMix64's mix of the advanced state).
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
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
}
