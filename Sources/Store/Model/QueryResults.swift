import Foundation

/// One clip's (and seed's) value of one (arm, step, metric, region).
public struct ClipValue: Sendable, Hashable {
    public var clip: ClipID
    public var seed: Int
    /// NaN when not computed.
    public var value: Double
}

/// The same clip and seed measured under two arms at one step: the report's paired difference.
public struct PairedValue: Sendable, Hashable {
    public var clip: ClipID
    public var seed: Int
    public var a: Double
    public var b: Double
}

/// One point of a per-arm curve: mean and sample standard deviation over clips and seeds,
/// NaN values left out of both and of `count`.
public struct CurvePoint: Sendable, Hashable {
    public var step: Int
    /// nil for the GT row (`step == gtStep`).
    public var t: Double?
    public var mean: Double
    public var standardDeviation: Double
    public var count: Int
}

/// A spatial map with the unit it belongs to.
public struct StoredMap: Sendable, Hashable {
    public var key: UnitKey
    public var map: MapBlob
}
