import Foundation

/// The probe arm families of DESIGN.md. Raw values are the names used in the database, the CSV
/// `--arm` strings, configs and the CLI.
public enum ArmFamily: String, Codable, Sendable, CaseIterable, Hashable {
    /// Sample the whole trajectory with guidance `w`; measure x0 at every step.
    case trajectory
    /// Re-noise the reference with a fixed ε at every step (the DMD view); x0 with guidance `w`.
    case freshNoise = "fresh_noise"
    /// x0 at step 0 with guidance `s0`, one Euler jump to step j, teacher x0 with guidance `s1`.
    case eulerJump = "euler_jump"
    /// No CFG before step `tau`, guidance `w` from `tau` on.
    case scheduledCFG = "scheduled_cfg"
    /// Per-pixel |x0(w) - x0(1)| from the same x_t, per region, with a noise-floor control.
    case spatial
    /// Videos scored as they are, no teacher and no knobs (`trajprobe measure sync --db`:
    /// batch scoring, dataset filtering at a Sync-C threshold).
    case scored
    /// A student's whole few-step sampling run by the teacher: x0 at each of its steps with that
    /// step's guidance, an Euler jump or a re-noise to the next; the final prediction is measured.
    case studentSchedule = "student_schedule"
}

/// One guidance policy probed along the trajectory: a family plus its knobs.
///
/// The canonical label (`euler_jump s0=1 s1=4.5`) is the arm's identity everywhere: it is what
/// `trajprobe import csv --arm` takes and what the database's `arms.label` holds, so two studies
/// that probed the same policy agree on the name without coordination.
public struct ArmSpec: Hashable, Codable, Sendable, CustomStringConvertible {
    /// The arm family (what is guided, what is measured).
    public var family: ArmFamily
    /// Knob name → value, e.g. `["w": 4.5]`, `["s0": 1, "s1": 4.5]`, `["tau": 20, "w": 4.5]`.
    public var knobs: [String: Double]
    /// The experiment's own name, for measurements whose knobs nobody wrote down (a registry's
    /// results-only entries): it keeps such arms apart (`euler_jump id=ls_euler_on_on`) and,
    /// because no arm the report looks up by its knobs has one, it never lets them decide with
    /// guessed scales. Letters, digits and `._+-` only, so the label parses back.
    public var tag: String?

    /// An arm of `family` with `knobs` (and a tag for arms known only by name).
    public init(family: ArmFamily, knobs: [String: Double] = [:], tag: String? = nil) {
        self.family = family
        self.knobs = knobs
        self.tag = tag
    }

    /// `trajectory w=<w>`.
    public static func trajectory(w: Double) -> ArmSpec { ArmSpec(family: .trajectory, knobs: ["w": w]) }
    /// `fresh_noise w=<w>`.
    public static func freshNoise(w: Double) -> ArmSpec { ArmSpec(family: .freshNoise, knobs: ["w": w]) }
    /// `euler_jump s0=<s0> s1=<s1>`.
    public static func eulerJump(s0: Double, s1: Double) -> ArmSpec { ArmSpec(family: .eulerJump, knobs: ["s0": s0, "s1": s1]) }
    /// `scheduled_cfg tau=<tau> w=<w>`.
    public static func scheduledCFG(tau: Int, w: Double) -> ArmSpec { ArmSpec(family: .scheduledCFG, knobs: ["tau": Double(tau), "w": w]) }
    /// `spatial w=<w>`.
    public static func spatial(w: Double) -> ArmSpec { ArmSpec(family: .spatial, knobs: ["w": w]) }

    /// Canonical label: the family, then the knobs sorted by name, numbers in shortest form,
    /// then `id=<tag>` when the arm has one.
    public var label: String {
        if family == .studentSchedule, tag == nil, let schedule = StudentScheduleKnobs(knobs) { return schedule.label }
        return ([family.rawValue] + knobs.keys.sorted().map { "\($0)=\(ArmSpec.format(knobs[$0]!))" } + (tag.map { ["id=\($0)"] } ?? []))
            .joined(separator: " ")
    }

    /// Whether `text` can be an arm's `tag` (it must survive the label's parser).
    public static func isValidTag(_ text: String) -> Bool {
        !text.isEmpty && text.unicodeScalars.allSatisfy { $0.isASCII && (CharacterSet.alphanumerics.contains($0) || "._+-".unicodeScalars.contains($0)) }
    }

    /// The `id=` part of a stored label, if any (the arms table keeps knobs as numbers only).
    static func tag(inLabel label: String) -> String? {
        label.split(separator: " ").first { $0.hasPrefix("id=") }.map { String($0.dropFirst(3)) }
    }

    /// The canonical label.
    public var description: String { label }

    /// Parses a label such as `euler_jump s0=1 s1=4.5` or `trajectory w=4.5` (also `family(w=4.5)`
    /// and comma separators, as hand-written configs use).
    public init(parsing text: String) throws(ArmParseError) {
        if let head = text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "(" }).first,
           head == ArmFamily.studentSchedule.rawValue {
            self = try StudentScheduleKnobs(parsing: text).spec
            return
        }
        let cleaned = text.replacingOccurrences(of: "(", with: " ").replacingOccurrences(of: ")", with: " ")
            .replacingOccurrences(of: ",", with: " ")
        let parts = cleaned.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        guard let head = parts.first else { throw ArmParseError(text: text, problem: "empty arm") }
        guard let family = ArmFamily(rawValue: head) else {
            throw ArmParseError(text: text, problem: "unknown arm family '\(head)' (one of \(ArmFamily.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        var knobs: [String: Double] = [:]
        var tag: String?
        for part in parts.dropFirst() {
            let kv = part.split(separator: "=", maxSplits: 1).map(String.init)
            if kv.count == 2, kv[0] == "id" {
                guard ArmSpec.isValidTag(kv[1]), tag == nil else {
                    throw ArmParseError(text: text, problem: "'\(part)' is not one id=NAME (letters, digits, ._+-)")
                }
                tag = kv[1]
                continue
            }
            guard kv.count == 2, !kv[0].isEmpty, let value = Double(kv[1]), value.isFinite else {
                throw ArmParseError(text: text, problem: "knob '\(part)' is not name=number")
            }
            knobs[kv[0]] = value
        }
        self.init(family: family, knobs: knobs, tag: tag)
    }

    /// Shortest decimal form that round-trips: 1 → "1", 4.5 → "4.5".
    public static func format(_ value: Double) -> String {
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return "\(value)"
    }
}

/// A label that is no arm, with what is wrong.
public struct ArmParseError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The text that was parsed.
    public var text: String
    /// What is wrong, in words.
    public var problem: String
    /// `arm '<text>': <problem>`.
    public var description: String { "arm '\(text)': \(problem)" }
}

/// Metric names as stored in `measurements.metric` and in the long CSV format.
public enum MetricName {
    /// Mean squared error against the reference.
    public static let mse = "mse"
    /// Peak signal-to-noise ratio against the reference, dB.
    public static let psnr = "psnr"
    /// Structural similarity against the reference.
    public static let ssim = "ssim"
    /// LPIPS-AlexNet distance to the reference.
    public static let lpips = "lpips"
    /// Variance of the Laplacian (no reference).
    public static let sharpness = "sharpness"
    /// LSE-C (Sync-C): median − min of the mean distances over offsets. Higher is better.
    public static let syncC = "sync_c"
    /// LSE-D (Sync-D): min over offsets of the mean distance. Lower is better.
    public static let syncD = "sync_d"
    /// AV offset in frames at the minimum distance.
    public static let syncOffset = "sync_offset"
    /// Pixel MSE as analysis scripts write it (Lip Forcing-style CSVs): the same metric as `mse`.
    public static let pixelMSE = "pixel_mse"
    /// Landmark distance on the mouth (dlib 68 points), in pixels. Lower is better.
    public static let lmd = "lmd"

    /// The toolkit's name for a metric name as users' scripts write it (`pixel_mse` → `mse`);
    /// names it does not know come back unchanged. Stored rows keep the name as written.
    public static func canonical(_ name: String) -> String {
        switch name.lowercased() {
        case pixelMSE, "pixelmse": return mse
        case "sync-c", "syncc", "lse_c", "lse-c": return syncC
        case "sync-d", "syncd", "lse_d", "lse-d": return syncD
        default: return name
        }
    }

    /// Whether a larger value is better, for every metric the toolkit knows (by canonical name);
    /// nil for a metric it does not know (shown in tables, never used by a rule that needs a
    /// direction, never dropped).
    public static func higherIsBetter(_ name: String) -> Bool? {
        switch canonical(name) {
        case ssim, psnr, syncC, sharpness: return true
        case mse, lpips, lmd, syncD: return false
        default: return nil
        }
    }

    /// Metrics that measure fidelity to the reference (the window rule's cost candidates).
    public static let fidelity: Set<String> = [mse, psnr, ssim, lpips, lmd]
}

/// Region names as stored in `measurements.region`. Sync metrics are per clip: region `face`.
public enum RegionName {
    /// The mouth box (or mask).
    public static let mouth = "mouth"
    /// The face above the mouth.
    public static let upperFace = "upper_face"
    /// The whole frame.
    public static let full = "full"
    /// The face crop sync models score.
    public static let face = "face"
}

/// The step column's value for GT rows (metrics of the reference clip itself).
public let gtStep = -1

/// Names of the maps (`maps.name`) the probe writes and the report reads back: one vocabulary,
/// owned by Store like the metric and region names.
public enum MapName {
    /// Spatial probe: mean over frames and channels of |x0(w) − x0(1)|, shape `[H, W]`.
    public static let spatialDifference = "spatial_difference"
    /// Spatial probe's noise floor (σ = 0.01 perturbation of the same state), shape `[H, W]`.
    public static let spatialFloor = "spatial_floor"
    /// Per-window Sync-C over time at the best offset (FaceSync/SyncNet), shape `[windows]`;
    /// window k covers video frames k..k+4 at 25 fps.
    public static let syncSeries = "sync_series"
}
