import Digest
import Foundation
import Measurement

/// Seeded standard-normal noise that is the same on every machine and every run.
///
/// Counter-based SplitMix64 + Box–Muller in Double:
/// - raw word n (n = 1, 2, …) of a stream is `mix64(seed &+ n &* 0x9E3779B97F4A7C15)`, where
///   `mix64` is SplitMix64's finaliser (`z ^= z >> 30; z &*= 0xBF58476D1CE4E5B9;
///   z ^= z >> 27; z &*= 0x94D049BB133111EB; z ^= z >> 31`). This is exactly the SplitMix64
///   sequence started at `seed`, but any element can be computed without its predecessors, so
///   the noise for a row does not depend on how work was split across threads or shards;
/// - value pair k (elements 2k, 2k+1) takes words 2k+1 and 2k+2:
///   `u1 = (w1 >> 11 + 1) · 2⁻⁵³ ∈ (0, 1]`, `u2 = (w2 >> 11) · 2⁻⁵³ ∈ [0, 1)`,
///   `r = sqrt(-2 ln u1)`, element 2k = `r cos(2π u2)`, element 2k+1 = `r sin(2π u2)`,
///   rounded to Float at the end.
/// Integer steps are exact everywhere; `log`, `cos`, `sin` in Double differ between libms by at
/// most an ulp of Double, far below Float's rounding, so the Float values agree bit for bit in
/// practice.
public struct GaussianNoise: Sendable, Hashable {
    /// The stream's seed: word n is the SplitMix64 mix of `seed + n · golden gamma` (see above).
    public let seed: UInt64

    /// A stream started at `seed`; prefer ``init(key:)`` so streams are named by purpose.
    public init(seed: UInt64) { self.seed = seed }

    /// A stream for a named purpose: the seed is FNV-1a-64 of `key` (e.g. `"clip7|seed 0|ε"`),
    /// so streams never collide by accident and do not depend on enumeration order.
    public init(key: String) { self.seed = FNV1a.hash64(key) }

    /// Raw 64-bit word `n` (1-based) of the stream: Digest's SplitMix64, counter-based.
    public func word(_ n: UInt64) -> UInt64 { SplitMix64.word(seed: seed, n) }

    /// Box–Muller pair `k` in Double.
    public func pair(_ k: UInt64) -> (Double, Double) {
        let w1 = word(2 * k + 1), w2 = word(2 * k + 2)
        let u1 = (Double(w1 >> 11) + 1) * 0x1p-53
        let u2 = Double(w2 >> 11) * 0x1p-53
        let r = (-2 * Foundation.log(u1)).squareRoot()
        let a = 2 * Double.pi * u2
        return (r * Foundation.cos(a), r * Foundation.sin(a))
    }

    /// Element `i` of the stream in Double.
    public func value(_ i: Int) -> Double {
        let (a, b) = pair(UInt64(i / 2))
        return i % 2 == 0 ? a : b
    }

    /// `count` values starting at element `offset` (offset even or odd), rounded to Float.
    public func floats(count: Int, offset: Int = 0) -> [Float] {
        [Float](unsafeUninitializedCapacity: count) { buf, n in
            var i = 0
            while i < count {
                let e = offset + i
                let (a, b) = pair(UInt64(e / 2))
                if e % 2 == 0 {
                    buf[i] = Float(a)
                    if i + 1 < count { buf[i + 1] = Float(b) }
                    i += 2
                } else {
                    buf[i] = Float(b)
                    i += 1
                }
            }
            n = count
        }
    }

    /// A tensor of standard-normal values with `shape`.
    public func tensor(shape: [Int]) -> Tensor {
        Tensor(unchecked: shape, floats(count: shape.reduce(1, *)))
    }
}
