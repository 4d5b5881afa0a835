/// Why a probe run cannot start or a unit cannot be measured. Each names the clip or file.
public enum DriverError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The clip has fewer usable frames than sync scoring's windows need, so no sync score could be honest.
    case clipTooShort(clip: String, frames: Int, needed: Int)
    /// Neither a mask nor a box was given, so the mouth and face regions the metrics score are unknown.
    case noRegions(clip: String)
    /// The teacher kind cannot serve the requested operation; `hint` names the command that can.
    case unsupportedTeacher(kind: String, hint: String)
    /// A metric that needs trained weights was asked for without them; `hint` says where to get them.
    case missingWeights(metric: String, hint: String)
    /// The analytic teacher's bank has no frames of the clip's identity, so it has nothing to denoise towards.
    case bankMissingIdentity(clip: String, identity: String)
    /// The clip's frames do not fit the resolution the study runs at; `detail` says how.
    case resolutionMismatch(clip: String, detail: String)
    /// FaceSync-CCA was chosen but no bank of in-sync clips was given to fit it on.
    case syncModelNeedsBank(file: String)
    /// The frames are smaller than `metric`'s network accepts (`minimum` px per side).
    case frameTooSmall(clip: String, metric: String, width: Int, height: Int, minimum: Int)
    /// A student schedule asked of results that have no teacher to run it (imported studies).
    case studentScheduleNeedsTeacher(source: String, arm: String)
    /// The study in the database was probed under another configuration than the one given.
    case studyMismatch(database: String, study: String, differences: [String])
    /// The preset re-extracts frames from video files (JPEG round trip), which probes and imports,
    /// scoring decoded frames, cannot do.
    case presetNeedsVideoFiles(file: String, preset: String)

    /// One line naming what failed and how to fix it.
    public var description: String {
        switch self {
        case let .clipTooShort(clip, frames, needed):
            return "clip '\(clip)': \(frames) usable frames, sync scoring needs at least \(needed)"
        case let .noRegions(clip):
            return "clip '\(clip)': give a mask or a box so the mouth region is known"
        case let .unsupportedTeacher(kind, hint):
            return "teacher kind '\(kind)' cannot be probed this way: \(hint)"
        case let .missingWeights(metric, hint):
            return "\(metric) needs weights: \(hint)"
        case let .bankMissingIdentity(clip, identity):
            return "clip '\(clip)': identity '\(identity)' has no frames in the teacher's bank (add clips of it to the bank manifest)"
        case let .resolutionMismatch(clip, detail):
            return "clip '\(clip)': \(detail)"
        case let .frameTooSmall(clip, metric, width, height, minimum):
            return "clip '\(clip)': \(metric) needs frames of at least \(minimum)x\(minimum) px, these are \(width)x\(height) (raise teacher.resolution or drop \(metric) from metrics)"
        case let .studentScheduleNeedsTeacher(source, arm):
            return "\(source): '\(arm)' is a new sampling the teacher must run, and imported results have no teacher to run it: probe it with teacher.kind analytic or remote"
        case let .studyMismatch(database, study, differences):
            return "\(database): study '\(study)' was probed under another configuration (\(differences.joined(separator: "; "))): give the study file it was probed with"
        case let .presetNeedsVideoFiles(file, preset):
            return "\(file): sync preset '\(preset)' re-extracts frames from video files as syncnet_python does; probes and imports score decoded frames: use syncnet_python (raw frames) here, and trajprobe measure sync --preset \(preset) on files"
        case let .syncModelNeedsBank(file):
            return "\(file): FaceSync-CCA is fitted on in-sync clips: give teacher.bank (a clip manifest), or sync.model syncnet-v2 with weights"
        }
    }
}
