import Digest

/// Bootstrap resample indices for `n` units (see `Bootstrap.plan`).
public struct ResamplePlan: Sendable, Equatable {
    /// Number of units resampled.
    public var n: Int
    /// Number of resamples.
    public var resamples: Int
    /// `resamples × n` unit indices, resample after resample; Int32 to halve the memory.
    public var indices: [Int32]
}

/// A mean with its percentile bootstrap confidence interval.
public struct Estimate: Codable, Sendable, Equatable {
    /// Mean over the units.
    public var mean: Double
    /// nil when fewer than 2 units were measured (no CI can be computed, and the report says so).
    public var lower: Double?
    /// Upper end of the interval; nil exactly when `lower` is.
    public var upper: Double?
    /// Number of independent units (clips) behind the mean.
    public var count: Int

    /// An estimate as computed; pass nil bounds when no CI exists.
    public init(mean: Double, lower: Double?, upper: Double?, count: Int) {
        self.mean = mean; self.lower = lower; self.upper = upper; self.count = count
    }

    /// Whether both interval ends exist (at least two units).
    public var hasCI: Bool { lower != nil && upper != nil }
}

/// Seeded percentile bootstrap of the mean.
///
/// Clips are the independent units: seeds of one clip are averaged before resampling, so a study
/// with many seeds per clip does not get narrower CIs than its clips support.
public struct Bootstrap: Sendable, Equatable {
    /// Number of resamples (at least 2000, the report's floor for 95% percentile intervals).
    public var resamples: Int
    /// Two-sided confidence level, 0.95 by default.
    public var level: Double
    /// Seed of the resample indices: the same seed gives the same CIs on every machine.
    public var seed: UInt64

    /// Refuses fewer than 2000 resamples, below which percentile CIs are too noisy to report.
    public init(resamples: Int = 2000, level: Double = 0.95, seed: UInt64 = 20_260_611) throws(ReportError) {
        guard resamples >= 2000 else {
            throw .invalidOption(name: "--resamples", problem: "\(resamples) is below 2000; percentile CIs need at least 2000 resamples")
        }
        guard level > 0, level < 1 else {
            throw .invalidOption(name: "--level", problem: "\(level) is not in (0, 1)")
        }
        self.resamples = resamples; self.level = level; self.seed = seed
    }

    /// Mean of `values` with its percentile CI. `stream` decorrelates the PRNG between callers
    /// that share one seed, keeping each reproducible on its own.
    public func estimate(_ values: [Double], stream: UInt64 = 0) -> Estimate {
        guard values.count >= 2 else { return estimate(values, plan: nil) }
        return estimate(values, plan: plan(n: values.count, stream: stream))
    }

    /// The resampled clip indices for n units: `resamples × n` indices, drawn once and shared by
    /// every (step, metric, region) cell with n clips, which resamples the clips jointly across
    /// cells (one bootstrap world per resample) and costs no RNG per cell.
    public func plan(n: Int, stream: UInt64 = 0) -> ResamplePlan {
        var rng = SplitMix64(seed: seed ^ (stream &* 0xD1B5_4A32_D192_ED03) ^ UInt64(n))
        var idx = [Int32](repeating: 0, count: resamples * n)
        idx.withUnsafeMutableBufferPointer { out in
            for k in 0..<(resamples * n) { out[k] = Int32(rng.nextIndex(below: n)) }
        }
        return ResamplePlan(n: n, resamples: resamples, indices: idx)
    }

    /// Mean and percentile CI of `values` under a prepared plan (`plan.n == values.count`).
    public func estimate(_ values: [Double], plan: ResamplePlan?) -> Estimate {
        let n = values.count
        guard n > 0 else { return Estimate(mean: .nan, lower: nil, upper: nil, count: 0) }
        let mean = values.reduce(0, +) / Double(n)
        guard n >= 2, let plan else { return Estimate(mean: mean, lower: nil, upper: nil, count: n) }
        precondition(plan.n == n, "resample plan for \(plan.n) units used on \(n) values")
        var means = [Double](repeating: 0, count: plan.resamples)
        let inv = 1 / Double(n)
        values.withUnsafeBufferPointer { v in
            plan.indices.withUnsafeBufferPointer { ix in
                means.withUnsafeMutableBufferPointer { out in
                    var k = 0
                    for r in 0..<plan.resamples {
                        var sum = 0.0
                        for _ in 0..<n { sum += v[Int(ix[k])]; k += 1 }
                        out[r] = sum * inv
                    }
                }
            }
        }
        let alpha = (1 - level) / 2
        let (lo, hi) = means.withUnsafeMutableBufferPointer { buf in
            (Bootstrap.quantile(selecting: buf, alpha), Bootstrap.quantile(selecting: buf, 1 - alpha))
        }
        return Estimate(mean: mean, lower: lo, upper: hi, count: n)
    }

    /// The same linear-interpolated quantile by quickselect (reorders `a`): the two CI ends of
    /// thousands of cells without sorting every resample vector.
    static func quantile(selecting a: UnsafeMutableBufferPointer<Double>, _ q: Double) -> Double {
        let pos = q * Double(a.count - 1)
        let k = Int(pos.rounded(.down))
        let frac = pos - Double(k)
        select(a, k)
        guard frac > 0, k + 1 < a.count else { return a[k] }
        var next = a[k + 1]
        for i in (k + 2)..<max(k + 2, a.count) where a[i] < next { next = a[i] }
        return a[k] + (next - a[k]) * frac
    }

    /// Moves the k-th smallest element to index k, smaller ones before it, larger after
    /// (Hoare partition, median-of-three pivot; deterministic).
    static func select(_ a: UnsafeMutableBufferPointer<Double>, _ k: Int) {
        var lo = 0, hi = a.count - 1
        while hi > lo {
            let mid = lo + (hi - lo) / 2
            if a[mid] < a[lo] { a.swapAt(mid, lo) }
            if a[hi] < a[lo] { a.swapAt(hi, lo) }
            if a[hi] < a[mid] { a.swapAt(hi, mid) }
            let pivot = a[mid]
            var i = lo, j = hi
            while i <= j {
                while a[i] < pivot { i += 1 }
                while a[j] > pivot { j -= 1 }
                if i <= j { a.swapAt(i, j); i += 1; j -= 1 }
            }
            if k <= j { hi = j } else if k >= i { lo = i } else { return }
        }
    }

    /// Linear-interpolated quantile of sorted values (NumPy's default, "linear").
    static func quantile(sorted: [Double], _ q: Double) -> Double {
        let pos = q * Double(sorted.count - 1)
        let lo = Int(pos.rounded(.down))
        let hi = min(lo + 1, sorted.count - 1)
        let frac = pos - Double(lo)
        return sorted[lo] + (sorted[hi] - sorted[lo]) * frac
    }

    /// A stable 64-bit hash of a cell's name (FNV-1a), used as the bootstrap stream.
    static func stream(_ parts: String...) -> UInt64 {
        FNV1a.hash64(parts.joined(separator: "\u{1F}"))
    }
}
