/// The two ways codebases write classifier-free guidance: the one CFG-form vocabulary of the
/// toolkit (the probe's `guidance_form`, a study's `cfg_form`, a trainer's profile).
///
/// `uncond`: `neg + w (cond − neg)` (OmniAvatar, Wan, Lip Forcing); w = 1 is no CFG.
/// `cond`: `cond + g (cond − neg)` (Self-Forcing, FastVideo DMD); g = w − 1, g = 0 is no CFG.
public enum CFGForm: String, Codable, Sendable, CaseIterable, Hashable {
    /// `neg + w (cond − neg)`: the study's own form.
    case uncond
    /// `cond + g (cond − neg)`, g = w − 1.
    case cond

    /// Converts a scale given in the uncond-based form (the study's own) to this form.
    public func scale(fromUncond w: Double) -> Double { self == .uncond ? w : w - 1 }

    /// Converts a scale written in `self`'s form to `target`'s form.
    public func convert(_ scale: Double, to target: CFGForm) -> Double {
        switch (self, target) {
        case (.uncond, .cond): return scale - 1
        case (.cond, .uncond): return scale + 1
        default: return scale
        }
    }

    /// The formula, for reports.
    public var formula: String {
        self == .uncond ? "neg + w * (cond - neg)" : "cond + g * (cond - neg), g = w - 1"
    }
}
