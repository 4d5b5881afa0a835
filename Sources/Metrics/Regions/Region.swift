/// The three regions every fidelity metric is reported on. Raw values are the database and CSV
/// names (`Store`'s `RegionName`), so results written anywhere agree on them.
public enum Region: String, CaseIterable, Sendable, Codable, Hashable {
    /// The mouth pixels of the region mask: where lip-sync edits land.
    case mouth
    /// Every pixel outside the mouth: identity and background, which should not change.
    case upperFace = "upper_face"
    /// The whole frame, the number papers report.
    case full
}
