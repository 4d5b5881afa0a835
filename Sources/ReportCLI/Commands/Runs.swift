import ArgumentParser
import Foundation
import Store

/// `trajprobe runs`: the studies in database files, with status and counts.
struct Runs: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "runs",
        abstract: "List the studies in database files with status and counts.",
        discussion: ExitStatus.discussion("""
            Read-only. Per study: name, status, teacher, model, drop mode, \
            sync model, creation and finish times; clips, arms, steps, done \
            and failed units, measurements.

              trajprobe runs study.sqlite
              trajprobe runs shards/*.sqlite --json
            """))

    @Argument(help: ArgumentHelp("Study databases.", valueName: "db"))
    var databases: [String]

    @OptionGroup var jsonOutput: OutputOptions

    func validate() throws {
        if databases.isEmpty { throw ValidationError("Name at least one study database.") }
    }

    func run() async throws {
        let json = jsonOutput.json
        do {
            var rows: [[String: Any]] = []
            for db in databases {
                for run in try StudyStore.listRuns(at: URL(fileURLWithPath: db)) {
                    if json {
                        rows.append(["database": db, "name": run.name, "status": run.status.rawValue, "created": run.created,
                                     "finished": run.finished ?? NSNull(), "teacher": run.config.teacherKind,
                                     "teacher_identity": run.config.teacherIdentity, "model": run.config.modelName,
                                     "drop": run.config.dropMode, "sync_model": run.config.syncModel,
                                     "sync_weights_sha256": run.config.syncWeightsSHA256 ?? NSNull(),
                                     "toolkit_version": run.config.toolkitVersion, "clips": run.clips, "arms": run.arms,
                                     "steps": run.steps, "done_units": run.doneUnits, "failed_units": run.failedUnits,
                                     "measurements": run.measurements])
                    } else {
                        print("\(db)  \(run.name)  [\(run.status.rawValue)]  \(run.config.teacherKind) \(run.config.modelName), "
                              + "drop \(run.config.dropMode), sync \(run.config.syncModel)  created \(run.created)"
                              + (run.finished.map { ", finished \($0)" } ?? ""))
                        print("    \(run.clips) clips, \(run.arms) arms, \(run.steps) steps, \(run.doneUnits) units done, "
                              + "\(run.failedUnits) failed, \(run.measurements) measurements")
                    }
                }
            }
            if json { JSONOutput.print(object: rows) }
        } catch let error as StoreError {
            try failStore(error, json: json)
        }
    }
}
