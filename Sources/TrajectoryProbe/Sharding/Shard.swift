import Digest
import Measurement

/// One slice of a study's units: `--shard INDEX/COUNT`.
///
/// A unit belongs to shard `FNV-1a-64(unit key) mod COUNT`, so N machines that share nothing
/// but the config probe disjoint, covering sets of units into N databases that `trajprobe
/// merge` combines. The assignment depends only on the unit's text key, never on enumeration
/// order, thread count or process (Swift's `Hasher` is seeded per process and cannot be used).
public struct Shard: Sendable, Equatable, Hashable, CustomStringConvertible {
    /// This shard's index in `0..<count`.
    public let index: Int
    /// Number of shards the study is split into.
    public let count: Int

    /// The whole study.
    public static let all = Shard(uncheckedIndex: 0, count: 1)

    /// Shard `index` of `count`; throws unless `count >= 1` and `0 <= index < count`.
    public init(index: Int, count: Int) throws(ProbeError) {
        guard count >= 1 else { throw .invalidShard("count must be at least 1, got \(count)") }
        guard index >= 0, index < count else { throw .invalidShard("index \(index) outside 0..<\(count)") }
        self.index = index
        self.count = count
    }

    init(uncheckedIndex index: Int, count: Int) {
        self.index = index
        self.count = count
    }

    /// Parses `INDEX/COUNT` (0-based index), or `auto`: Slurm array jobs
    /// (`SLURM_ARRAY_TASK_ID` minus `SLURM_ARRAY_TASK_MIN` when set, of `SLURM_ARRAY_TASK_COUNT`)
    /// or Kubernetes Indexed Jobs (`JOB_COMPLETION_INDEX` of `JOB_COMPLETIONS`; Kubernetes sets
    /// only the index, so the manifest passes the completions count as an env var).
    public init(parsing text: String, environment: [String: String]) throws(ProbeError) {
        if text == "auto" {
            func int(_ k: String) throws(ProbeError) -> Int? {
                guard let v = environment[k] else { return nil }
                guard let i = Int(v) else { throw .invalidShard("\(k)=\(v) is not an integer") }
                return i
            }
            if let id = try int("SLURM_ARRAY_TASK_ID") {
                guard let n = try int("SLURM_ARRAY_TASK_COUNT") else {
                    throw .invalidShard("SLURM_ARRAY_TASK_ID is set but SLURM_ARRAY_TASK_COUNT is not")
                }
                try self.init(index: id - (try int("SLURM_ARRAY_TASK_MIN") ?? 0), count: n)
            } else if let id = try int("JOB_COMPLETION_INDEX") {
                guard let n = try int("JOB_COMPLETIONS") else {
                    throw .invalidShard("JOB_COMPLETION_INDEX is set but JOB_COMPLETIONS is not (set it to spec.completions in the Job's env)")
                }
                try self.init(index: id, count: n)
            } else {
                throw .invalidShard("--shard auto needs SLURM_ARRAY_TASK_ID/SLURM_ARRAY_TASK_COUNT or JOB_COMPLETION_INDEX/JOB_COMPLETIONS")
            }
            return
        }
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let i = Int(parts[0]), let n = Int(parts[1]) else {
            throw .invalidShard("'\(text)' is not INDEX/COUNT or auto")
        }
        try self.init(index: i, count: n)
    }

    /// The shard a unit key belongs to among `count`.
    public static func index(ofKey key: String, count: Int) -> Int {
        Int(FNV1a.hash64(key) % UInt64(count))
    }

    /// What the hash is taken of. Every unit lands in exactly one shard under either.
    public enum Granularity: String, Sendable, CaseIterable, Hashable {
        /// `clip|arm|step|seed`: the finest, best balanced split; but units of one (clip, seed)
        /// that share teacher passes (a scale sweep, a trajectory) spread over shards, so each
        /// shard repeats some of those passes.
        case unit
        /// `clip|seed`: every shard runs whole (clip, seed) plans, no pass is repeated; balance
        /// needs many more (clip, seed) pairs than shards.
        case clipSeed = "clip-seed"
    }

    /// The text hashed for `unit` under `granularity`.
    public static func key(of unit: ProbeUnit, granularity: Granularity) -> String {
        granularity == .unit ? unit.key : "\(unit.clip)|\(unit.seed)"
    }

    /// Whether this shard measures `unit` when the study is split by `granularity`.
    public func owns(_ unit: ProbeUnit, granularity: Granularity = .unit) -> Bool {
        owns(key: Shard.key(of: unit, granularity: granularity))
    }
    /// Whether this shard owns a key built by `key(of:granularity:)`.
    public func owns(key: String) -> Bool { Shard.index(ofKey: key, count: count) == index }

    /// `INDEX/COUNT`, the form `--shard` takes.
    public var description: String { "\(index)/\(count)" }
}
