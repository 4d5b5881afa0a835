/// Every way the probe can refuse input or a teacher can fail, each naming the file or the
/// teacher and the problem. `description` is the one line the CLI prints.
public enum ProbeError: Error, Equatable, Sendable {
    /// A tensor's shape disagrees with what the caller or the teacher contract requires.
    case shapeMismatch(what: String, expected: [Int], got: [Int])
    /// A teacher returned NaN or infinity (branch, flat index, value as text).
    case nonFiniteOutput(teacher: String, branch: String, index: Int, value: String)
    /// A teacher was asked for a branch it cannot produce, or left one out.
    case missingBranch(teacher: String, branch: String)
    /// A teacher threw or failed in its own terms.
    case teacherFailed(teacher: String, reason: String)
    /// A schedule or step request that cannot be honoured.
    case invalidSchedule(String)
    /// An arm that the probe cannot run (unknown knob, missing knob, bad value).
    case invalidArm(label: String, problem: String)
    /// The analytic teacher's bank is empty, ragged or inconsistent.
    case invalidBank(String)
    /// A configuration key not in the known set.
    case unknownKey(file: String, key: String, known: [String])
    /// A required configuration key is absent.
    case missingKey(file: String, key: String)
    /// A configuration value of the wrong type or out of range.
    case invalidValue(file: String, key: String, problem: String)
    /// A file that cannot be read or parsed at all.
    case unreadable(file: String, reason: String)
    /// An imported layout that lacks files or has an inconsistent schedule.
    case incompleteImport(directory: String, missing: [String])
    /// An imported layout whose only gaps are step predictions; `complete` lists the steps every
    /// arm and sample has (what `--steps` can import).
    case missingSteps(directory: String, missing: [String], complete: [Int])
    /// A `--shard` value or environment that does not describe a shard.
    case invalidShard(String)
    /// A LAPACK routine reported failure.
    case lapack(routine: String, info: Int)
}

extension ProbeError: CustomStringConvertible {
    /// One line naming what failed and why, as the CLI prints it.
    public var description: String {
        switch self {
        case let .shapeMismatch(what, expected, got):
            return "\(what): expected shape \(expected), got \(got)"
        case let .nonFiniteOutput(teacher, branch, index, value):
            return "teacher '\(teacher)': branch '\(branch)' has \(value) at index \(index)"
        case let .missingBranch(teacher, branch):
            return "teacher '\(teacher)': no prediction for branch '\(branch)'"
        case let .teacherFailed(teacher, reason):
            return "teacher '\(teacher)' failed: \(reason)"
        case let .invalidSchedule(problem):
            return "schedule: \(problem)"
        case let .invalidArm(label, problem):
            return "arm '\(label)': \(problem)"
        case let .invalidBank(problem):
            return "analytic teacher bank: \(problem)"
        case let .unknownKey(file, key, known):
            return "\(file): unknown key '\(key)' (known: \(known.joined(separator: ", ")))"
        case let .missingKey(file, key):
            return "\(file): missing required key '\(key)'"
        case let .invalidValue(file, key, problem):
            return "\(file): key '\(key)': \(problem)"
        case let .unreadable(file, reason):
            return "\(file): \(reason)"
        case let .incompleteImport(directory, missing):
            let shown = missing.prefix(8).joined(separator: ", ")
            let more = missing.count > 8 ? " and \(missing.count - 8) more" : ""
            return "imported results in \(directory) are incomplete: missing \(shown)\(more)"
        case let .missingSteps(directory, missing, complete):
            let shown = missing.prefix(4).joined(separator: ", ")
            let more = missing.count > 4 ? " and \(missing.count - 4) more" : ""
            let hint = complete.isEmpty ? "no step has a prediction for every sample"
                : "every sample has steps \(complete.map(String.init).joined(separator: ",")): import those with --steps \(complete.map(String.init).joined(separator: ","))"
            return "imported results in \(directory) lack step predictions: missing \(shown)\(more); \(hint)"
        case let .invalidShard(problem):
            return "shard: \(problem)"
        case let .lapack(routine, info):
            return "LAPACK \(routine) failed with info \(info)"
        }
    }
}
