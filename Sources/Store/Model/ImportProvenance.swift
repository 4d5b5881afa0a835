import Foundation

/// The classifier-free guidance a teacher's numbers were produced with: one scale (OmniAvatar,
/// LatentSync: `p = p_neg + w (p_cond − p_neg)`) or a (text, audio) pair (InfiniteTalk-style
/// teachers with three passes). Imports record it so the report never assumes a scale.
public enum GuidanceValue: Sendable, Hashable, CustomStringConvertible {
    /// One scale `w` applied to the single negative branch (`p_neg + w (p_cond − p_neg)`).
    case single(Double)
    /// Separate text and audio scales, for teachers that run three passes.
    case pair(text: Double, audio: Double)

    /// Parses `4.5` or `text=5,audio=4` (also `text=5 audio=4`, either order), as the CLI's
    /// `--guidance` and `--knob WORD=VALUE` take them.
    public init(parsing text: String) throws(ProvenanceParseError) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if let v = Double(trimmed) {
            guard v.isFinite, v >= 0 else { throw ProvenanceParseError(text: text, problem: "a guidance scale must be a finite number ≥ 0") }
            self = .single(v)
            return
        }
        var values: [String: Double] = [:]
        for part in trimmed.split(whereSeparator: { $0 == "," || $0 == " " }) {
            let kv = part.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
            guard kv.count == 2, ["text", "audio"].contains(kv[0]), values[kv[0]] == nil,
                  let v = Double(kv[1]), v.isFinite, v >= 0 else {
                throw ProvenanceParseError(text: text, problem: "expected a number (4.5) or text=T,audio=A (text=5,audio=4)")
            }
            values[kv[0]] = v
        }
        guard let t = values["text"], let a = values["audio"] else {
            throw ProvenanceParseError(text: text, problem: "expected a number (4.5) or text=T,audio=A (text=5,audio=4)")
        }
        self = .pair(text: t, audio: a)
    }

    /// No guidance at all: w = 1, or text = audio = 1.
    public var isUnguided: Bool {
        switch self {
        case .single(let w): return w == 1
        case .pair(let t, let a): return t == 1 && a == 1
        }
    }

    /// Whether this is a (text, audio) pair.
    public var isPair: Bool { if case .pair = self { return true } else { return false } }

    /// `4.5` or `text=5,audio=4`, as the CLI takes it.
    public var description: String {
        switch self {
        case .single(let w): return ArmSpec.format(w)
        case .pair(let t, let a): return "text=\(ArmSpec.format(t)),audio=\(ArmSpec.format(a))"
        }
    }
}

/// The sync model that produced imported Sync-C/D values, so that a report or schedule never
/// says `sync_model: unknown` when the user knows it.
public struct SyncProvenance: Sendable, Hashable {
    /// Sync models trajprobe knows (the names `trajprobe probe` stores; TrajectoryProbe's
    /// `SyncModelName`, checked equal by a test).
    public static let knownModels = ["syncnet-v2", "facesync-cca"]
    /// SyncNet presets (TrajectoryProbe's `SyncPreset.all`, checked equal by a test).
    public static let knownPresets = ["syncnet_python", "syncnet_python-jpeg", "lipforcing-reward"]

    /// The sync model's name (one of `knownModels`).
    public var model: String
    /// SyncNet's preprocessing preset; nil when not stated (or for FaceSync-CCA, which has none).
    public var preset: String?

    /// Checks both names. A preset alone means SyncNet-v2: only SyncNet has presets.
    public init(model: String?, preset: String?) throws(ProvenanceParseError) {
        if let preset, !Self.knownPresets.contains(preset) {
            throw ProvenanceParseError(text: preset, problem: "unknown sync preset (known: \(Self.knownPresets.joined(separator: ", ")))")
        }
        let name = model ?? (preset != nil ? "syncnet-v2" : nil)
        guard let name else { throw ProvenanceParseError(text: "", problem: "no sync model named") }
        guard Self.knownModels.contains(name) else {
            throw ProvenanceParseError(text: name, problem: "unknown sync model (known: \(Self.knownModels.joined(separator: ", ")))")
        }
        if preset != nil && name != "syncnet-v2" {
            throw ProvenanceParseError(text: name, problem: "a sync preset applies to syncnet-v2 only")
        }
        self.model = name
        self.preset = preset
    }
}

/// A flag or registry value that does not say what it should; `description` is one line.
public struct ProvenanceParseError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The text that was parsed.
    public var text: String
    /// What is wrong, in words.
    public var problem: String
    /// An error about `text`.
    public init(text: String, problem: String) { self.text = text; self.problem = problem }
    /// `4.5` or `text=5,audio=4`, as the CLI takes it.
    public var description: String { text.isEmpty ? problem : "'\(text)': \(problem)" }
}
