import Foundation
import Store
import Support

/// Progress of a run, reported after every unit.
public struct ProbeProgress: Sendable, Equatable {
    /// Units this run has to do (after resume and sharding).
    public var total: Int
    /// Units written so far.
    public var done: Int
    /// Units marked failed so far.
    public var failed: Int
    /// Units found finished in the database and skipped.
    public var skipped: Int
    /// What the run is doing now, for a status line ("decoding bank", "probing").
    public var phase: String
}

/// What a finished run did.
public struct ProbeSummary: Sendable {
    /// The study database the run wrote.
    public var database: URL
    /// The study's name inside the database.
    public var studyName: String
    /// Units this run wrote.
    public var written: Int
    /// Units this run marked failed.
    public var failed: Int
    /// Units found finished and skipped.
    public var skipped: Int
    /// Wall-clock seconds of the run.
    public var seconds: Double
    /// Teacher passes evaluated (0 for imports and scoring).
    public var teacherPasses: Int
    /// The fitted FaceSync-CCA model file, when the study uses it.
    public var syncModelPath: String?
    /// One line per failed unit: what failed and why.
    public var failures: [String]
    /// Units this run probed but found already stored with the same values when it came to
    /// write them: another process (a concurrent probe of the same study) wrote them first.
    public var storedByOthers: Int = 0
    /// The study's status when the run ended: `finished`, or `incomplete` with failed units.
    public var status: RunStatus = .running
    /// Peak resident memory of the process (bytes), for the limits the README states.
    public var peakResidentBytes: Int = 0

    /// A finished run's counts (the probe driver and the importers fill it in).
    package init(database: URL, studyName: String, written: Int, failed: Int, skipped: Int, seconds: Double, teacherPasses: Int,
                 syncModelPath: String?, failures: [String], storedByOthers: Int = 0, status: RunStatus = .running,
                 peakResidentBytes: Int = 0) {
        self.database = database; self.studyName = studyName; self.written = written; self.failed = failed
        self.skipped = skipped; self.seconds = seconds; self.teacherPasses = teacherPasses; self.syncModelPath = syncModelPath
        self.failures = failures; self.storedByOthers = storedByOthers; self.status = status
        self.peakResidentBytes = peakResidentBytes
    }
}

/// Thread-safe progress bookkeeping shared by the probe's tasks.
package final class Status: Sendable {
    private let progress: Locked<ProbeProgress>
    private let report: @Sendable (ProbeProgress) -> Void

    /// Starts at `phase` with nothing done, and says so to `report`.
    package init(phase: String, progress report: @escaping @Sendable (ProbeProgress) -> Void) {
        let start = ProbeProgress(total: 0, done: 0, failed: 0, skipped: 0, phase: phase)
        self.progress = Locked(start)
        self.report = report
        report(start)
    }

    /// Names what the run does now.
    package func set(phase: String) { update { $0.phase = phase } }
    /// The units this run has to do and those found done, as the work begins.
    package func start(total: Int, skipped: Int, phase: String = "probing") { update { $0.total = total; $0.skipped = skipped; $0.phase = phase } }
    /// One unit finished (or failed).
    package func unit(failed: Bool) { update { if failed { $0.failed += 1 } else { $0.done += 1 } } }
    /// The counts as they are now.
    package var snapshot: ProbeProgress { progress.snapshot }

    /// Reports a copy taken under the lock, outside it (the callback may be slow).
    private func update(_ body: (inout ProbeProgress) -> Void) {
        let copy = progress.withLock { p -> ProbeProgress in body(&p); return p }
        report(copy)
    }
}
