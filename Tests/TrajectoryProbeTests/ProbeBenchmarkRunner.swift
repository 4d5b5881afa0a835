import Benchmarks
import Foundation
import Testing
@testable import TrajectoryProbe

/// Not a timed test: runs ``ProbeBenchmark`` only when `TRAJPROBE_BENCH` is set
/// (`Benchmarks/probe_bench.sh`) and prints its ratios; it asserts only that they are measured.
struct ProbeBenchmarkRunner {
    @Test(.enabled(if: ProcessInfo.processInfo.environment["TRAJPROBE_BENCH"] != nil))
    func probeBenchmarks() throws {
        let report = try ProbeBenchmark.run()
        for line in report.lines { print(line) }
        #expect(report.scaleSweepRatio.isFinite && report.flopRates.allSatisfy { $0.fraction.isFinite && $0.fraction > 0 })
    }
}
