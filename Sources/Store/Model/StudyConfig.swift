import Foundation

/// What makes a study one study: the teacher, the probe configuration and the scoring settings.
///
/// Two shards merge only when their configs are equal field by field, and `openOrCreate` resumes
/// a study only under the config it was created with, so every stored number keeps one meaning.
public struct StudyConfig: Codable, Sendable, Hashable {
    /// The study's name, unique inside its database file (`runs.name`).
    public var name: String
    /// `analytic`, `remote` or `imported`.
    public var teacherKind: String
    /// Which teacher exactly: analytic bank and κ, remote endpoint and model version, source files.
    public var teacherIdentity: String
    public var modelName: String
    /// Negative branch of CFG: `text+audio` or `audio`; `unknown` for imports that do not say.
    public var dropMode: String
    /// `syncnet-v2`, `facesync-cca`, or `unknown` for imported tables.
    public var syncModel: String
    /// sha256 of the sync model weights; nil when the model has none (FaceSync-CCA fitted in run).
    public var syncWeightsSHA256: String?
    /// libav version string the clips were decoded with; nil when nothing was decoded.
    public var libavVersion: String?
    /// The full settings as JSON (metric presets, regions, offsets, schedule, seeds), stored as is.
    public var configJSON: String
    /// `Toolkit.version` of the code that created the study.
    public var toolkitVersion: String

    public init(name: String, teacherKind: String, teacherIdentity: String, modelName: String,
                dropMode: String, syncModel: String, syncWeightsSHA256: String? = nil,
                libavVersion: String? = nil, configJSON: String = "{}",
                toolkitVersion: String = Toolkit.version) {
        self.name = name
        self.teacherKind = teacherKind
        self.teacherIdentity = teacherIdentity
        self.modelName = modelName
        self.dropMode = dropMode
        self.syncModel = syncModel
        self.syncWeightsSHA256 = syncWeightsSHA256
        self.libavVersion = libavVersion
        self.configJSON = configJSON
        self.toolkitVersion = toolkitVersion
    }

    /// Names of the fields in which `other` differs from `self` (empty when equal).
    public func differences(from other: StudyConfig) -> [String] {
        var out: [String] = []
        if name != other.name { out.append("name") }
        if teacherKind != other.teacherKind { out.append("teacher kind '\(teacherKind)' vs '\(other.teacherKind)'") }
        if teacherIdentity != other.teacherIdentity { out.append("teacher identity") }
        if modelName != other.modelName { out.append("model '\(modelName)' vs '\(other.modelName)'") }
        if dropMode != other.dropMode { out.append("drop mode '\(dropMode)' vs '\(other.dropMode)'") }
        if syncModel != other.syncModel { out.append("sync model '\(syncModel)' vs '\(other.syncModel)'") }
        if syncWeightsSHA256 != other.syncWeightsSHA256 { out.append("sync weights sha256") }
        if libavVersion != other.libavVersion { out.append("libav version") }
        if configJSON != other.configJSON { out.append("config JSON") }
        if toolkitVersion != other.toolkitVersion { out.append("toolkit version \(toolkitVersion) vs \(other.toolkitVersion)") }
        return out
    }
}
