import ArgumentParser
import Logging

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
        version: "0.1.0",
        subcommands: [Probe.self, Measure.self, Import.self, ReportCommand.self, ScheduleCommand.self, Runs.self, Merge.self, Export.self, DemoDataCommand.self, Bench.self])
}
