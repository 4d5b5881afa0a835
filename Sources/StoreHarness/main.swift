// Helper executable for the Store's tests and benchmark (not installed, not for users).
//
//   StoreHarness crash-writer DB            write synthetic units forever, one line per commit
//   StoreHarness bench DIR [MEASUREMENTS [ROUNDS]]   Store API vs sqlite3 .import, 100k-row CSV import
//   StoreHarness read DB                    open read-only, print "name status done failed measurements"
//   StoreHarness check-writable DB          the check a writing command makes before writing
// (read and check-writable run as another user in the permission tests: root may write anything.)
import Benchmarks
import Foundation
import Store
import Synthetic

@main
struct StoreHarness {
    static func main() throws {
        let args = CommandLine.arguments
        guard args.count >= 3 else {
            FileHandle.standardError.write(Data("usage: StoreHarness crash-writer DB | bench DIR [MEASUREMENTS [ROUNDS]] | api-only DB [MEASUREMENTS]\n".utf8))
            exit(2)
        }
        switch args[1] {
        case "crash-writer":
            try crashWriter(URL(fileURLWithPath: args[2]))
        case "bench":
            let measurements = args.count > 3 ? Int(args[3]) ?? 1_000_000 : 1_000_000
            let rounds = args.count > 4 ? Int(args[4]) ?? 3 : 3
            print(try StoreBenchmark.run(directory: URL(fileURLWithPath: args[2]), measurements: measurements, rounds: rounds))
        case "read", "check-writable":
            do {
                if args[1] == "read" {
                    for r in try StudyStore.listRuns(at: URL(fileURLWithPath: args[2])) {
                        print("\(r.name) \(r.status.rawValue) \(r.doneUnits) \(r.failedUnits) \(r.measurements)")
                    }
                } else {
                    try StudyStore.checkUsableForWriting(URL(fileURLWithPath: args[2]))
                    print("writable")
                }
            } catch let error as StoreError {
                print("error: \(error.description)")
                exit(1)
            }
        case "api-only":
            // Profiling aid: only the Store API write phase of the benchmark.
            let url = URL(fileURLWithPath: args[2])
            let store = try StudyStore.create(at: url, config: SyntheticStudy.config)
            let reg = try SyntheticStudy.register(store, clips: 25, arms: 5)
            let units = (args.count > 3 ? Int(args[3]) ?? 1_000_000 : 1_000_000) / SyntheticStudy.pairs.count
            let plan = (0..<units).map { i in SyntheticStudy.unit(reg, clip: (i / 50) % 25, arm: (i / 1250) % 5, step: i % 50, seed: i / 6250) }
            let start = Date()
            for unit in plan { try store.writeUnit(unit) }
            print("\(units) units in \(Date().timeIntervalSince(start)) s")
        default:
            FileHandle.standardError.write(Data("unknown mode \(args[1])\n".utf8))
            exit(2)
        }
    }

    /// Writes units of a synthetic study in a fixed order until killed (or done), printing the
    /// number of committed units after each commit.
    static func crashWriter(_ url: URL) throws {
        let store = try StudyStore.openOrCreate(at: url, config: SyntheticStudy.config)
        let reg = try SyntheticStudy.register(store, clips: 6, arms: 7)
        var count = 0
        for seed in 0..<100 {
            for clip in 0..<6 {
                for step in [gtStep] + Array(0..<50) {
                    for arm in 0..<7 {
                        try store.writeUnit(SyntheticStudy.unit(reg, clip: clip, arm: arm, step: step, seed: seed))
                        count += 1
                        FileHandle.standardOutput.write(Data("committed \(count)\n".utf8))
                    }
                }
            }
        }
    }
}
