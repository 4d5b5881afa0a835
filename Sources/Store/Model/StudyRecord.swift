import Foundation

/// The stored record of a study (one `runs` row): its name, its typed ``StudyParameters`` and
/// the provenance of its numbers (sync weights, libav, toolkit version). Not the probe's YAML
/// file, which is TrajectoryProbe's `ProbeStudyFile`.
///
/// Two shards merge only when their configs are equal field by field, and `openOrCreate` resumes
/// a study only under the config it was created with, so every stored number keeps one meaning.
public struct StudyRecord: Codable, Sendable, Hashable {
    /// The study's name, unique inside its database file (`runs.name`).
    public var name: String
    /// What the study is, typed (`runs.parameters_json` and the v2 columns). The teacher and
    /// scoring names below read and write it.
    public var parameters: StudyParameters
    /// sha256 of the sync model weights; nil when the model has none (FaceSync-CCA fitted in run).
    public var syncWeightsSHA256: String?
    /// libav version string the clips were decoded with; nil when nothing was decoded.
    public var libavVersion: String?
    /// `Toolkit.version` of the code that created the study.
    public var toolkitVersion: String

    /// `analytic`, `remote` or `imported` (`unknown` when the parameters do not say).
    public var teacherKind: String {
        get { parameters.teacherKind ?? "unknown" }
        set { parameters.teacherKind = StudyRecord.known(newValue) }
    }
    /// Which teacher exactly: analytic bank and κ, remote endpoint and model version, source files.
    public var teacherIdentity: String {
        get { parameters.teacherIdentity ?? "unknown" }
        set { parameters.teacherIdentity = StudyRecord.known(newValue) }
    }
    /// The model's name (`unknown` when the parameters do not say).
    public var modelName: String {
        get { parameters.modelName ?? "unknown" }
        set { parameters.modelName = StudyRecord.known(newValue) }
    }
    /// Negative branch of CFG: `text+audio` or `audio`; `unknown` for imports that do not say.
    public var dropMode: String {
        get { parameters.dropMode ?? "unknown" }
        set { parameters.dropMode = StudyRecord.known(newValue).map(StudyParameters.dropModeSpelling) }
    }
    /// `syncnet-v2`, `facesync-cca`, or `unknown` for imported tables.
    public var syncModel: String {
        get { parameters.syncModel ?? "unknown" }
        set { parameters.syncModel = StudyRecord.known(newValue) }
    }

    /// The stored record of a study: `parameters` says what it is; the names given here replace
    /// the parameters' (`unknown` is nil there).
    public init(name: String, teacherKind: String, teacherIdentity: String, modelName: String,
                dropMode: String, syncModel: String, syncWeightsSHA256: String? = nil,
                libavVersion: String? = nil, parameters: StudyParameters = StudyParameters(),
                toolkitVersion: String = Toolkit.version) {
        self.name = name
        self.parameters = parameters
        self.syncWeightsSHA256 = syncWeightsSHA256
        self.libavVersion = libavVersion
        self.toolkitVersion = toolkitVersion
        self.teacherKind = teacherKind
        self.teacherIdentity = teacherIdentity
        self.modelName = modelName
        self.dropMode = dropMode
        self.syncModel = syncModel
    }

    /// `unknown` and the empty string are no value.
    static func known(_ text: String) -> String? { text == "unknown" || text.isEmpty ? nil : text }

    /// Names of the fields in which `other` differs from `self` (empty when equal).
    public func differences(from other: StudyRecord) -> [String] {
        var out: [String] = []
        if name != other.name { out.append("name") }
        if teacherKind != other.teacherKind { out.append("teacher kind '\(teacherKind)' vs '\(other.teacherKind)'") }
        if teacherIdentity != other.teacherIdentity { out.append("teacher identity") }
        if modelName != other.modelName { out.append("model '\(modelName)' vs '\(other.modelName)'") }
        if dropMode != other.dropMode { out.append("drop mode '\(dropMode)' vs '\(other.dropMode)'") }
        if syncModel != other.syncModel { out.append("sync model '\(syncModel)' vs '\(other.syncModel)'") }
        if syncWeightsSHA256 != other.syncWeightsSHA256 { out.append("sync weights sha256") }
        if libavVersion != other.libavVersion { out.append("libav version") }
        let named: Set<String> = ["parameter teacher_kind", "parameter teacher_identity", "parameter model_name",
                                  "parameter drop_mode", "parameter sync_model"]
        out += parameters.differences(from: other.parameters).filter { !named.contains($0) }
        if toolkitVersion != other.toolkitVersion { out.append("toolkit version \(toolkitVersion) vs \(other.toolkitVersion)") }
        return out
    }
}
