/// Sync models a study can name (DESIGN.md, Metrics).
public enum SyncModelName: String, Sendable, Codable, CaseIterable, Hashable {
    /// FaceSync-CCA: fitted on in-sync clips, no weights needed.
    case faceSyncCCA = "facesync-cca"
    /// SyncNet-v2 with syncnet_python's weights: the LSE-C/D papers report.
    case syncNetV2 = "syncnet-v2"
}
