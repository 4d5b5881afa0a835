import ArgumentParser
import Foundation
import Logging
import Store

/// The `trajprobe` executable's root command: the subcommands, the grammar and the exit codes in its help.
@main
struct Trajprobe: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trajprobe",
        abstract: "Probe a lip-sync diffusion teacher along its trajectory, with and without CFG.",
        discussion: ExitStatus.discussion("""
            Measures reference fidelity and lip sync at every denoising step, with
            and without CFG, stores everything in one SQLite study, and derives the
            sync window and a two-step student schedule from it.

            Start here:
              trajprobe demo                          # whole workflow in ~2 minutes

            The workflow:
              trajprobe probe study.yaml --db s.sqlite      # probe (resumable)
              trajprobe report s.sqlite                     # window, figures, html
              trajprobe schedule s.sqlite --format python   # student config lines
              trajprobe search study.yaml --db s.sqlite     # 1- to 4-step schedules

            Real teachers and earlier results:
              trajprobe import videos runs/ --db s.sqlite --mask mask.png
              trajprobe import csv ej.csv --db s.sqlite --arm 'euler_jump s0=1 s1=4.5'
              trajprobe probe study.yaml --db shard-3.sqlite --shard 3/8
              trajprobe merge shard-*.sqlite --db s.sqlite
              trajprobe export s.sqlite --study omniavatar --output csv/

            Single videos:
              trajprobe measure fidelity --reference ref.mp4 pred.mp4 --mask mask.png
              trajprobe measure sync clip.mp4 --syncnet syncnet_v2.safetensors

            \(Grammar.rule)

            Logs go to stderr (TRAJPROBE_LOG=info for more); results to stdout.
            """),
        version: Toolkit.version,
        subcommands: [Demo.self, Probe.self, Measure.self, Import.self, ReportCommand.self, ScheduleCommand.self, SearchCommand.self, FaceSyncCommand.self, Runs.self, Merge.self, Export.self, DemoDataCommand.self, Bench.self, TeacherCommand.self])

    /// Logs go to stderr at `warning` (set TRAJPROBE_LOG=info or debug for more); results go to
    /// stdout, so scripts can pipe them.
    static func main() async {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = ProcessInfo.processInfo.environment["TRAJPROBE_LOG"].flatMap(Logger.Level.init(rawValue:)) ?? .warning
            return handler
        }
        await execute(Array(CommandLine.arguments.dropFirst()))
    }

    /// Parses `arguments`, runs the command, and exits the way argument-parser's own `main` does,
    /// except that a usage error thrown while a command runs (a `ValidationError` from `run()`)
    /// shows THAT command's usage, not the root's (`exit(withError:)` on the root knows only
    /// the root once parsing is over).
    static func execute(_ arguments: [String]) async -> Never {
        var command: any ParsableCommand
        do {
            command = try parseAsRoot(arguments)
        } catch {
            exit(withError: error)
        }
        do {
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
            exit(withError: nil)
        } catch let error as ValidationError {
            let path = commandPath(to: type(of: command)).joined(separator: " ")
            let text = "Error: \(error.message)\nUsage: \(usageString(for: type(of: command)))\n  See 'trajprobe \(path.isEmpty ? "" : path + " ")--help' for more information.\n"
            FileHandle.standardError.write(Data(text.utf8))
            Foundation.exit(ExitCode.validationFailure.rawValue)
        } catch {
            exit(withError: error)
        }
    }

    /// The subcommand names from the root to `target` (empty for the root itself).
    static func commandPath(to target: any ParsableCommand.Type) -> [String] {
        func search(_ node: any ParsableCommand.Type, _ path: [String]) -> [String]? {
            if ObjectIdentifier(node) == ObjectIdentifier(target) { return path }
            for child in node.configuration.subcommands {
                if let found = search(child, path + [child._commandName]) { return found }
            }
            return nil
        }
        return search(Trajprobe.self, []) ?? []
    }
}
