import Foundation
import Store

/// A CFG arm and its no-CFG twin: the two differ only in guidance.
public struct ArmPair: Codable, Sendable, Equatable, Hashable {
    /// How CFG enters the pair's difference, which decides how the report reads it.
    public enum Kind: String, Codable, Sendable {
        /// CFG and no-CFG differ only in the one prediction measured at the step.
        case singlePrediction = "single_prediction"
        /// Guidance compounds over every earlier step (trajectory, scheduled CFG).
        case compounding
    }

    /// The arm with guidance at the teacher's scale.
    public var cfg: ArmSpec
    /// Its twin without guidance (scale 1 / guidance off), otherwise identical.
    public var base: ArmSpec
    /// Whether the pair differs in one prediction or along the whole trajectory.
    public var kind: Kind

    /// A pair as given; `ArmPairing` finds the twins in a study.
    public init(cfg: ArmSpec, base: ArmSpec, kind: Kind) {
        self.cfg = cfg; self.base = base; self.kind = kind
    }

    /// `cfg − base`, the pair's name in tables and figures.
    public var label: String { "\(cfg.label) − \(base.label)" }
}

/// Which arms decide the window, and why.
public struct DecidingArms: Codable, Sendable, Equatable {
    /// The CFG/no-CFG pair whose per-step differences the rule reads.
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
            if let st = k["s1t"], let sa = k["s1a"] {
                guard st != 1 || sa != 1 else { return nil }
                k["s1t"] = 1; k["s1a"] = 1
                return ArmSpec(family: arm.family, knobs: k)
            }
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

    /// The pair that decides the window at the teacher's guidance scale.
    ///
    /// fresh_noise first: the window is applied to the DMD re-noise time, and fresh_noise(w) −
    /// fresh_noise(1) is exactly the teacher's score at a re-noised state. euler_jump(1, w) −
    /// euler_jump(1, 1) next (also a single prediction). Trajectory arms compound every earlier
    /// step's guidance, so they decide only when nothing else was probed, with a note.
    static func deciding(arms: [ArmSpec], scale: GuidanceScale, prefer: ArmFamily?) -> DecidingArms? {
        let present = Set(arms)
        let candidates: [(ArmFamily, ArmPair)] = [
            (.freshNoise, ArmPair(cfg: scale.single(.freshNoise, .on), base: scale.single(.freshNoise, .off), kind: .singlePrediction)),
            (.eulerJump, ArmPair(cfg: scale.eulerJump(s0: .off, s1: .on), base: scale.eulerJump(s0: .off, s1: .off), kind: .singlePrediction)),
            (.trajectory, ArmPair(cfg: scale.single(.trajectory, .on), base: scale.single(.trajectory, .off), kind: .compounding)),
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

    /// The teacher's CFG scale as the study's own CFG arms carry it: the scales other than 1 of
    /// the first family (fresh_noise, euler_jump, trajectory) that has a complete CFG/no-CFG pair.
    /// Returns every candidate when that family carries several (the caller asks for --guidance).
    static func scalesFromArms(_ arms: [ArmSpec]) -> (family: ArmFamily, scales: [GuidanceScale])? {
        let present = Set(arms)
        for family in [ArmFamily.freshNoise, .eulerJump, .trajectory] {
            var found: [GuidanceScale] = []
            for arm in arms where arm.family == family {
                let k = arm.knobs
                let scale: GuidanceScale?
                switch family {
                case .eulerJump:
                    if let st = k["s1t"], let sa = k["s1a"], k["s0t"] == 1, k["s0a"] == 1 { scale = (st != 1 || sa != 1) ? .pair(text: st, audio: sa) : nil }
                    else if let s1 = k["s1"], k["s0"] == 1 { scale = s1 != 1 ? .single(s1) : nil }
                    else { scale = nil }
                default:
                    if let st = k["st"], let sa = k["sa"] { scale = (st != 1 || sa != 1) ? .pair(text: st, audio: sa) : nil }
                    else if let w = k["w"] { scale = w != 1 ? .single(w) : nil }
                    else { scale = nil }
                }
                guard let scale, !found.contains(scale) else { continue }
                let pair = family == .eulerJump ? (scale.eulerJump(s0: .off, s1: .on), scale.eulerJump(s0: .off, s1: .off))
                                                : (scale.single(family, .on), scale.single(family, .off))
                if present.contains(pair.0) && present.contains(pair.1) { found.append(scale) }
            }
            if !found.isEmpty { return (family, found.sorted { $0.label < $1.label }) }
        }
        return nil
    }
}

/// The teacher's CFG scale: one scale w (uncond form), or a (text, audio) pair for two-scale
/// teachers (InfiniteTalk: `p(∅,∅) + s_t [p(t,∅) − p(∅,∅)] + s_a [p(t,a) − p(t,∅)]`).
public enum GuidanceScale: Codable, Sendable, Hashable {
    /// One scale `w` (uncond form) for single-scale CFG.
    case single(Double)
    /// Text and audio scales for two-scale guidance.
    case pair(text: Double, audio: Double)

    /// Whether an arm knob is guided at the teacher's scale or not at all.
    public enum Level: Sendable { case on, off }

    /// `w=4.5` or `text=5, audio=4`.
    public var label: String {
        switch self {
        case .single(let w): return "w=\(Fmt.g(w))"
        case .pair(let t, let a): return "text=\(Fmt.g(t)), audio=\(Fmt.g(a))"
        }
    }

    /// One scale for the written config and prose: w, or the audio scale of a pair (what the
    /// sync window gates in a two-scale teacher; the text scale is written beside it).
    public var w: Double {
        switch self {
        case .single(let w): return w
        case .pair(_, let a): return a
        }
    }

    /// A one-knob family's arm (trajectory, fresh_noise, spatial) at this scale or unguided.
    public func single(_ family: ArmFamily, _ level: Level) -> ArmSpec {
        switch self {
        case .single(let w): return ArmSpec(family: family, knobs: ["w": level == .on ? w : 1])
        case .pair(let t, let a): return ArmSpec(family: family, knobs: ["st": level == .on ? t : 1, "sa": level == .on ? a : 1])
        }
    }

    /// The euler_jump arm with step 0 and the landing prediction each guided or not.
    public func eulerJump(s0: Level, s1: Level) -> ArmSpec {
        switch self {
        case .single(let w): return .eulerJump(s0: s0 == .on ? w : 1, s1: s1 == .on ? w : 1)
        case .pair(let t, let a):
            return ArmSpec(family: .eulerJump, knobs: ["s0t": s0 == .on ? t : 1, "s0a": s0 == .on ? a : 1,
                                                       "s1t": s1 == .on ? t : 1, "s1a": s1 == .on ? a : 1])
        }
    }

    /// Parses `4.5` or `text=5,audio=4` (the `--guidance` option).
    public init(parsing text: String) throws(ReportError) {
        if let w = Double(text.trimmingCharacters(in: .whitespaces)), w.isFinite, w >= 0 { self = .single(w); return }
        var t: Double?, a: Double?
        for part in text.split(separator: ",") {
            let kv = part.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard kv.count == 2, let v = Double(kv[1]), v.isFinite, v >= 0 else {
                throw .invalidOption(name: "--guidance", problem: "'\(text)' is not a scale (4.5) or a pair (text=5,audio=4)")
            }
            switch kv[0] { case "text", "t", "st": t = v; case "audio", "a", "sa": a = v
            default: throw .invalidOption(name: "--guidance", problem: "'\(kv[0])' is not text or audio") }
        }
        guard let t, let a else { throw .invalidOption(name: "--guidance", problem: "'\(text)' needs both text= and audio=") }
        self = .pair(text: t, audio: a)
    }
}
