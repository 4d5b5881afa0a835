import Foundation

/// The knobs of a `student_schedule` arm, typed: the steps a few-step student predicts at, the
/// guidance of each, and how it moves from one to the next.
///
/// A student's `t_list` (`[0.999, 0.769, 0.0]`) names times; the arm names the steps of the
/// study's own schedule that carry those times (`steps=0,30`), so every t it evaluates is one the
/// study's other arms can share passes at, and the label stays short and exact. The final 0 of a
/// `t_list` is where the last prediction lands, never a teacher call, so it is not a step here.
///
/// The label spells the transition as a word because two students with the same steps and
/// guidance but different samplers are different arms:
/// `student_schedule euler steps=0,30 g=1,4.5`, `student_schedule renoise steps=0,20,30 g=1,1,4.5`;
/// a one-step student moves nowhere and has no transition: `student_schedule steps=0 g=4.5`.
/// In the database the knobs are flat numbers like every arm's (`g0`, `g1`, `j1`, `renoise`).
public struct StudentScheduleKnobs: Hashable, Sendable, CustomStringConvertible {
    /// How the student's state moves from t_k to t_{k+1} given its x0 prediction at t_k.
    public enum Transition: String, Sendable, CaseIterable, Hashable, Codable {
        /// Deterministic: the ε implied by x0 and x_t, then `x_{t'} = (1-t') x0 + t' ε` (the
        /// Euler-jump arm's move; Lip Forcing's two-step analysis).
        case euler
        /// `x_{t'} = (1-t') x0 + t' ε'` with fresh noise ε' (the few-step sampler of DMD,
        /// Self-Forcing and CausVid students).
        case renoise
    }

    /// Most student steps an arm may have: beyond this a "student" is a short teacher.
    public static let maxSteps = 8

    /// Steps of the study's schedule where the student predicts, strictly increasing, first 0.
    public let steps: [Int]
    /// Guidance (uncond form w, 1 = no CFG) of the prediction at each step.
    public let guidance: [Double]
    /// Nil for a one-step student.
    public let transition: Transition?

    /// A student schedule; refused (naming its label) when the steps or guidance cannot be one.
    public init(steps: [Int], guidance: [Double], transition: Transition?) throws(ArmParseError) {
        let text = StudentScheduleKnobs.format(steps: steps, guidance: guidance, transition: transition)
        guard !steps.isEmpty, steps.count <= StudentScheduleKnobs.maxSteps else {
            throw ArmParseError(text: text, problem: "a student has 1...\(StudentScheduleKnobs.maxSteps) steps, got \(steps.count)")
        }
        guard steps[0] == 0 else {
            throw ArmParseError(text: text, problem: "the first step must be 0 (t_0 = max_t: the student starts from pure noise)")
        }
        guard zip(steps, steps.dropFirst()).allSatisfy({ $0 < $1 }) else {
            throw ArmParseError(text: text, problem: "steps must increase strictly (t decreasing)")
        }
        guard guidance.count == steps.count else {
            throw ArmParseError(text: text, problem: "\(steps.count) steps need \(steps.count) guidance scales, got \(guidance.count)")
        }
        guard guidance.allSatisfy(\.isFinite) else { throw ArmParseError(text: text, problem: "a guidance scale is not finite") }
        guard (steps.count == 1) == (transition == nil) else {
            throw ArmParseError(text: text, problem: steps.count == 1
                ? "a one-step student has no transition: write 'student_schedule steps=0 g=<w>'"
                : "name the transition: 'student_schedule euler …' or 'student_schedule renoise …'")
        }
        self.steps = steps
        self.guidance = guidance
        self.transition = transition
    }

    /// Reads stored knobs; nil when they do not describe a student schedule.
    public init?(_ knobs: [String: Double]) {
        var g: [Double] = [], j: [Int] = [0]
        while let v = knobs["g\(g.count)"] { g.append(v) }
        while let v = knobs["j\(j.count)"] {
            guard v == v.rounded(), abs(v) < 1e9 else { return nil }
            j.append(Int(v))
        }
        let transition: Transition?
        switch knobs["renoise"] {
        case nil: transition = nil
        case 0?: transition = .euler
        case 1?: transition = .renoise
        default: return nil
        }
        guard knobs.count == g.count + (j.count - 1) + (transition == nil ? 0 : 1),
              let k = try? StudentScheduleKnobs(steps: j, guidance: g, transition: transition) else { return nil }
        self = k
    }

    /// Parses `student_schedule [euler|renoise] steps=0,30 g=1,4.5` (lists may be bracketed).
    public init(parsing text: String) throws(ArmParseError) {
        var steps: [Int]?, guidance: [Double]?, transition: Transition?
        // Lists may be written with spaces after their commas or inside brackets.
        let packed = text.replacingOccurrences(of: #"\s*,\s*"#, with: ",", options: .regularExpression)
            .replacingOccurrences(of: #"\[\s+"#, with: "[", options: .regularExpression)
            .replacingOccurrences(of: #"\s+\]"#, with: "]", options: .regularExpression)
        let parts = packed.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        guard parts.first == ArmFamily.studentSchedule.rawValue else {
            throw ArmParseError(text: text, problem: "not a student_schedule arm")
        }
        for part in parts.dropFirst() {
            if let t = Transition(rawValue: part) {
                guard transition == nil else { throw ArmParseError(text: text, problem: "two transitions") }
                transition = t
                continue
            }
            let kv = part.split(separator: "=", maxSplits: 1).map(String.init)
            guard kv.count == 2 else {
                throw ArmParseError(text: text, problem: "'\(part)' is neither a transition (euler, renoise) nor steps=… / g=…")
            }
            let items = kv[1].trimmingCharacters(in: ["[", "]"]).split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            switch kv[0] {
            case "steps":
                let v = items.map { Int($0) }
                guard !v.isEmpty, v.allSatisfy({ $0 != nil }) else { throw ArmParseError(text: text, problem: "steps=\(kv[1]) is not a list of integers") }
                steps = v.map { $0! }
            case "g":
                let v = items.map { Double($0) }
                guard !v.isEmpty, v.allSatisfy({ $0 != nil }) else { throw ArmParseError(text: text, problem: "g=\(kv[1]) is not a list of numbers") }
                guidance = v.map { $0! }
            default:
                throw ArmParseError(text: text, problem: "unknown knob '\(kv[0])' (student_schedule takes steps, g and a transition)")
            }
        }
        guard let steps else { throw ArmParseError(text: text, problem: "missing steps=…") }
        guard let guidance else { throw ArmParseError(text: text, problem: "missing g=…") }
        try self.init(steps: steps, guidance: guidance, transition: transition)
    }

    /// The arm's knobs: `g<i>` per step, `j<i>` for steps after the first, `renoise` 0/1.
    public var knobs: [String: Double] {
        var k: [String: Double] = [:]
        for (i, g) in guidance.enumerated() { k["g\(i)"] = g }
        for (i, j) in steps.enumerated() where i > 0 { k["j\(i)"] = Double(j) }
        if let transition { k["renoise"] = transition == .renoise ? 1 : 0 }
        return k
    }

    /// The `student_schedule` arm.
    public var spec: ArmSpec { ArmSpec(family: .studentSchedule, knobs: knobs) }
    /// The canonical label (`student_schedule euler steps=0,30 g=1,4.5`).
    public var label: String { Self.format(steps: steps, guidance: guidance, transition: transition) }
    /// The canonical label.
    public var description: String { label }

    /// The same steps with no CFG anywhere: the twin whose fidelity a guided student is costed
    /// against (the student lands on the same times either way).
    public var unguided: StudentScheduleKnobs {
        // Same steps and transition, so valid whenever self is.
        try! StudentScheduleKnobs(steps: steps, guidance: guidance.map { _ in 1 }, transition: transition)
    }

    static func format(steps: [Int], guidance: [Double], transition: Transition?) -> String {
        ([ArmFamily.studentSchedule.rawValue] + (transition.map { [$0.rawValue] } ?? [])
            + ["steps=" + steps.map(String.init).joined(separator: ","),
               "g=" + guidance.map(ArmSpec.format).joined(separator: ",")]).joined(separator: " ")
    }
}
