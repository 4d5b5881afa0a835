import Foundation
import Store
import Synthetic

/// The Store's benchmark: the write path through the public API (one transaction per unit, as the
/// probe writes) against the `sqlite3` CLI's bulk `.import` of the same rows into the same schema,
/// measured in the same run; and one 100,000-row long CSV import. `trajprobe bench` and
/// `Benchmarks/store_bench.sh` print `description`.
public struct StoreBenchmark: Sendable, CustomStringConvertible {
    // MARK: - Results

    /// Measurement rows written by each side (units × measurements per unit).
    public var measurements: Int
    /// Units written through the API, one transaction each, as the probe writes them.
    public var units: Int
    /// Wall time of the Store API write path, in seconds (fastest round).
    public var apiSeconds: Double
    /// Wall time of the `sqlite3` CLI's bulk `.import` of the same rows, in seconds (fastest round):
    /// the reference the API is held against.
    public var cliSeconds: Double
    /// Rows in the long CSV import.
    public var csvRows: Int
    /// Wall time of the long CSV import, in seconds (fastest round); the target is under 2 s.
    public var csvSeconds: Double
    /// The CLI's reported version, printed so a ratio can be traced to the SQLite it was measured with.
    public var sqliteVersion: String
    /// CPU seconds (user + system) of the same phases: steadier than wall time on a shared machine.
    public var apiCPUSeconds: Double
    /// CPU seconds of the `sqlite3` child process over the bulk import.
    public var cliCPUSeconds: Double
    /// CPU seconds of the long CSV import.
    public var csvCPUSeconds: Double
    /// Rounds run; each figure is its side's fastest round.
    public var rounds: Int

    /// Store API throughput over wall time.
    public var apiRowsPerSecond: Double { Double(measurements) / apiSeconds }
    /// `sqlite3` CLI throughput over wall time.
    public var cliRowsPerSecond: Double { Double(measurements) / cliSeconds }
    /// API rows/s over CLI rows/s; the target is ≥ 0.5.
    public var ratio: Double { apiRowsPerSecond / cliRowsPerSecond }

    /// The printable report: both write paths, their ratio against its target, and the CSV import.
    public var description: String {
        func f(_ v: Double, _ digits: Int = 0) -> String { String(format: "%.\(digits)f", v) }
        return """
            store insert: \(measurements) measurements in \(units) units (one transaction each); best of \(rounds) rounds
              Store API          \(f(apiSeconds, 2)) s  \(f(apiRowsPerSecond)) rows/s
              sqlite3 .import    \(f(cliSeconds, 2)) s  \(f(cliRowsPerSecond)) rows/s  (sqlite3 \(sqliteVersion), one transaction)
              ratio API/CLI      \(f(ratio, 2))x wall  (target >= 0.5x); CPU \(f(apiCPUSeconds, 2)) s vs \(f(cliCPUSeconds, 2)) s: \(f(cliCPUSeconds / apiCPUSeconds, 2))x
            long CSV import: \(csvRows) rows in \(f(csvSeconds, 2)) s wall, \(f(csvCPUSeconds, 2)) s CPU (\(f(Double(csvRows) / csvSeconds)) rows/s, target < 2 s)
            """
    }

    // MARK: - Running

    /// Runs `rounds` rounds in `directory` (created; the last round's files are left there) and
    /// keeps each side's fastest round: on a shared machine the minimum is the least disturbed
    /// measurement, and both sides get the same treatment.
    /// - parameter sqlite3: the CLI to compare against.
    public static func run(directory: URL, measurements: Int = 1_000_000, rounds: Int = 3,
                           sqlite3: String = "/usr/bin/sqlite3") throws -> StoreBenchmark {
        var best: StoreBenchmark?
        for _ in 0..<max(1, rounds) {
            let r = try round(directory: directory, measurements: measurements, sqlite3: sqlite3)
            guard var b = best else { best = r; continue }
            if r.apiSeconds < b.apiSeconds { b.apiSeconds = r.apiSeconds; b.apiCPUSeconds = r.apiCPUSeconds }
            if r.cliSeconds < b.cliSeconds { b.cliSeconds = r.cliSeconds; b.cliCPUSeconds = r.cliCPUSeconds }
            if r.csvSeconds < b.csvSeconds { b.csvSeconds = r.csvSeconds; b.csvCPUSeconds = r.csvCPUSeconds }
            b.rounds += 1
            best = b
        }
        return best!
    }

    /// One round of both measurements in `directory`, on fresh files.
    static func round(directory: URL, measurements: Int, sqlite3: String) throws -> StoreBenchmark {
        let fm = FileManager.default
        try fm.createDirectory(at: directory, withIntermediateDirectories: true)
        for name in ["api.sqlite", "cli.sqlite", "csv.sqlite", "rows.csv", "long.csv"] {
            for suffix in ["", "-wal", "-shm"] { try? fm.removeItem(at: directory.appendingPathComponent(name + suffix)) }
        }
        let pairs = SyntheticStudy.pairs.count
        let units = measurements / pairs
        let steps = 50, arms = 5
        let clips = 25
        let seeds = max(1, units / (steps * arms * clips))
        let total = seeds * steps * arms * clips

        // Store API: one writeUnit per unit.
        let api = try StudyStore.create(at: directory.appendingPathComponent("api.sqlite"), config: SyntheticStudy.config)
        let reg = try SyntheticStudy.register(api, clips: clips, arms: arms, steps: steps)
        var plan: [UnitResult] = []
        plan.reserveCapacity(total)
        // The probe's order: a clip at a time, each arm's trajectory step after step, seed by seed.
        for clip in 0..<clips { for arm in 0..<arms { for seed in 0..<seeds { for step in 0..<steps {
            plan.append(SyntheticStudy.unit(reg, clip: clip, arm: arm, step: step, seed: seed))
        } } } }
        let start = Date()
        let apiCPU0 = cpuSeconds(children: false)
        for unit in plan { try api.writeUnit(unit) }
        let apiSeconds = Date().timeIntervalSince(start)
        let apiCPU = cpuSeconds(children: false) - apiCPU0

        // The same rows as CSV into the same schema (same ids: a fresh study registered alike).
        let cliURL = directory.appendingPathComponent("cli.sqlite")
        let cli = try StudyStore.create(at: cliURL, config: SyntheticStudy.config)
        _ = try SyntheticStudy.register(cli, clips: clips, arms: arms, steps: steps)
        var csv = ""
        csv.reserveCapacity(total * pairs * 60)
        let run = cli.runID.rawValue
        for unit in plan {
            for m in unit.measurements {
                csv += "\(run),\(unit.key.arm.rawValue),\(unit.key.clip.rawValue),\(unit.key.step),\(unit.key.seed),\(m.metric),\(m.region),"
                csv += (m.value.isNaN ? "" : StudyStore.format(m.value).replacingOccurrences(of: "inf", with: "Inf")) + ",\n"
            }
        }
        let rowsURL = directory.appendingPathComponent("rows.csv")
        try Data(csv.utf8).write(to: rowsURL)
        let script = """
            PRAGMA foreign_keys = ON;
            PRAGMA synchronous = NORMAL;
            PRAGMA cache_size = -65536;
            .mode csv
            .import '\(rowsURL.path)' measurements
            """
        let cliCPU0 = cpuSeconds(children: true)
        let cliSeconds = try timeProcess(sqlite3, [cliURL.path], stdin: script)
        let cliCPU = cpuSeconds(children: true) - cliCPU0
        let imported = try cli.summary().measurements
        guard imported == plan.count * pairs else {
            throw StoreError.io(path: cliURL.path, problem: "sqlite3 .import stored \(imported) rows, expected \(plan.count * pairs)")
        }
        let version = (try? output(sqlite3, ["-version"]).split(separator: " ").first.map(String.init)) ?? nil

        // 100,000-row long CSV import: one arm, 125 clips × 50 steps × 16 rows.
        let longURL = directory.appendingPathComponent("long.csv")
        var long = "step,t,sample,metric,region,value\n"
        let stepList = SyntheticStudy.steps(steps)
        var rows = 0
        for clip in 0..<125 { for step in stepList { for (i, p) in SyntheticStudy.pairs.enumerated() {
            let v = SyntheticStudy.value(clip: clip, arm: 0, step: step.j, seed: 0, pair: i)
            long += "\(step.j),\(String(format: "%.6f", step.t)),sample\(clip),\(p.metric),\(p.region),\(StudyStore.format(v))\n"
            rows += 1
        } } }
        try Data(long.utf8).write(to: longURL)
        let csvStore = try StudyStore.create(at: directory.appendingPathComponent("csv.sqlite"),
                                             config: StudyStore.importedConfig(name: "imported", model: "synthetic", drop: "audio"))
        let csvStart = Date()
        let csvCPU0 = cpuSeconds(children: false)
        let summary = try csvStore.importCSV(longURL, arm: .eulerJump(s0: 1, s1: 4.5))
        let csvSeconds = Date().timeIntervalSince(csvStart)
        let csvCPU = cpuSeconds(children: false) - csvCPU0
        guard summary.rows == rows else { throw StoreError.io(path: longURL.path, problem: "imported \(summary.rows) of \(rows) rows") }

        return StoreBenchmark(measurements: plan.count * pairs, units: plan.count, apiSeconds: apiSeconds, cliSeconds: cliSeconds,
                              csvRows: rows, csvSeconds: csvSeconds, sqliteVersion: version ?? "?",
                              apiCPUSeconds: apiCPU, cliCPUSeconds: cliCPU, csvCPUSeconds: csvCPU, rounds: 1)
    }

    // MARK: - Timing helpers

    private static func cpuSeconds(children: Bool) -> Double {
        var usage = rusage()
        let who = children ? RUSAGE_CHILDREN : RUSAGE_SELF
        #if canImport(Glibc)
        getrusage(__rusage_who_t(who.rawValue), &usage)
        #else
        getrusage(who, &usage)
        #endif
        return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
    }

    private static func timeProcess(_ executable: String, _ arguments: [String], stdin text: String) throws -> Double {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let input = Pipe()
        process.standardInput = input
        let start = Date()
        do { try process.run() } catch { throw StoreError.io(path: executable, problem: "cannot run: \(error.localizedDescription)") }
        input.fileHandleForWriting.write(Data(text.utf8))
        try input.fileHandleForWriting.close()
        process.waitUntilExit()
        let seconds = Date().timeIntervalSince(start)
        guard process.terminationStatus == 0 else { throw StoreError.io(path: executable, problem: "exited with \(process.terminationStatus)") }
        return seconds
    }

    private static func output(_ executable: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }
}
