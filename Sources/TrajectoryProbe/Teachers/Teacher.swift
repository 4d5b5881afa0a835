import Measurement

/// Name of one conditioning branch a teacher evaluates.
///
/// Single-scale CFG needs `cond` and `neg`. Two-scale (text, audio) guidance of
/// InfiniteTalk-style teachers needs `uncond` = p(∅,∅), `text` = p(t,∅) and `cond` = p(t,a).
public struct BranchName: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible, Comparable {
    /// The branch's name as servers and the Store spell it.
    public var rawValue: String
    /// Any name; a remote model may declare branches beyond the four named below.
    public init(rawValue: String) { self.rawValue = rawValue }
    /// Unlabelled form of init(rawValue:).
    public init(_ rawValue: String) { self.rawValue = rawValue }
    /// The raw name.
    public var description: String { rawValue }
    /// Orders by name, so branch lists print and serialise in a stable order.
    public static func < (a: BranchName, b: BranchName) -> Bool { a.rawValue < b.rawValue }

    /// Fully conditioned: p(t, a).
    public static let cond = BranchName("cond")
    /// The negative branch of single-scale CFG; what it drops is the study's ``DropMode``.
    public static let neg = BranchName("neg")
    /// Nothing conditioned: p(∅, ∅).
    public static let uncond = BranchName("uncond")
    /// Text (and identity) only, audio dropped: p(t, ∅).
    public static let text = BranchName("text")
}

/// What the single-scale negative branch drops. A property of the negative branch, not of the
/// arm: the same arms probed under both drop modes are two studies compared side by side.
public enum DropMode: String, Sendable, Codable, CaseIterable, Hashable {
    /// Negative branch drops text and audio: p(∅, ∅).
    case textAudio = "text+audio"
    /// Negative branch drops only audio: p(t, ∅).
    case audioOnly = "audio"

    /// `audio` or `text+audio`; the old spelling `audio-only` (and `audio_only`) still reads as
    /// `audio`, so study files written for earlier versions keep working.
    public init?(rawValue: String) {
        switch rawValue {
        case "text+audio": self = .textAudio
        case "audio", "audio-only", "audio_only": self = .audioOnly
        default: return nil
        }
    }

    /// The two-scale branch the single-scale negative equals.
    public var equivalentBranch: BranchName { self == .textAudio ? .uncond : .text }
}

/// A clip's conditioning as the teacher sees it, one entry per batch row where per-frame.
///
/// Kept teacher-neutral: the analytic teacher reads `identity` and `audioFeatures`; a remote
/// teacher reads the paths. The probe's clean x0 (``ProbeClip/reference``) is never handed to a
/// teacher; only the mouth-masked reference (`referenceFrames` with `keepMask`) may be.
public struct Conditioning: Sendable, Equatable {
    /// Clip id from the probe set.
    public var clip: String
    /// Identity id: the reference identity given to every branch.
    public var identity: String
    /// Driving-audio features, one row per batch row: shape `[B, F]` (may come from another
    /// clip: dubbed probes).
    public var audioFeatures: Tensor?
    /// Reference frames in pixels, `[B, frameSize]` in [0, 1], for teachers that condition on
    /// the (mouth-masked) reference (the analytic teacher's masked-reference prior).
    public var referenceFrames: Tensor?
    /// Per-pixel weight, `H*W` values: 1 where the reference is shown to the teacher (upper
    /// face), 0 over the mouth (LatentSync's `mask.png`: white kept, black mouth).
    public var keepMask: [Float]?
    /// Paths for teachers that read media themselves (remote).
    public var referenceVideoPath: String?
    /// Path of the clip's (possibly dubbed) audio file.
    public var audioPath: String?
    /// The analytic teacher's masked-reference log prior, `rows × bank` values, computed once per
    /// clip by ``AnalyticTeacher/prepared(_:)``: it depends only on the reference, not on x_t, so
    /// recomputing it at every pass would cost one large sgemm per pass for nothing.
    public var cachedVisualPrior: [Float]?

    /// Conditioning for one clip; every field but the ids is optional, each teacher reads what it needs.
    public init(clip: String, identity: String, audioFeatures: Tensor? = nil, referenceFrames: Tensor? = nil,
                keepMask: [Float]? = nil, referenceVideoPath: String? = nil, audioPath: String? = nil) {
        self.referenceFrames = referenceFrames
        self.keepMask = keepMask
        self.clip = clip
        self.identity = identity
        self.audioFeatures = audioFeatures
        self.referenceVideoPath = referenceVideoPath
        self.audioPath = audioPath
    }
}

/// A denoiser probed by trajprobe.
///
/// `predict` evaluates the requested branches on one batch of states in a single call, so a
/// teacher that shares work between branches (the analytic teacher's one distance matrix, a
/// batched GPU forward) can. Callers go through ``TeacherPass`` which checks shapes and values.
public protocol Teacher: Sendable {
    /// Name recorded with every unit and in error messages.
    var name: String { get }
    /// What the raw predictions mean.
    var predictionKind: PredictionKind { get }
    /// The branches this teacher can evaluate.
    var supportedBranches: Set<BranchName> { get }
    /// Shape of one state row (everything after the batch axis), if fixed.
    var stateShape: [Int]? { get }
    /// Predictions for `branches` at states `states` (`[B, ...]`), per-row times `sigmas`
    /// (each in (0, 1]), for the clip's `conditioning`.
    func predict(states: Tensor, sigmas: [Double], conditioning: Conditioning,
                 branches: [BranchName]) throws -> [BranchName: Tensor]
}

/// One validated teacher evaluation, converted to x0 per branch.
public struct TeacherPass: Sendable {
    /// x0 prediction per branch, same shape as the states.
    public var x0: [BranchName: Tensor]

    /// Runs `teacher`, then checks every branch is present, has the state's shape and is finite;
    /// any other error the teacher throws becomes ``ProbeError/teacherFailed(teacher:reason:)``.
    public init(teacher: some Teacher, states: Tensor, sigmas: [Double], conditioning: Conditioning,
                branches: [BranchName]) throws(ProbeError) {
        guard sigmas.count == states.rows else {
            throw .shapeMismatch(what: "sigmas for \(states.rows) states", expected: [states.rows], got: [sigmas.count])
        }
        for s in sigmas where !(s > 0 && s <= 1) {
            throw .invalidSchedule("teacher evaluated at σ = \(s); σ must lie in (0, 1]")
        }
        for b in branches where !teacher.supportedBranches.contains(b) {
            throw .missingBranch(teacher: teacher.name, branch: b.rawValue)
        }
        let raw: [BranchName: Tensor]
        do {
            raw = try teacher.predict(states: states, sigmas: sigmas, conditioning: conditioning, branches: branches)
        } catch let e as ProbeError {
            throw e
        } catch {
            throw .teacherFailed(teacher: teacher.name, reason: String(describing: error))
        }
        var out: [BranchName: Tensor] = [:]
        for b in branches {
            guard let p = raw[b] else { throw .missingBranch(teacher: teacher.name, branch: b.rawValue) }
            guard p.shape == states.shape else {
                throw .shapeMismatch(what: "teacher '\(teacher.name)' branch '\(b)'", expected: states.shape, got: p.shape)
            }
            if let bad = p.firstNonFinite {
                throw .nonFiniteOutput(teacher: teacher.name, branch: b.rawValue, index: bad.index, value: "\(bad.value)")
            }
            out[b] = try FlowMath.x0RowWise(from: p, kind: teacher.predictionKind, xt: states, sigmas: sigmas)
        }
        x0 = out
    }

    /// x0 of branch `b`, or nil when the pass did not evaluate it.
    public subscript(_ b: BranchName) -> Tensor? { x0[b] }
}

extension FlowMath {
    /// ``x0(from:kind:xt:sigma:)`` with one σ per batch row.
    static func x0RowWise(from p: Tensor, kind: PredictionKind, xt: Tensor, sigmas: [Double]) throws(ProbeError) -> Tensor {
        if kind == .x0 { return p }
        if Set(sigmas).count == 1 { return try x0(from: p, kind: kind, xt: xt, sigma: sigmas[0]) }
        var out = p.data
        let d = p.rowSize
        for r in 0..<p.rows {
            let s = sigmas[r]
            if kind == .epsilon && s >= 1 { throw .invalidSchedule("cannot convert ε to x0 at σ = 1") }
            for i in (r * d)..<((r + 1) * d) {
                let x = Double(xt.data[i]), q = Double(p.data[i])
                out[i] = Float(kind == .velocity ? x - s * q : (x - s * q) / (1 - s))
            }
        }
        return Tensor(unchecked: p.shape, out)
    }
}
