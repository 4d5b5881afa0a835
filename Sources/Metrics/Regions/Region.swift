/// The three regions every fidelity metric is reported on. Raw values are the database and CSV
/// names (`Store`'s `RegionName`), so results written anywhere agree on them.
public enum Region: String, CaseIterable, Sendable, Codable, Hashable {
    case mouth
    case upperFace = "upper_face"
    case full
}
