/// The shifted rectified-flow time grid of Wan2.1-style samplers, exactly as DESIGN.md states it:
/// the one schedule of the toolkit (the probe steps on it, the report places unprobed steps and
/// writes student configs with it).
///
/// `u = linspace(0.999, 0, N+1)`, `t = s u / (1 + (s-1) u)`, then `t_0` clamped to `maxT`.
/// For N=50, s=5 this reproduces the published analysis tables (t_0 = 0.999, t_1 = 0.995732,
/// t_20 = 0.882093, t_30 = 0.768935, t_40 = 0.555247, t_49 = 0.092507, t_50 = 0). Times are kept
/// in Double: they are compared against tables to 1e-6 and written into student configs.
public struct ShiftedSchedule: Sendable, Equatable, Hashable {
    /// Sampling steps N.
    public let numSteps: Int
    /// The timestep shift s.
    public let shift: Double
    /// The clamp of t_0.
    public let maxT: Double
    /// `numSteps + 1` times, from `t_0` (≤ maxT) down to `t_N = 0`.
    public let times: [Double]

    /// The most steps a schedule may have. Samplers use tens of steps (Wan2.1: 50); the limit
    /// keeps a typo such as `num_steps: 1000000000` from allocating gigabytes of times before
    /// anything is checked, and every `j + 1` below from overflowing.
    public static let maxSteps = 10_000

    /// The grid of `numSteps` steps; no default: a study's N, s and max t are recorded or unknown.
    public init(numSteps: Int, shift: Double, maxT: Double) throws(ScheduleError) {
        guard numSteps >= 1, numSteps <= ShiftedSchedule.maxSteps else {
            throw ScheduleError("num_steps must lie in 1...\(ShiftedSchedule.maxSteps), got \(numSteps)")
        }
        guard shift > 0, shift.isFinite else { throw ScheduleError("shift must be positive, got \(shift)") }
        guard maxT > 0, maxT <= 1 else { throw ScheduleError("max_t must lie in (0, 1], got \(maxT)") }
        self.numSteps = numSteps
        self.shift = shift
        self.maxT = maxT
        var t = [Double](repeating: 0, count: numSteps + 1)
        for j in 0...numSteps {
            // linspace(0.999, 0, N+1) as NumPy computes it: start + j * step, last value exact.
            let u = j == numSteps ? 0 : 0.999 + Double(j) * ((0 - 0.999) / Double(numSteps))
            t[j] = ShiftedSchedule.shifted(u, shift: shift)
        }
        t[0] = min(t[0], maxT)
        self.times = t
    }

    /// The timestep shift `s u / (1 + (s-1) u)`.
    public static func shifted(_ u: Double, shift s: Double) -> Double {
        s * u / (1 + (s - 1) * u)
    }

    /// Time (σ) at step `j`, 0...numSteps.
    public func t(_ j: Int) -> Double { times[j] }

    /// The steps a probe may measure at: 0..<numSteps (step N is the clean end, σ = 0, where a
    /// teacher is never evaluated).
    public var probeSteps: Range<Int> { 0..<numSteps }

    /// Checks a user's step subset: every step in 0..<numSteps, no duplicates; returns it sorted.
    public func validate(steps: [Int]) throws(ScheduleError) -> [Int] {
        for j in steps where !probeSteps.contains(j) {
            throw ScheduleError("step \(j) outside 0..<\(numSteps)")
        }
        let sorted = Array(Set(steps)).sorted()
        guard sorted.count == steps.count else { throw ScheduleError("duplicate steps in \(steps)") }
        return sorted
    }

    /// Integer timestep of step `j` in the Self-Forcing / CausVid form (`denoising_step_list`):
    /// `round(t * 1000)`, so t = 0.999 → 999, t = 0.768935 → 769.
    public func integerTimestep(_ j: Int) -> Int { ShiftedSchedule.integerTimestep(times[j]) }

    /// `round(t * 1000)` for any time.
    public static func integerTimestep(_ t: Double) -> Int { Int((t * 1000).rounded()) }

    /// The step whose time is nearest to `t` (ties to the earlier step).
    public func nearestStep(to t: Double) -> Int {
        var best = 0
        for j in 1...numSteps where abs(times[j] - t) < abs(times[best] - t) { best = j }
        return best
    }
}

/// A schedule that cannot exist (no steps, a non-positive shift, a step off the grid).
public struct ScheduleError: Error, Equatable, Sendable, CustomStringConvertible {
    /// What is wrong, in words.
    public var problem: String
    /// An error saying `problem`.
    public init(_ problem: String) { self.problem = problem }
    /// `schedule: <problem>`, as the probe's errors have always said it.
    public var description: String { "schedule: \(problem)" }
}
