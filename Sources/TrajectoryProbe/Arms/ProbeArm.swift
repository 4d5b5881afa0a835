import Measurement
import Store

/// A probe arm with its knobs validated: the typed form of an `ArmSpec`.
///
/// The `ArmSpec` stays the identity (its canonical label is what the Store holds); these types
/// only say how the arm draws on teacher passes, which is what ``ProbePlan`` groups by.
public protocol ProbeArm: Sendable {
    /// The arm's identity: family and knobs, whose canonical label the Store keys rows by.
    var spec: ArmSpec { get }
}

/// `trajectory(w)`: sample the whole trajectory with guidance `w`, measure x0(w) at every step.
public struct TrajectoryArm: ProbeArm, Hashable {
    /// Guidance scale used at every step of the sampled trajectory.
    public var w: Double
    /// `trajectory(w)`.
    public var spec: ArmSpec { .trajectory(w: w) }
    /// Guidance used at step `j`.
    public func scale(atStep j: Int) -> Double { w }
}

/// `fresh_noise(w)`: `x_t = (1-t) x0_ref + t ε` with the clip's fixed ε; x0(w). The DMD view.
public struct FreshNoiseArm: ProbeArm, Hashable {
    /// Guidance scale of the single x0 prediction from the fresh-noise state.
    public var w: Double
    /// `fresh_noise(w)`.
    public var spec: ArmSpec { .freshNoise(w: w) }
}

/// `euler_jump(s0, s1)`: x0(s0) at step 0, one Euler jump to step j, teacher x0(s1) there.
public struct EulerJumpArm: ProbeArm, Hashable {
    /// Guidance scale of the prediction at step 0 that the Euler jump starts from.
    public var s0: Double
    /// Guidance scale of the teacher's prediction at the landing step.
    public var s1: Double
    /// `euler_jump(s0, s1)`.
    public var spec: ArmSpec { .eulerJump(s0: s0, s1: s1) }

    /// The 2x2 factorial s0, s1 ∈ {1, w} that picks the two-step landing point.
    public static func factorial(w: Double) -> [EulerJumpArm] {
        [EulerJumpArm(s0: 1, s1: 1), EulerJumpArm(s0: 1, s1: w), EulerJumpArm(s0: w, s1: 1), EulerJumpArm(s0: w, s1: w)]
    }
}

/// `scheduled_cfg(τ, w)`: a trajectory with no CFG before step τ and `w` from τ on.
public struct ScheduledCFGArm: ProbeArm, Hashable {
    /// First step that uses guidance `w`; steps before it run unguided (scale 1).
    public var tau: Int
    /// Guidance scale from step `tau` on.
    public var w: Double
    /// `scheduled_cfg(tau, w)`.
    public var spec: ArmSpec { .scheduledCFG(tau: tau, w: w) }
    /// Guidance used at step `j`: 1 before `tau`, `w` from `tau` on.
    public func scale(atStep j: Int) -> Double { j < tau ? 1 : w }
}

/// `spatial(w)`: per-pixel |x0(w) - x0(1)| from the same fresh-noise x_t, plus the noise-floor
/// control |x0(1)(x_t + 0.01 ε') - x0(1)(x_t)|: how much the map moves when the state is
/// perturbed at σ = 0.01, the level below which a CFG difference is not distinguishable.
public struct SpatialArm: ProbeArm, Hashable {
    /// Guidance scale whose difference map against scale 1 is measured.
    public var w: Double
    /// `spatial(w)`.
    public var spec: ArmSpec { .spatial(w: w) }
    /// Amplitude of the noise-floor perturbation.
    public static let floorSigma = 0.01
}

/// Builds the typed arm for a spec, refusing missing, extra or out-of-range knobs.
public enum ProbeArms {
    /// The typed arm for `spec`; throws `invalidArm` for unknown or missing knobs, non-finite
    /// values, a `tau` outside `0...numSteps`, and the `scored` family, which is no probe arm.
    public static func make(_ spec: ArmSpec, numSteps: Int) throws(ProbeError) -> any ProbeArm {
        func knobs(_ names: [String]) throws(ProbeError) -> [Double] {
            let extra = Set(spec.knobs.keys).subtracting(names)
            if let e = extra.sorted().first {
                throw .invalidArm(label: spec.label, problem: "unknown knob '\(e)' (\(spec.family.rawValue) takes \(names.joined(separator: ", ")))")
            }
            var out: [Double] = []
            for n in names {
                guard let v = spec.knobs[n] else { throw .invalidArm(label: spec.label, problem: "missing knob '\(n)'") }
                guard v.isFinite else { throw .invalidArm(label: spec.label, problem: "knob '\(n)' is not finite") }
                out.append(v)
            }
            return out
        }
        switch spec.family {
        case .trajectory: return TrajectoryArm(w: try knobs(["w"])[0])
        case .freshNoise: return FreshNoiseArm(w: try knobs(["w"])[0])
        case .spatial: return SpatialArm(w: try knobs(["w"])[0])
        case .eulerJump:
            let k = try knobs(["s0", "s1"])
            return EulerJumpArm(s0: k[0], s1: k[1])
        case .scored:
            throw .invalidArm(label: spec.label, problem: "scored is for videos scored as they are (trajprobe measure sync --db), not a probe arm")
        case .scheduledCFG:
            let k = try knobs(["tau", "w"])
            guard k[0] == k[0].rounded(), k[0] >= 0, k[0] <= Double(numSteps) else {
                throw .invalidArm(label: spec.label, problem: "tau must be an integer step in 0...\(numSteps)")
            }
            return ScheduledCFGArm(tau: Int(k[0]), w: k[1])
        case .studentSchedule:
            guard let k = StudentScheduleKnobs(spec.knobs) else {
                throw .invalidArm(label: spec.label, problem: "knobs \(spec.knobs.keys.sorted()) do not describe a student schedule (write e.g. 'student_schedule euler steps=0,30 g=1,4.5')")
            }
            guard k.steps[k.steps.count - 1] < numSteps else {
                throw .invalidArm(label: spec.label, problem: "step \(k.steps[k.steps.count - 1]) is outside 0..<\(numSteps)")
            }
            return StudentScheduleArm(knobs: k)
        }
    }
}
