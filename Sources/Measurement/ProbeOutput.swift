import Store

/// The unit of work and of storage: one (clip, arm, step, seed).
public struct ProbeUnit: Sendable, Hashable, CustomStringConvertible {
    /// The clip's name.
    public var clip: String
    /// The arm that produced the prediction.
    public var arm: ArmSpec
    /// Schedule step the prediction is stored under (0 is the noisiest).
    public var step: Int
    /// Noise seed; arms of one (clip, seed) share the same ε.
    public var seed: Int

    /// One unit; the key is derived, so equal fields always shard alike.
    public init(clip: String, arm: ArmSpec, step: Int, seed: Int) {
        self.clip = clip
        self.arm = arm
        self.step = step
        self.seed = seed
    }

    /// Stable text key, the input of shard assignment: `clip|label|step|seed`.
    public var key: String { "\(clip)|\(arm.label)|\(step)|\(seed)" }
    /// The unit's `key`, so logs and errors name units as shards hash them.
    public var description: String { key }
}

/// One measured prediction: the x0 an arm produced at a step, in the teacher's working space.
public struct ProbeOutput: Sendable {
    /// Which (clip, arm, step, seed) this prediction answers.
    public var unit: ProbeUnit
    /// Schedule time t of the step (noise level σ), 0 for imported videos.
    public var t: Double
    /// The predicted x0 in the teacher's working space, `[B, dim]`.
    public var x0: Tensor
    /// For `spatial` arms: per-element |x0(w) - x0(1)| in decoded frame space, and the noise
    /// floor map, both `[B, frameSize]`. Nil for the other families.
    public var spatial: SpatialMaps?

    /// The x0 `unit` produced at time `t`, with the spatial arm's maps when it has them.
    package init(unit: ProbeUnit, t: Double, x0: Tensor, spatial: SpatialMaps?) {
        self.unit = unit; self.t = t; self.x0 = x0; self.spatial = spatial
    }
}

/// The spatial arm's two maps for one step, frame space, `[B, frameSize]` (HWC rows).
public struct SpatialMaps: Sendable {
    /// Per-element |x0(w) - x0(1)| from the same fresh-noise state.
    public var difference: Tensor
    /// The noise-floor control: |x0(1)(x_t + 0.01 ε') - x0(1)(x_t)|.
    public var floor: Tensor

    /// The difference map and the noise-floor map of one step.
    package init(difference: Tensor, floor: Tensor) {
        self.difference = difference; self.floor = floor
    }

    /// Mean of `map` over frames and channels inside a per-pixel weight mask (`H*W` values,
    /// 1 inside the region, 0 outside; fractional weights allowed).
    public static func regionMean(_ map: Tensor, mask: [Float], channels: Int) throws(ProbeError) -> Double {
        let pixels = map.rowSize / channels
        guard mask.count == pixels, pixels * channels == map.rowSize else {
            throw .shapeMismatch(what: "region mask", expected: [pixels], got: [mask.count])
        }
        var s = 0.0, wsum = 0.0
        for r in 0..<map.rows {
            for p in 0..<pixels where mask[p] != 0 {
                var v = 0.0
                for c in 0..<channels { v += Double(map.data[(r * pixels + p) * channels + c]) }
                s += Double(mask[p]) * v / Double(channels)
                wsum += Double(mask[p])
            }
        }
        guard wsum > 0 else { throw .shapeMismatch(what: "region mask (empty)", expected: [pixels], got: [0]) }
        return s / wsum
    }
}
