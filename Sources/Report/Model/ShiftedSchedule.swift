/// The Wan2.1 / rectified-flow sampling times of DESIGN.md: `u = linspace(0.999, 0, N+1)`,
/// `t = s u / (1 + (s − 1) u)`, t_0 clamped to `maxT`.
///
/// The report keeps its own copy (TrajectoryProbe holds the canonical one) so it can place steps
/// that a study did not probe, e.g. on a figure's t axis or in the per-step guidance list.
public struct ShiftedSchedule: Sendable, Equatable {
    public var numSteps: Int
    public var shift: Double
    public var maxT: Double

    public init(numSteps: Int = 50, shift: Double = 5, maxT: Double = 0.999) {
        self.numSteps = numSteps; self.shift = shift; self.maxT = maxT
    }

    /// t_j for j in 0...numSteps.
    public func t(_ j: Int) -> Double {
        precondition(j >= 0 && j <= numSteps, "step \(j) outside 0...\(numSteps)")
        let u = 0.999 * Double(numSteps - j) / Double(numSteps)
        let t = shift * u / (1 + (shift - 1) * u)
        return j == 0 ? min(t, maxT) : t
    }

    public var times: [Double] { (0...numSteps).map(t) }

    /// Integer timestep in 0...1000 as Self-Forcing / CausVid lists write it: round(1000 t).
    public static func integerTimestep(_ t: Double) -> Int { Int((t * 1000).rounded()) }
}
