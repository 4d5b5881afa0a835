import Foundation

/// One clip's (and seed's) value of one (arm, step, metric, region).
public struct ClipValue: Sendable, Hashable {
    /// The clip.
    public var clip: ClipID
    /// The seed.
    public var seed: Int
    /// NaN when not computed.
    public var value: Double
}

/// The same clip and seed measured under two arms at one step: the report's paired difference.
public struct PairedValue: Sendable, Hashable {
    /// The clip.
    public var clip: ClipID
    /// The seed.
    public var seed: Int
    /// The value under the first arm.
    public var a: Double
    /// The value under the second arm.
    public var b: Double
}

/// One point of a per-arm curve: mean and sample standard deviation over clips and seeds,
/// NaN values left out of both and of `count`.
public struct CurvePoint: Sendable, Hashable {
    /// The step.
    public var step: Int
    /// nil for the GT row (`step == gtStep`).
    public var t: Double?
    /// Mean over clips and seeds.
    public var mean: Double
    /// Sample standard deviation over clips and seeds.
    public var standardDeviation: Double
    /// Values that entered (NaN left out).
    public var count: Int
}

/// A spatial map with the unit it belongs to.
public struct StoredMap: Sendable, Hashable {
    /// The unit that wrote it.
    public var key: UnitKey
    /// The map.
    public var map: MapBlob
}
