import Measurement
import Store

/// One clip as the probe sees it: the reference frames already in the teacher's working space
/// (x0_ref, `[B, dim]`) and the conditioning (possibly dubbed audio).
public struct ProbeClip: Sendable {
    /// The clip's name, also the key of its noise streams (see ``epsilon(seed:)``).
    public var id: String
    /// x0_ref: the reference frames in the teacher's working space, `[B, dim]`, that predictions are scored against.
    public var reference: Tensor
    /// What the teacher is conditioned on, audio possibly dubbed from another clip.
    public var conditioning: Conditioning

    /// A clip from its reference frames and conditioning, already in the teacher's working space.
    public init(id: String, reference: Tensor, conditioning: Conditioning) {
        self.id = id
        self.reference = reference
        self.conditioning = conditioning
    }

    /// The clip's fixed ε for a seed, shared by every arm (so arms differ only in guidance):
    /// stream key `"<clip>|seed <n>|eps"`.
    public func epsilon(seed: Int) -> Tensor {
        GaussianNoise(key: "\(id)|seed \(seed)|eps").tensor(shape: reference.shape)
    }

    /// The spatial arm's noise-floor perturbation direction: key `"<clip>|seed <n>|floor"`.
    public func floorNoise(seed: Int) -> Tensor {
        GaussianNoise(key: "\(id)|seed \(seed)|floor").tensor(shape: reference.shape)
    }
}
