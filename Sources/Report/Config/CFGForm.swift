/// The two ways codebases write classifier-free guidance.
///
/// `uncond`: `neg + w (cond − neg)` (OmniAvatar, Wan, Lip Forcing); w = 1 is no CFG.
/// `cond`: `cond + g (cond − neg)` (Self-Forcing, FastVideo DMD); g = w − 1, g = 0 is no CFG.
public enum CFGForm: String, Codable, Sendable, CaseIterable {
    case uncond, cond

    /// Converts a scale given in the uncond-based form (the study's own) to this form.
    public func scale(fromUncond w: Double) -> Double { self == .uncond ? w : w - 1 }

    public var formula: String {
        self == .uncond ? "neg + w * (cond - neg)" : "cond + g * (cond - neg), g = w - 1"
    }
}
