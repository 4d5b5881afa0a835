import Store

/// A CFG arm and its no-CFG twin: the two differ only in guidance.
public struct ArmPair: Codable, Sendable, Equatable, Hashable {
    public enum Kind: String, Codable, Sendable {
        /// CFG and no-CFG differ only in the one prediction measured at the step.
        case singlePrediction = "single_prediction"
        /// Guidance compounds over every earlier step (trajectory, scheduled CFG).
        case compounding
    }

    public var cfg: ArmSpec
    public var base: ArmSpec
    public var kind: Kind

    public init(cfg: ArmSpec, base: ArmSpec, kind: Kind) {
        self.cfg = cfg; self.base = base; self.kind = kind
    }

    public var label: String { "\(cfg.label) − \(base.label)" }
}

/// Which arms decide the window, and why.
public struct DecidingArms: Codable, Sendable, Equatable {
    public var pair: ArmPair
    /// Set when only compounding (trajectory) arms exist: the report prints it.
    public var note: String?
}

enum ArmPairing {
    /// The no-CFG twin of an arm, or nil when the arm is already unguided (or has no twin).
    static func twin(of arm: ArmSpec) -> ArmSpec? {
        var k = arm.knobs
        switch arm.family {
        case .trajectory, .freshNoise, .spatial:
            if let st = k["st"], let sa = k["sa"] {
                guard st != 1 || sa != 1 else { return nil }
                k["st"] = 1; k["sa"] = 1
                return ArmSpec(family: arm.family, knobs: k)
            }
            guard let w = k["w"], w != 1 else { return nil }
            k["w"] = 1
            return ArmSpec(family: arm.family, knobs: k)
        case .eulerJump:
            guard let s1 = k["s1"], s1 != 1 else { return nil }
            k["s1"] = 1
            return ArmSpec(family: arm.family, knobs: k)
        case .scheduledCFG:
            return .trajectory(w: 1)
        case .scored:
            return nil
        case .studentSchedule:
            guard let k = StudentScheduleKnobs(arm.knobs), k.guidance.contains(where: { $0 != 1 }) else { return nil }
            return k.unguided.spec
        }
    }

    static func kind(of arm: ArmSpec) -> ArmPair.Kind {
        switch arm.family {
        case .freshNoise, .eulerJump, .spatial: return .singlePrediction
        case .trajectory, .scheduledCFG, .scored, .studentSchedule: return .compounding
        }
    }

    /// Every (CFG arm, twin) pair whose twin was probed, spatial arms excluded (they store maps).
    static func pairs(in arms: [ArmSpec]) -> [ArmPair] {
        let present = Set(arms)
        return arms.compactMap { arm in
            guard arm.family != .spatial, let t = twin(of: arm), present.contains(t) else { return nil }
            return ArmPair(cfg: arm, base: t, kind: kind(of: arm))
        }
    }

    /// The pair that decides the window at guidance scale `w`.
    ///
    /// fresh_noise first: the window is applied to the DMD re-noise time, and fresh_noise(w) −
    /// fresh_noise(1) is exactly the teacher's score at a re-noised state. euler_jump(1, w) −
    /// euler_jump(1, 1) next (also a single prediction). Trajectory arms compound every earlier
    /// step's guidance, so they decide only when nothing else was probed, with a note.
    static func deciding(arms: [ArmSpec], w: Double, prefer: ArmFamily?) -> DecidingArms? {
        let present = Set(arms)
        let candidates: [(ArmFamily, ArmPair)] = [
            (.freshNoise, ArmPair(cfg: .freshNoise(w: w), base: .freshNoise(w: 1), kind: .singlePrediction)),
            (.eulerJump, ArmPair(cfg: .eulerJump(s0: 1, s1: w), base: .eulerJump(s0: 1, s1: 1), kind: .singlePrediction)),
            (.trajectory, ArmPair(cfg: .trajectory(w: w), base: .trajectory(w: 1), kind: .compounding)),
        ]
        let ordered = prefer.map { p in candidates.filter { $0.0 == p } + candidates.filter { $0.0 != p } } ?? candidates
        for (family, pair) in ordered where present.contains(pair.cfg) && present.contains(pair.base) {
            let note: String? = family == .trajectory
                ? "No single-prediction arms (fresh_noise, euler_jump) were probed, so the trajectory arms decide. They compound the guidance of every earlier step: a gain at step j is not the effect of guiding step j alone."
                : (prefer.map { $0 != family } ?? false ? "The requested \(prefer!.rawValue) arms are missing; \(family.rawValue) decides." : nil)
            return DecidingArms(pair: pair, note: note)
        }
        return nil
    }
}
