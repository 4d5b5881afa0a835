import ArgumentParser
import Foundation
import Store

/// `trajprobe merge`: shard databases of one study into one.
struct Merge: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge",
        abstract: "Merge shard databases of the same study (several machines) into one.",
        discussion: ExitStatus.discussion("""
            Each shard may hold any subset of clips, arms, steps and seeds. \
            Studies are matched by name and must have identical \
            configurations; identical units are kept once. If any unit is \
            stored with different values in two shards, nothing is merged and \
            every conflict is listed. Shards are opened read-only; the target \
            is created if missing.

              trajprobe merge gpu0.sqlite gpu1.sqlite gpu2.sqlite \\
                  --db study.sqlite
            """))

    @Argument(help: ArgumentHelp("Shard databases.", valueName: "shard"))
    var shards: [String]

    @Option(help: ArgumentHelp("Target database (created if missing).", valueName: "file"))
    var db: String?

    /// The old spelling of --db.
    @Option(name: .customLong("into"), help: .hidden)
    var legacyInto: String?

    @OptionGroup var jsonOutput: OutputOptions

    /// The target database (--db, or the old --into).
    var into: String { db ?? legacyInto ?? "" }

    func validate() throws {
        if shards.isEmpty { throw ValidationError("Name at least one shard database.") }
        if db != nil && legacyInto != nil { throw ValidationError("give the target once: --db FILE") }
        let target = URL(fileURLWithPath: into).standardizedFileURL.path
        if !into.isEmpty, shards.contains(where: { URL(fileURLWithPath: $0).standardizedFileURL.path == target }) {
            throw ValidationError("The target \(into) is also a shard.")
        }
    }

    func run() async throws {
        if let old = legacyInto { Grammar.warn([Grammar.deprecated("--into \(old)", use: "--db \(old)")]) }
        if db == nil && legacyInto == nil { throw ValidationError("give the target database: --db FILE") }
        let json = jsonOutput.json
        do {
            let summary = try StudyStore.merge(shards: shards.map { URL(fileURLWithPath: $0) }, into: URL(fileURLWithPath: into))
            if json {
                JSONOutput.print(object: ["target": summary.target, "studies": summary.studies, "written": summary.written,
                                           "duplicates": summary.duplicates, "failed": summary.failed])
            } else {
                print("\(into): \(summary.written) units merged, \(summary.duplicates) duplicates kept once, "
                      + "\(summary.failed) failed marks (studies: \(summary.studies.joined(separator: ", ")))")
            }
        } catch let StoreError.mergeConflicts(path, conflicts) {
            if json {
                JSONOutput.print(object: ["error": "conflicting units, nothing merged", "target": path, "conflicts": conflicts.map(\.description)])
            } else {
                FileHandle.standardError.write(Data("error: \(conflicts.count) conflicting unit(s), nothing merged into \(path):\n".utf8))
                for conflict in conflicts { FileHandle.standardError.write(Data("  \(conflict)\n".utf8)) }
            }
            throw ExitCode.failure
        } catch let error as StoreError {
            try failStore(error, json: json)
        }
    }
}
