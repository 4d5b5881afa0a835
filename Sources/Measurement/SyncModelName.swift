/// Sync models a study can name (DESIGN.md, Metrics).
public enum SyncModelName: String, Sendable, Codable, CaseIterable, Hashable {
    case faceSyncCCA = "facesync-cca"
    case syncNetV2 = "syncnet-v2"
}
