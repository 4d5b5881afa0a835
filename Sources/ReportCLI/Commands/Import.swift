import ArgumentParser
import Foundation
import Store

/// `trajprobe import csv|registry`: earlier results (long CSV metric tables) into a study database.
struct Import: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Import earlier results into a study: long CSV metric tables, or prediction videos to measure.",
        discussion: ExitStatus.discussion("""
            One long CSV file per arm, as existing analysis scripts write them:

              step,t,sample,metric,region,value[,protocol]
              -1,gt,clip01,sync_c,face,7.91      (GT: the reference clip)
              30,0.768935,clip01,ssim,mouth,0.8123

            Each file is imported in one transaction: a malformed row is \
            reported as FILE:LINE and nothing of that file is stored. \
            Importing the same rows again changes nothing; other values for \
            a stored unit are refused.

              trajprobe import csv results/omni_ej_1_45.csv \\
                  --study omni.sqlite --arm 'euler_jump s0=1 s1=4.5' \\
                  --model omniavatar-14b --drop text+audio
              trajprobe import registry registry.yaml --study all.sqlite
            """),
        subcommands: [CSV.self, Registry.self, ImportVideos.self])

    struct CSV: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "csv",
            abstract: "Import long CSV files of one arm into a study.",
            discussion: ExitStatus.discussion("""
                The study is the one named by --run (or --model), created \
                when missing with teacher kind 'imported'; without a name, a \
                database holding one study imports into it. Files written by \
                `trajprobe export` carry arm and seed columns: no --arm.

                Read without conversion: pandas' index column, CRLF, quoted \
                fields, step as 30 or 30.0, t as a float or gt, value as a \
                float, inf, or missing (empty, nan, NaN, NA: stored as NULL).

                  trajprobe import csv ej_1_45.csv --study omni.sqlite \\
                      --arm 'euler_jump s0=1 s1=4.5' --model omniavatar-14b \\
                      --drop text+audio
                  trajprobe import csv exported/*.csv --study copy.sqlite \\
                      --run omniavatar-14b
                """))

        @Argument(help: ArgumentHelp("Long CSV files (one transaction each).", valueName: "file"))
        var files: [String]

        @Option(help: ArgumentHelp("Study database (created if missing).", valueName: "db"))
        var study: String

        @Option(help: ArgumentHelp("The arm of every row, e.g. 'euler_jump s0=1 s1=4.5' or 'fresh_noise w=4.5'.", valueName: "label"))
        var arm: String?

        @Option(help: ArgumentHelp("Study name inside the database (default: the model name).", valueName: "name"))
        var run: String?

        @Option(help: ArgumentHelp("Teacher model the results came from.", valueName: "name"))
        var model: String?

        @Option(help: ArgumentHelp("Negative branch of CFG: text+audio or audio.", valueName: "mode"))
        var drop: String?

        @Option(help: ArgumentHelp("Seed of rows without a seed column.", valueName: "n"))
        var seed: Int = 0

        @Flag(help: "Print one JSON object per file.")
        var json = false

        func validate() throws {
            if let arm { do { _ = try ArmSpec(parsing: arm) } catch { throw ValidationError(error.description) } }
            if let drop, !["text+audio", "audio", "unknown"].contains(drop) {
                throw ValidationError("--drop must be text+audio or audio, not '\(drop)'.")
            }
            if seed < 0 { throw ValidationError("--seed must be non-negative (as seeds in study files), not \(seed).") }
        }

        func run() async throws {
            let url = URL(fileURLWithPath: study)
            // A new database that receives nothing is removed again: a refused import leaves no file.
            let existed = FileManager.default.fileExists(atPath: url.path)
            var opened: StudyStore?, importedAny = false
            do {
                let store = try Self.studyForImport(url, run: self.run, model: model, drop: drop)
                opened = store
                let spec = try arm.map { try ArmSpec(parsing: $0) }
                for file in files {
                    let summary = try store.importCSV(URL(fileURLWithPath: file), arm: spec, seed: seed)
                    importedAny = true
                    if json {
                        print(storeJSON(["file": summary.path, "sha256": summary.sha256, "study": store.config.name, "rows": summary.rows,
                                          "gt_rows": summary.gtRows, "units": summary.units, "written": summary.written,
                                          "unchanged": summary.unchanged, "arms": summary.arms, "ignored_columns": summary.ignoredColumns]))
                    } else {
                        print("\(file): \(summary.rows) rows (\(summary.gtRows) GT), \(summary.units) units: \(summary.written) new, "
                              + "\(summary.unchanged) already stored → study '\(store.config.name)' arm \(summary.arms.map { "'\($0)'" }.joined(separator: ", "))")
                        if !summary.ignoredColumns.isEmpty {
                            print("  skipped columns: \(summary.ignoredColumns.joined(separator: ", "))")
                        }
                    }
                }
                if try store.summary().status == .running { try store.setStatus(.imported) }
            } catch let error as StoreError {
                StudyStore.discardNew(url, existedBefore: existed || importedAny, store: opened)
                try failStore(error, json: json)
            } catch {
                StudyStore.discardNew(url, existedBefore: existed || importedAny, store: opened)
                throw error
            }
        }

        /// Opens the named study, or the only one, or creates an imported study.
        static func studyForImport(_ url: URL, run: String?, model: String?, drop: String?) throws -> StudyStore {
            let names = FileManager.default.fileExists(atPath: url.path) ? try StudyStore.studyNames(at: url) : []
            let name = run ?? model
            if let name {
                let config = StudyStore.importedConfig(name: name, model: model ?? name, drop: drop ?? "unknown")
                guard names.contains(name) else { return try StudyStore.create(at: url, config: config) }
                let store = try StudyStore.open(at: url, study: name)
                var mismatched: [String] = []
                if let model, store.config.modelName != model { mismatched.append("model '\(store.config.modelName)' vs '\(model)'") }
                if let drop, store.config.dropMode != drop { mismatched.append("drop mode '\(store.config.dropMode)' vs '\(drop)'") }
                if !mismatched.isEmpty { throw StoreError.configMismatch(path: url.path, study: name, fields: mismatched) }
                return store
            }
            if names.isEmpty {
                return try StudyStore.create(at: url, config: StudyStore.importedConfig(name: "imported", model: "unknown", drop: drop ?? "unknown"))
            }
            let store = try StudyStore.open(at: url)
            if let drop, store.config.dropMode != drop {
                throw StoreError.configMismatch(path: url.path, study: store.config.name, fields: ["drop mode '\(store.config.dropMode)' vs '\(drop)'"])
            }
            return store
        }
    }

    struct Registry: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "registry",
            abstract: "Import every experiment a registry YAML lists: one study per model.",
            discussion: ExitStatus.discussion("""
                The registry lists experiments (id, model, family, guidance \
                or knobs, drop, baseline, csv); CSV paths are relative to the \
                YAML file. Everything is checked before anything is written, \
                and written in one transaction.

                  experiments:
                    - id: omni_ej_1_45
                      model: omniavatar-14b
                      family: euler_jump
                      knobs: {s0: 1, s1: 4.5}   # or guidance: [1, 4.5]
                      drop: text+audio
                      baseline: omni_ej_1_1     # or true
                      csv: results/omni_ej_1_45.csv

                  trajprobe import registry registry.yaml --study all.sqlite
                """))

        @Argument(help: ArgumentHelp("Registry YAML.", valueName: "registry.yaml"))
        var registry: String

        @Option(help: ArgumentHelp("Study database (created if missing).", valueName: "db"))
        var study: String

        @Flag(help: "Print the result as JSON.")
        var json = false

        func run() async throws {
            do {
                let summary = try StudyStore.importRegistry(URL(fileURLWithPath: registry), into: URL(fileURLWithPath: study))
                if json {
                    print(storeJSON(["studies": summary.studies, "files": summary.files.map(\.path),
                                      "rows": summary.files.map(\.rows).reduce(0, +),
                                      "written": summary.files.map(\.written).reduce(0, +),
                                      "unchanged": summary.files.map(\.unchanged).reduce(0, +)]))
                } else {
                    for file in summary.files {
                        print("\(file.path): \(file.rows) rows, \(file.written) new units, \(file.unchanged) already stored (\(file.arms.joined(separator: ", ")))")
                    }
                    print("studies: \(summary.studies.joined(separator: ", ")) in \(study)")
                }
            } catch let error as StoreError {
                try failStore(error, json: json)
            }
        }
    }
}

/// Prints a Store error as the CLI's one line (or a JSON object) and exits with failure.
func failStore(_ error: StoreError, json: Bool) throws -> Never {
    if json {
        print(storeJSON(["error": error.description]))
    } else {
        FileHandle.standardError.write(Data("error: \(error.description)\n".utf8))
    }
    throw ExitCode.failure
}

/// Compact JSON with sorted keys, for `--json` output.
func storeJSON(_ object: Any) -> String {
    guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]) else { return "{}" }
    return String(decoding: data, as: UTF8.self)
}
