import Foundation

/// Row id of a clip inside one database file.
public struct ClipID: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var rawValue: Int64
    public init(_ rawValue: Int64) { self.rawValue = rawValue }
    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
    public var description: String { "clip#\(rawValue)" }
}

/// Row id of an arm inside one database file.
public struct ArmID: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var rawValue: Int64
    public init(_ rawValue: Int64) { self.rawValue = rawValue }
    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
    public var description: String { "arm#\(rawValue)" }
}

/// Row id of a study (`runs.id`) inside one database file.
public struct RunID: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var rawValue: Int64
    public init(_ rawValue: Int64) { self.rawValue = rawValue }
    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
    public var description: String { "run#\(rawValue)" }
}

/// Lifecycle of a study, as `trajprobe runs` lists it. `incomplete`: the run went through every
/// unit but some failed (stored with their reason); running the same command again redoes them.
public enum RunStatus: String, Codable, Sendable, CaseIterable {
    case running, finished, interrupted, failed, imported, merged, incomplete
}

/// A probe clip as registered: the reference video, the driving audio, the mask, and the hashes
/// that pin them. Paths are provenance only; nothing is re-read from them.
public struct ClipSpec: Codable, Sendable, Hashable {
    public var name: String
    public var referencePath: String?
    public var audioPath: String?
    public var maskPath: String?
    public var referenceSHA256: String?
    public var audioSHA256: String?
    public var maskSHA256: String?
    public var frames: Int?
    public var fps: Double?
    /// How the regions were defined: `mask.png`, `box 100,200,120,80`, … (free text).
    public var mask: String?

    public init(name: String, referencePath: String? = nil, audioPath: String? = nil, maskPath: String? = nil,
                referenceSHA256: String? = nil, audioSHA256: String? = nil, maskSHA256: String? = nil,
                frames: Int? = nil, fps: Double? = nil, mask: String? = nil) {
        self.name = name; self.referencePath = referencePath; self.audioPath = audioPath; self.maskPath = maskPath
        self.referenceSHA256 = referenceSHA256; self.audioSHA256 = audioSHA256; self.maskSHA256 = maskSHA256
        self.frames = frames; self.fps = fps; self.mask = mask
    }
}

public struct ClipInfo: Sendable, Hashable {
    public var id: ClipID
    public var spec: ClipSpec
    public var name: String { spec.name }
}

public struct ArmInfo: Sendable, Hashable {
    public var id: ArmID
    public var spec: ArmSpec
    /// Canonical label (`ArmSpec.label`), the arm's identity across files.
    public var label: String
    /// True for an arm declared as the study's baseline (registry `baseline: true`).
    public var isBaseline: Bool
    /// Label of the arm this one is normalised against (registry `baseline: <id>`), if declared.
    public var baselineLabel: String?
}

/// One denoising step of the study's schedule: index j (0-based) and its shifted time t.
public struct Step: Sendable, Hashable, Codable {
    public var j: Int
    public var t: Double
    public init(j: Int, t: Double) { self.j = j; self.t = t }
}

/// The unit of work and of writing: one clip, one arm, one step (`gtStep` for GT rows), one seed.
public struct UnitKey: Hashable, Sendable, CustomStringConvertible {
    public var clip: ClipID
    public var arm: ArmID
    public var step: Int
    public var seed: Int
    public init(clip: ClipID, arm: ArmID, step: Int, seed: Int = 0) {
        self.clip = clip; self.arm = arm; self.step = step; self.seed = seed
    }
    public var description: String { "(\(clip), \(arm), step \(step), seed \(seed))" }
}

/// One number of a unit. `value` NaN means "not computed" and is stored as SQL NULL.
public struct MeasurementValue: Sendable, Hashable {
    public var metric: String
    public var region: String
    public var value: Double
    /// The long CSV's optional `protocol` column, kept for round trips; nil for probe results.
    public var protocolName: String?
    public init(metric: String, region: String, value: Double, protocolName: String? = nil) {
        self.metric = metric; self.region = region; self.value = value; self.protocolName = protocolName
    }

    /// Bitwise-equal values, NaN equal to NaN: the comparison used to decide "same unit".
    func sameAs(_ other: MeasurementValue) -> Bool {
        metric == other.metric && region == other.region && protocolName == other.protocolName
            && (value.isNaN ? other.value.isNaN : value.bitPattern == other.value.bitPattern)
    }
}

/// A spatial-probe array (e.g. per-pixel |x0(w) − x0(1)|), stored as little-endian float32.
public struct MapBlob: Sendable, Hashable {
    public var name: String
    public var shape: [Int]
    public var values: [Float]
    public init(name: String, shape: [Int], values: [Float]) {
        self.name = name; self.shape = shape; self.values = values
    }
}

/// Everything one unit produced, written in one transaction by `StudyStore.writeUnit`.
public struct UnitResult: Sendable, Hashable {
    public var key: UnitKey
    public var measurements: [MeasurementValue]
    public var maps: [MapBlob]
    public init(key: UnitKey, measurements: [MeasurementValue], maps: [MapBlob] = []) {
        self.key = key; self.measurements = measurements; self.maps = maps
    }
}

/// What `writeUnit` did.
public enum WriteOutcome: Sendable, Equatable {
    case written
    /// The unit was already stored with exactly these values.
    case unchanged
}

/// One stored number with its full key, as the report reads it.
public struct MeasurementRow: Sendable, Hashable {
    public var clip: ClipID
    public var arm: ArmID
    public var step: Int
    public var seed: Int
    public var metric: String
    public var region: String
    /// NaN when the number was not computed.
    public var value: Double
    public var protocolName: String?
}

public struct FailedUnit: Sendable, Hashable {
    public var key: UnitKey
    /// A reason code and message, e.g. `no_face: mouth box outside frame`.
    public var reason: String
}

/// One line of `trajprobe runs`.
public struct RunSummary: Sendable, Hashable {
    public var id: RunID
    public var config: StudyRecord
    public var status: RunStatus
    public var created: String
    public var finished: String?
    public var clips: Int
    public var arms: Int
    public var steps: Int
    public var doneUnits: Int
    public var failedUnits: Int
    public var measurements: Int
    public var name: String { config.name }
}

/// A saved schedule (the report's YAML/JSON output), kept with the study that derived it.
public struct SavedSchedule: Sendable, Hashable {
    public var name: String
    public var created: String
    public var format: String
    public var body: String
}

/// A whole study in memory, as plain values: what the Report module reads.
public struct StudySnapshot: Sendable, Hashable {
    public var run: RunSummary
    public var clips: [ClipInfo]
    public var arms: [ArmInfo]
    /// Sorted by j.
    public var steps: [Step]
    /// Sorted by arm, step, metric, region, clip, seed. GT rows have `step == gtStep`.
    public var measurements: [MeasurementRow]
    public var failedUnits: [FailedUnit]
    public var schedules: [SavedSchedule]

    public func clip(_ id: ClipID) -> ClipInfo? { clips.first { $0.id == id } }
    public func arm(_ id: ArmID) -> ArmInfo? { arms.first { $0.id == id } }
    public func arm(label: String) -> ArmInfo? { arms.first { $0.label == label } }
}
