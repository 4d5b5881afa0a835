import Foundation
import Store
import Support

/// Everything one study's report needs, in memory.
///
/// The report never reads the database itself: an adapter fills this value from the Store (or a
/// JSON file written by `StudyData.writeJSON`), so the statistics and figures can be tested on
/// planted values and two studies from different databases compare through the same type.
public struct StudyData: Codable, Sendable, Equatable {
    /// The study's name (the Store's `runs` name); used in file names and headings.
    public var name: String
    /// Where the study came from (database path or JSON file), named in errors.
    public var source: String
    /// Teacher kind (`analytic`, `remote`, `imported`) and its model name.
    public var teacher: String
    /// The teacher's model name (`unknown` when the study does not say).
    public var modelName: String
    /// Which conditions the negative CFG branch drops (`audio`, `text+audio`).
    public var dropMode: String
    /// Sync model that produced Sync-C/D (`syncnet-v2`, `facesync-cca`), its preset and weights.
    public var syncModel: String
    /// The sync model's preset (empty when the study does not record one).
    public var syncPreset: String
    /// sha256 of the sync model's weights (empty when it has none).
    public var syncWeightsSHA256: String
    /// sha256 of the database file, copied into the schedule's provenance.
    public var databaseSHA256: String
    /// Version of trajprobe that made the study.
    public var toolkitVersion: String
    /// Whether the study is complete; a partial one is reported as such.
    public var status: StudyStatus
    /// Sampler: number of steps N (nil when the study does not record it).
    public var numSteps: Int?
    /// Sampler: timestep shift s (nil when unknown).
    public var shift: Double?
    /// Sampler: the clamp of t_0 (nil when unknown).
    public var maxT: Double?
    /// The study's typed parameters as stored (nil for a study JSON file written before they
    /// existed): the Configuration table is built from them.
    public var parameters: StudyParameters?
    /// The teacher's CFG scale w (uncond form) as the study recorded it; nil when it did not
    /// (imported results): the report then reads it off the CFG arms, never assumes one.
    public var guidanceScale: Double?
    /// Two-scale teachers (text, audio), as the study recorded them.
    public var guidanceText: Double?
    /// A two-scale teacher's audio CFG scale, as recorded.
    public var guidanceAudio: Double?
    /// Per-metric comparison rules of an analysis registry (`face_value`, `normalized_only`,
    /// `diagnostic_only`), as written; empty when the study has none.
    public var metricRules: [String: String] = [:]
    /// Report-side notes shown in the Configuration table (a stored search that could not be
    /// read); a study JSON file written before typed parameters keeps its free-form settings here.
    public var configuration: [String: String]
    /// Probed steps: index j and time t.
    public var steps: [StepTime]
    /// Names of the clips registered.
    public var clips: [String]
    /// The probe arms (student schedules excluded: `trajprobe search` reads those).
    public var arms: [ArmSpec]
    /// Every measured number, by arm label and clip name.
    public var measurements: [LabelledMeasurement]
    /// Units that failed, counted per arm and reason.
    public var failures: [FailedUnits]
    /// Per-window sync over time (optional).
    public var syncSeries: [SyncSeries]
    /// Spatial CFG maps (optional).
    public var spatialMaps: [SpatialMap]
    /// The study's `trajprobe search` result, when it has one (optional in study JSON files).
    public var search: SearchResult?

    /// A study in memory; what is not given is unknown (nil), except the names shown as given.
    public init(name: String, source: String = "", teacher: String = "analytic", modelName: String = "",
                dropMode: String = "audio", syncModel: String = "facesync-cca", syncPreset: String = "",
                syncWeightsSHA256: String = "", databaseSHA256: String = "", toolkitVersion: String = "",
                status: StudyStatus = .finished, numSteps: Int? = nil, shift: Double? = nil, maxT: Double? = nil,
                parameters: StudyParameters? = nil,
                guidanceScale: Double? = nil, guidanceText: Double? = nil, guidanceAudio: Double? = nil,
                metricRules: [String: String] = [:], configuration: [String: String] = [:], steps: [StepTime],
                clips: [String], arms: [ArmSpec], measurements: [LabelledMeasurement],
                failures: [FailedUnits] = [], syncSeries: [SyncSeries] = [], spatialMaps: [SpatialMap] = [],
                search: SearchResult? = nil) {
        self.name = name; self.source = source; self.teacher = teacher; self.modelName = modelName
        self.dropMode = dropMode; self.syncModel = syncModel; self.syncPreset = syncPreset
        self.syncWeightsSHA256 = syncWeightsSHA256; self.databaseSHA256 = databaseSHA256
        self.toolkitVersion = toolkitVersion; self.status = status; self.numSteps = numSteps
        self.shift = shift; self.maxT = maxT; self.parameters = parameters; self.guidanceScale = guidanceScale
        self.guidanceText = guidanceText; self.guidanceAudio = guidanceAudio; self.metricRules = metricRules
        self.configuration = configuration; self.steps = steps; self.clips = clips; self.arms = arms
        self.measurements = measurements; self.failures = failures; self.syncSeries = syncSeries
        self.spatialMaps = spatialMaps
        self.search = search
    }

    /// The teacher's CFG scale as recorded, one scale or a (text, audio) pair; nil when unknown.
    public var recordedScale: GuidanceScale? {
        if let t = guidanceText, let a = guidanceAudio { return .pair(text: t, audio: a) }
        return guidanceScale.map(GuidanceScale.single)
    }

    /// The teacher's shifted schedule, for an analysis that needs it (`neededFor` names it in
    /// the error): never assumed when the study does not record N, s and max t.
    public func sampler(neededFor: String) throws(ReportError) -> ShiftedSchedule {
        let missing = [numSteps == nil ? "num_steps" : nil, shift == nil ? "shift" : nil, maxT == nil ? "max_t" : nil].compactMap { $0 }
        guard let n = numSteps, let s = shift, let m = maxT else {
            throw .unknownParameter(file: source, parameter: missing.joined(separator: ", "), neededFor: neededFor)
        }
        do { return try ShiftedSchedule(numSteps: n, shift: s, maxT: m) } catch {
            throw .unreadableInput(file: source, problem: error.description)
        }
    }

    /// t of step j, from the probed steps (or nil when j was not probed).
    public func t(ofStep j: Int) -> Double? { steps.first { $0.j == j }?.t }
}

/// Whether the study's probe finished: a running or interrupted study is reported as partial.
public enum StudyStatus: String, Codable, Sendable, Equatable {
    /// `incomplete`: the run went through every unit but some failed (a rerun redoes them).
    case finished, running, interrupted, incomplete
}

/// A probed step: index j and its time t in [0, 1].
public struct StepTime: Codable, Sendable, Equatable, Hashable {
    /// Step index.
    public var j: Int
    /// Time in [0, 1].
    public var t: Double
    /// A step j at time t.
    public init(j: Int, t: Double) { self.j = j; self.t = t }
}

/// One measured number as the report reads it: the Store's `MeasurementRow` with its arm as
/// its label and its clip as its name, so studies from different databases compare. `step ==
/// gtStep` marks GT rows (the reference clip itself, arm label ignored).
public struct LabelledMeasurement: Codable, Sendable, Equatable {
    /// The arm's canonical label.
    public var arm: String
    /// The clip's name.
    public var clip: String
    /// The step index j.
    public var step: Int
    /// The noise seed.
    public var seed: Int
    /// Metric name.
    public var metric: String
    /// Region name.
    public var region: String
    /// The number (NaN when not computed).
    public var value: Double
    /// A value with every field given.
    public init(arm: String, clip: String, step: Int, seed: Int = 0, metric: String, region: String, value: Double) {
        self.arm = arm; self.clip = clip; self.step = step; self.seed = seed
        self.metric = metric; self.region = region; self.value = value
    }
}

/// Units that failed (a clip that could not be scored, a teacher error), counted per arm and
/// reason; `step` nil when the count is over all steps.
public struct FailedUnits: Codable, Sendable, Equatable {
    /// The arm's canonical label.
    public var arm: String
    /// The step, or nil when the count is over all steps.
    public var step: Int?
    /// Why the units failed.
    public var reason: String
    /// How many units failed.
    public var count: Int
    /// A value with every field given.
    public init(arm: String, step: Int? = nil, reason: String, count: Int) {
        self.arm = arm; self.step = step; self.reason = reason; self.count = count
    }
}

/// Per-window sync over time for one (arm, clip, step): window centre times in seconds.
public struct SyncSeries: Codable, Sendable, Equatable {
    /// The arm's canonical label.
    public var arm: String
    /// The clip's name.
    public var clip: String
    /// The step index j.
    public var step: Int
    /// Metric name.
    public var metric: String
    /// Window centre times in seconds.
    public var times: [Double]
    /// The values, one per time (or pixel).
    public var values: [Double]
    /// A value with every field given.
    public init(arm: String, clip: String, step: Int, metric: String = MetricName.syncC, times: [Double], values: [Double]) {
        self.arm = arm; self.clip = clip; self.step = step; self.metric = metric
        self.times = times; self.values = values
    }
}

/// A spatial CFG map |x0(w) − x0(1)| (row-major, height × width), with its noise floor.
public struct SpatialMap: Codable, Sendable, Equatable {
    /// The arm's canonical label.
    public var arm: String
    /// The clip's name.
    public var clip: String
    /// The step index j.
    public var step: Int
    /// Map width in pixels.
    public var width: Int
    /// Map height in pixels.
    public var height: Int
    /// The values, one per time (or pixel).
    public var values: [Float]
    /// Mean of the noise-floor control map.
    public var noiseFloor: Double
    /// A value with every field given.
    public init(arm: String, clip: String, step: Int, width: Int, height: Int, values: [Float], noiseFloor: Double = 0) {
        self.arm = arm; self.clip = clip; self.step = step; self.width = width; self.height = height
        self.values = values; self.noiseFloor = noiseFloor
    }
}

extension StudyData {
    /// Reads a study written by `writeJSON` (the interchange form the CLI accepts besides a database).
    public init(jsonFile path: String) throws(ReportError) {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw .unreadableInput(file: path, problem: error.localizedDescription)
        }
        do {
            self = try JSONDecoder().decode(StudyData.self, from: data)
            if source.isEmpty { source = path }
        } catch {
            throw .unreadableInput(file: path, problem: "not a study JSON: \(error)")
        }
    }

    /// Writes the study as sorted-key JSON (deterministic bytes).
    public func writeJSON(to path: String) throws(ReportError) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        do { try AtomicFile.write(try encoder.encode(self), to: path) } catch {
            throw .writeFailed(file: path, problem: "\(error)")
        }
    }
}
