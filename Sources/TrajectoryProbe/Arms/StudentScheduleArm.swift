import Measurement
import Store

/// `student_schedule`: the teacher runs exactly a few-step student's sampling. At each of the
/// student's steps it predicts x0 with that step's guidance, then moves to the next step by the
/// Euler jump or by re-noising (``StudentScheduleKnobs/Transition``); the prediction at the last
/// step is what the student would output, and is the one unit the arm stores per (clip, seed).
///
/// Its state at the first step is the clip's ε, as every arm's, and an Euler move from there is
/// the `euler_jump` arm's move: `[0.999, t_j, 0]` with guidance `[s0, s1]` is `euler_jump(s0, s1)`
/// at step j, pass for pass (``PredictionTree`` shares them).
public struct StudentScheduleArm: ProbeArm, Hashable {
    /// The student's steps, guidance and transition.
    public var knobs: StudentScheduleKnobs
    /// `student_schedule(...)` with the knobs' canonical label.
    public var spec: ArmSpec { knobs.spec }
    /// The step the final prediction is stored under: the last step the student predicts at.
    public var unitStep: Int { knobs.steps[knobs.steps.count - 1] }

    /// Wraps knobs already validated by `StudentScheduleKnobs`.
    public init(knobs: StudentScheduleKnobs) { self.knobs = knobs }
}

extension ProbeClip {
    /// Fresh noise of a re-noising student's k-th move (k = 0 leaves the first step): key
    /// `"<clip>|seed <n>|renoise <k>"`. Keyed by the move, not by its target step, so students
    /// that share a prefix share its states, and students that differ only in where the k-th
    /// move lands see the same noise there (common random numbers for paired comparisons).
    public func renoise(seed: Int, move k: Int) -> Tensor {
        GaussianNoise(key: "\(id)|seed \(seed)|renoise \(k)").tensor(shape: reference.shape)
    }
}
