import Foundation

/// Every way the Store refuses input or a database. Each case names the file and the problem;
/// `description` is the one line the CLI prints. GRDB's `DatabaseError` passes through untouched.
public enum StoreError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file is not SQLite, or is SQLite but was not written by trajprobe.
    case notAStudy(path: String, problem: String)
    /// The file was written by a newer trajprobe whose schema this version does not know.
    case newerSchema(path: String, found: Int, supported: Int)
    /// The database does not exist (read commands never create one).
    case missing(path: String)
    /// `create` on a path whose study of that name already exists.
    case studyExists(path: String, name: String)
    /// No study of that name; `available` lists the names in the file.
    case noSuchStudy(path: String, name: String, available: [String])
    /// Several studies in the file and the caller named none.
    case ambiguousStudy(path: String, available: [String])
    /// A write on a database opened read-only.
    case readOnly(path: String)
    /// A study of that name exists with another configuration; `fields` lists what differs.
    case configMismatch(path: String, study: String, fields: [String])
    /// A clip, arm or step registered again with different attributes.
    case registrationConflict(path: String, what: String, problem: String)
    /// An id that this study does not hold.
    case unknownReference(path: String, what: String)
    /// A finished unit written again with different values: never silently overwritten.
    case unitConflict(path: String, unit: String, problem: String)
    /// Shards whose units disagree; nothing was merged.
    case mergeConflicts(path: String, conflicts: [MergeConflict])
    /// A malformed row or header in a long CSV file; nothing of that file was imported.
    case malformedCSV(path: String, line: Int, problem: String)
    /// A malformed registry YAML; nothing was imported.
    case malformedRegistry(path: String, problem: String)
    /// A file that could not be read or written.
    case io(path: String, problem: String)
    /// A clip or arm name the database cannot hold as it is.
    case invalidName(path: String, what: String, name: String, problem: String)
    /// A database a writing command cannot write (checked before anything is written).
    case notWritable(path: String, problem: String)

    /// One line naming the file and what is wrong.
    public var description: String {
        switch self {
        case let .notAStudy(path, problem):
            return "\(path) is not a trajprobe study database: \(problem)."
        case let .newerSchema(path, found, supported):
            return "\(path) uses study schema v\(found), newer than this trajprobe's v\(supported): upgrade trajprobe to read it."
        case let .missing(path):
            return "\(path) does not exist: create it with `trajprobe probe` or `trajprobe import`."
        case let .studyExists(path, name):
            return "\(path) already holds a study named '\(name)': open it, or pick another name."
        case let .noSuchStudy(path, name, available):
            return "\(path) has no study named '\(name)' (it has: \(available.isEmpty ? "none" : available.joined(separator: ", ")))."
        case let .ambiguousStudy(path, available):
            return "\(path) holds several studies (\(available.joined(separator: ", "))): name one with --study."
        case let .readOnly(path):
            return "\(path) was opened read-only: this command does not modify studies."
        case let .configMismatch(path, study, fields):
            return "\(path): study '\(study)' has a different configuration (\(fields.joined(separator: ", "))): refusing to mix them."
        case let .registrationConflict(path, what, problem):
            return "\(path): \(what) is already registered differently: \(problem)."
        case let .unknownReference(path, what):
            return "\(path): \(what) does not belong to this study."
        case let .unitConflict(path, unit, problem):
            return "\(path): unit \(unit) is already stored with other values (\(problem)); refusing to overwrite."
        case let .mergeConflicts(path, conflicts):
            let first = conflicts.prefix(3).map(\.description).joined(separator: "; ")
            return "\(path): \(conflicts.count) conflicting unit(s), nothing merged: \(first)\(conflicts.count > 3 ? "; …" : "")."
        case let .malformedCSV(path, line, problem):
            return "\(path):\(line): \(problem); nothing from this file was imported."
        case let .malformedRegistry(path, problem):
            return "\(path): \(problem); nothing was imported."
        case let .io(path, problem):
            return "\(path): \(problem)."
        case let .invalidName(path, what, name, problem):
            return "\(path): \(what) name '\(name)' is refused: \(problem)."
        case let .notWritable(path, problem):
            return "\(path) cannot be written: \(problem)."
        }
    }
}

/// One unit that two shards (or a shard and the target) hold with different values.
public struct MergeConflict: Sendable, Hashable, CustomStringConvertible {
    /// The study's name.
    public var study: String
    /// The clip's name.
    public var clip: String
    /// The arm's label.
    public var arm: String
    /// The step.
    public var step: Int
    /// The seed.
    public var seed: Int
    /// The shard file that disagreed with what was already merged.
    public var shard: String
    /// How the values differ.
    public var problem: String

    /// A conflict of one unit.
    public init(study: String, clip: String, arm: String, step: Int, seed: Int, shard: String, problem: String) {
        self.study = study; self.clip = clip; self.arm = arm; self.step = step; self.seed = seed
        self.shard = shard; self.problem = problem
    }

    /// One line naming the unit, the shard and the problem.
    public var description: String {
        "\(study) clip=\(clip) arm='\(arm)' step=\(step) seed=\(seed) in \(shard): \(problem)"
    }
}
