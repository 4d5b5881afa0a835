import ArgumentParser
import Foundation
import Logging
import Store

@main
struct Trajprobe: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trajprobe",
        abstract: "Probe a lip-sync diffusion teacher along its trajectory, with and without CFG.",
        discussion: """
            trajprobe measures reference fidelity and lip sync at every denoising step, stores
            everything in one SQLite study, and derives the sync window and a two-step student
            schedule from it.
            """,
        version: Toolkit.version,
        subcommands: [Demo.self, Probe.self, Measure.self, Import.self, ReportCommand.self, ScheduleCommand.self, FaceSyncCommand.self, Runs.self, Merge.self, Export.self, DemoDataCommand.self, Bench.self])

    /// Logs go to stderr at `warning` (set TRAJPROBE_LOG=info or debug for more); results go to
    /// stdout, so scripts can pipe them.
    static func main() async {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = ProcessInfo.processInfo.environment["TRAJPROBE_LOG"].flatMap(Logger.Level.init(rawValue:)) ?? .warning
            return handler
        }
        await Self.main(nil)
    }
}
