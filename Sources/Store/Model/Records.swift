import Foundation

/// Row id of a clip inside one database file.
public struct ClipID: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The SQLite row id.
    public var rawValue: Int64
    /// Wraps a row id read from the database.
    public init(_ rawValue: Int64) { self.rawValue = rawValue }
    /// Row order, which is registration order.
    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
    /// `clip#<id>`, for errors and logs.
    public var description: String { "clip#\(rawValue)" }
}

/// Row id of an arm inside one database file.
public struct ArmID: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The SQLite row id.
    public var rawValue: Int64
    /// Wraps a row id read from the database.
    public init(_ rawValue: Int64) { self.rawValue = rawValue }
    /// Row order, which is registration order.
    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
    /// `arm#<id>`, for errors and logs.
    public var description: String { "arm#\(rawValue)" }
}

/// Row id of a study (`runs.id`) inside one database file.
public struct RunID: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The SQLite row id.
    public var rawValue: Int64
    /// Wraps a row id read from the database.
    public init(_ rawValue: Int64) { self.rawValue = rawValue }
    /// Row order, which is registration order.
    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
    /// `run#<id>`, for errors and logs.
    public var description: String { "run#\(rawValue)" }
}

/// Lifecycle of a study, as `trajprobe runs` lists it. `incomplete`: the run went through every
/// unit but some failed (stored with their reason); running the same command again redoes them.
public enum RunStatus: String, Codable, Sendable, CaseIterable {
    /// A probe is (or was, until it stopped without saying) writing units.
    case running
    /// Every unit is done.
    case finished
    /// The run was stopped (a signal, a crash) before every unit was done.
    case interrupted
    /// The run stopped on an error that was not a unit's.
    case failed
    /// Numbers came from `import csv` or `import registry`, not from a probe.
    case imported
    /// The study was made by `trajprobe merge` from shards.
    case merged
    /// Every unit was tried and some failed.
    case incomplete
}

/// A probe clip as registered: the reference video, the driving audio, the mask, and the hashes
/// that pin them. Paths are provenance only; nothing is re-read from them.
public struct ClipSpec: Codable, Sendable, Hashable {
    /// The clip's name, unique within its study (`clips.name`).
    public var name: String
    /// The reference (GT) video the clip was read from.
    public var referencePath: String?
    /// The driving audio (another clip's for a dubbed probe).
    public var audioPath: String?
    /// The mouth mask image, when regions come from one.
    public var maskPath: String?
    /// sha256 of the reference video's bytes.
    public var referenceSHA256: String?
    /// sha256 of the audio's bytes.
    public var audioSHA256: String?
    /// sha256 of the mask's bytes.
    public var maskSHA256: String?
    /// Frames measured.
    public var frames: Int?
    /// Frame rate the clip was decoded at.
    public var fps: Double?
    /// How the regions were defined: `mask.png`, `box 100,200,120,80`, … (free text).
    public var mask: String?

    /// A clip; everything but the name is provenance and may be unknown.
    public init(name: String, referencePath: String? = nil, audioPath: String? = nil, maskPath: String? = nil,
                referenceSHA256: String? = nil, audioSHA256: String? = nil, maskSHA256: String? = nil,
                frames: Int? = nil, fps: Double? = nil, mask: String? = nil) {
        self.name = name; self.referencePath = referencePath; self.audioPath = audioPath; self.maskPath = maskPath
        self.referenceSHA256 = referenceSHA256; self.audioSHA256 = audioSHA256; self.maskSHA256 = maskSHA256
        self.frames = frames; self.fps = fps; self.mask = mask
    }
}

/// A registered clip: its row id and what was registered.
public struct ClipInfo: Sendable, Hashable {
    /// The clip's row id in this file.
    public var id: ClipID
    /// The clip as registered.
    public var spec: ClipSpec
    /// The clip's name.
    public var name: String { spec.name }
}

/// A registered arm: its row id, its policy and how imports normalise it.
public struct ArmInfo: Sendable, Hashable {
    /// The arm's row id in this file.
    public var id: ArmID
    /// The guidance policy (family and knobs).
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
    /// Step index, 0 at the noisiest time.
    public var j: Int
    /// The step's time t in [0, 1] (or as an imported table wrote it).
    public var t: Double
    /// A step at index `j` and time `t`.
    public init(j: Int, t: Double) { self.j = j; self.t = t }
}

/// The unit of work and of writing: one clip, one arm, one step (`gtStep` for GT rows), one seed.
public struct UnitKey: Hashable, Sendable, CustomStringConvertible {
    /// The clip measured.
    public var clip: ClipID
    /// The arm whose prediction was measured.
    public var arm: ArmID
    /// The step (`gtStep` for the reference clip's own values).
    public var step: Int
    /// The noise seed.
    public var seed: Int
    /// A unit's key; seed 0 unless the study probes several.
    public init(clip: ClipID, arm: ArmID, step: Int, seed: Int = 0) {
        self.clip = clip; self.arm = arm; self.step = step; self.seed = seed
    }
    /// `(clip#1, arm#2, step 30, seed 0)`, for errors and logs.
    public var description: String { "(\(clip), \(arm), step \(step), seed \(seed))" }
}

/// One number of a unit. `value` NaN means "not computed" and is stored as SQL NULL.
public struct MeasurementValue: Sendable, Hashable {
    /// Metric name (``MetricName``).
    public var metric: String
    /// Region name (``RegionName``).
    public var region: String
    /// The number; NaN when not computed.
    public var value: Double
    /// The long CSV's optional `protocol` column, kept for round trips; nil for probe results.
    public var protocolName: String?
    /// One number of a unit.
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
    /// The map's name (``MapName``).
    public var name: String
    /// Dimensions, row-major (`[H, W]`, `[windows]`).
    public var shape: [Int]
    /// The values, `shape`'s product of them.
    public var values: [Float]
    /// A map of `values` laid out as `shape`.
    public init(name: String, shape: [Int], values: [Float]) {
        self.name = name; self.shape = shape; self.values = values
    }
}

/// Everything one unit produced, written in one transaction by `StudyStore.writeUnit`.
public struct UnitResult: Sendable, Hashable {
    /// The unit.
    public var key: UnitKey
    /// Its numbers.
    public var measurements: [MeasurementValue]
    /// Its maps (spatial probe, sync series); often none.
    public var maps: [MapBlob]
    /// A unit's result, written whole or not at all.
    public init(key: UnitKey, measurements: [MeasurementValue], maps: [MapBlob] = []) {
        self.key = key; self.measurements = measurements; self.maps = maps
    }
}

/// What `writeUnit` did.
public enum WriteOutcome: Sendable, Equatable {
    /// The unit was new and is now stored.
    case written
    /// The unit was already stored with exactly these values.
    case unchanged
}

/// One row of the `measurements` table: a stored number with its full key by row ids (the
/// report turns it into its `LabelledMeasurement`, by arm label and clip name).
public struct MeasurementRow: Sendable, Hashable {
    /// The clip's row id.
    public var clip: ClipID
    /// The arm's row id.
    public var arm: ArmID
    /// The step (`gtStep` for GT rows).
    public var step: Int
    /// The noise seed.
    public var seed: Int
    /// Metric name.
    public var metric: String
    /// Region name.
    public var region: String
    /// NaN when the number was not computed.
    public var value: Double
    /// The long CSV's `protocol` column, when imported with one.
    public var protocolName: String?
}

/// A unit that failed, with why (kept so a rerun redoes it and the report lists it).
public struct FailedUnit: Sendable, Hashable {
    /// The unit.
    public var key: UnitKey
    /// A reason code and message, e.g. `no_face: mouth box outside frame`.
    public var reason: String
}

/// One line of `trajprobe runs`.
public struct RunSummary: Sendable, Hashable {
    /// The study's row id.
    public var id: RunID
    /// The study's stored record (name, parameters, provenance).
    public var config: StudyRecord
    /// Its lifecycle state.
    public var status: RunStatus
    /// When it was created (UTC, ISO 8601).
    public var created: String
    /// When it finished, if it did.
    public var finished: String?
    /// Clips registered.
    public var clips: Int
    /// Arms registered.
    public var arms: Int
    /// Steps registered.
    public var steps: Int
    /// Units stored as done.
    public var doneUnits: Int
    /// Units stored as failed.
    public var failedUnits: Int
    /// Numbers stored.
    public var measurements: Int
    /// The study's name.
    public var name: String { config.name }
}

/// A saved schedule (the report's YAML/JSON output), kept with the study that derived it.
public struct SavedSchedule: Sendable, Hashable {
    /// Its name within the study (`search` for `trajprobe search`'s result).
    public var name: String
    /// When it was saved (UTC, ISO 8601).
    public var created: String
    /// `json` or `yaml`.
    public var format: String
    /// The text as written.
    public var body: String
}

/// A whole study in memory, as plain values: what the Report module reads.
public struct StudySnapshot: Sendable, Hashable {
    /// The study's summary and record.
    public var run: RunSummary
    /// Its clips, by row id.
    public var clips: [ClipInfo]
    /// Its arms, by row id.
    public var arms: [ArmInfo]
    /// Sorted by j.
    public var steps: [Step]
    /// Sorted by arm, step, metric, region, clip, seed. GT rows have `step == gtStep`.
    public var measurements: [MeasurementRow]
    /// Units that failed, with their reasons.
    public var failedUnits: [FailedUnit]
    /// Schedules saved with the study.
    public var schedules: [SavedSchedule]

    /// The clip of row id `id`, if the study has it.
    public func clip(_ id: ClipID) -> ClipInfo? { clips.first { $0.id == id } }
    /// The arm of row id `id`, if the study has it.
    public func arm(_ id: ArmID) -> ArmInfo? { arms.first { $0.id == id } }
    /// The arm with canonical label `label`, if the study has it.
    public func arm(label: String) -> ArmInfo? { arms.first { $0.label == label } }
}
