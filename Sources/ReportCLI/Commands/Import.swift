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
                  --db omni.sqlite --arm 'euler_jump s0=1 s1=4.5' \\
                  --model omniavatar-14b --drop text+audio
              trajprobe import registry registry.yaml --db all.sqlite
            """),
        subcommands: [CSV.self, Registry.self, ImportVideos.self])

    // MARK: - import csv

    /// `trajprobe import csv`: long CSV files of one arm into a study, one transaction per file.
    struct CSV: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "csv",
            abstract: "Import long CSV files of one arm into a study.",
            discussion: ExitStatus.discussion("""
                The study is the one named by --study (or --model), created \
                when missing with teacher kind 'imported'; without a name, a \
                database holding one study imports into it. Files written by \
                `trajprobe export` carry arm and seed columns: no --arm.

                Read without conversion: pandas' index column, CRLF, quoted \
                fields, step as 30 or 30.0, t as a float or gt, value as a \
                float, inf, or missing (empty, nan, NaN, NA: stored as NULL).

                --guidance and --sync-model/--sync-preset record how the numbers \
                were made (the teacher's CFG scale, or its text and audio scales; \
                the sync model): the report and schedule read them instead of \
                assuming. A study that already records other values refuses them.

                  trajprobe import csv ej_1_45.csv --db omni.sqlite \\
                      --arm 'euler_jump s0=1 s1=4.5' --model omniavatar-14b \\
                      --drop text+audio --guidance 4.5 --sync-model syncnet-v2
                  trajprobe import csv exported/*.csv --db copy.sqlite \\
                      --study omniavatar-14b
                """))

        @Argument(help: ArgumentHelp("Long CSV files (one transaction each).", valueName: "file"))
        var files: [String]

        @OptionGroup var database: DatabaseOption

        @OptionGroup var selection: StudySelection

        @Option(help: ArgumentHelp("The arm of every row, e.g. 'euler_jump s0=1 s1=4.5' or 'fresh_noise w=4.5'.", valueName: "label"))
        var arm: String?

        @Option(help: ArgumentHelp("Teacher model the results came from.", valueName: "name"))
        var model: String?

        @Option(help: ArgumentHelp("Negative branch of CFG: text+audio or audio (or unknown).", valueName: "mode"))
        var drop: DropOption?

        @Option(help: ArgumentHelp("Seed of rows without a seed column.", valueName: "n"))
        var seed: Int = 0

        @Option(help: ArgumentHelp("The teacher's CFG scale the numbers were produced with: 4.5, or text=5,audio=4 for a two-scale teacher (recorded for the report).", valueName: "w"))
        var guidance: String?

        @OptionGroup var sync: SyncOptions

        @OptionGroup var jsonOutput: OutputOptions

        func validate() throws {
            if let arm { do { _ = try ArmSpec(parsing: arm) } catch { throw ValidationError(error.description) } }
            if let guidance { do { _ = try GuidanceValue(parsing: guidance) } catch { throw ValidationError("--guidance \(error.description)") } }
            _ = try sync.provenance()
            if seed < 0 { throw ValidationError("--seed must be non-negative (as seeds in study files), not \(seed).") }
        }

        func run() async throws {
            let target = try selection.resolve(database: database.db, studyMayBeDatabase: true)
            Grammar.warn(target.notes + (drop?.notes ?? []))
            let json = jsonOutput.json
            guard let path = target.database else { throw ValidationError("give the study database: --db FILE") }
            let url = URL(fileURLWithPath: path)
            // A new database that receives nothing is removed again: a refused import leaves no file.
            let existed = FileManager.default.fileExists(atPath: url.path)
            var opened: StudyStore?, importedAny = false
            do {
                let (store, notes) = try StudyStore.openForImport(at: url, study: target.study, model: model, drop: drop?.mode.rawValue,
                                                                  guidance: try guidance.map { try GuidanceValue(parsing: $0) },
                                                                  sync: try sync.provenance())
                opened = store
                if !json { for n in notes { print("note: \(n)") } }
                let spec = try arm.map { try ArmSpec(parsing: $0) }
                for file in files {
                    let summary = try store.importCSV(URL(fileURLWithPath: file), arm: spec, seed: seed)
                    importedAny = true
                    if json {
                        JSONOutput.print(object: ["file": summary.path, "sha256": summary.sha256, "study": store.config.name, "rows": summary.rows,
                                          "gt_rows": summary.gtRows, "units": summary.units, "written": summary.written,
                                          "unchanged": summary.unchanged, "arms": summary.arms, "ignored_columns": summary.ignoredColumns])
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
    }

    // MARK: - import registry

    /// `trajprobe import registry`: every experiment of an analysis registry, checked first, written in one transaction.
    struct Registry: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "registry",
            abstract: "Import every experiment a registry YAML lists: one study per model and drop mode.",
            discussion: ExitStatus.discussion("""
                Reads a registry as analysis repositories write it: top-level \
                schema_version, models (per model preprocessing), metric_rules, \
                experiments as flow mappings, comparisons. Everything is checked \
                before anything is written, and written in one transaction.

                  experiments:
                    - {id: omni_ta_default, model: omniavatar, family: trajectory,
                       guidance: {cfg: 4.5}, drop: text+audio,
                       baseline: omni_ta_nocfg, csv: results/omni/default.csv}
                    - {id: it_euler_on_on, model: infinitetalk, family: euler_jump,
                       knobs: {step0: on, teacher: on}, csv: results/it/on_on.csv}
                  comparisons:
                    - {name: euler_on_on, omniavatar: omni_ta_euler_on_on,
                       infinitetalk: it_euler_on_on}

                Studies: one per (model, drop mode), named '<model> <drop>' \
                ('omniavatar text+audio', 'omniavatar audio': audio-only is the \
                drop mode audio), or '<model>' when the registry gives no drop.

                Knob words: nocfg is w = 1, cfgNN is N.N (cfg45 = 4.5, cfg15 = \
                1.5); step0 is euler_jump's s0, teacher its s1. Any other word \
                (on, noaudio) is given with --knob, as one scale or a (text, \
                audio) pair; an undefined word is refused, naming it.

                A scheduled_cfg entry with only tau takes its study's CFG scale \
                (the one scale other than 1 its experiments carry), and the \
                import says so. results_only entries become arms named by their \
                knobs when the entry states them, else '<family> id=<id>', which \
                never decides a window. Entries with a status other than ok whose \
                csv does not exist are skipped with a warning. Relative csv paths \
                are tried against the YAML's folder, then each folder above it up \
                to the repository root (the first with .git).

                  trajprobe import registry configs/registry.yaml --db all.sqlite \\
                      --knob on='text=5,audio=4' --knob noaudio='text=5,audio=1' \\
                      --sync-model syncnet-v2 --sync-preset syncnet_python
                  trajprobe report all.sqlite

                A malformed registry or csv, a missing file or a conflict with what \
                the database holds writes nothing.
                """))

        @Argument(help: ArgumentHelp("Registry YAML.", valueName: "registry.yaml"))
        var registry: String

        @OptionGroup var database: DatabaseOption

        /// The old spelling of --db (this command never named a study).
        @Option(name: .customLong("study"), help: .hidden)
        var legacyDatabase: String?

        @Option(name: .customLong("knob"), help: ArgumentHelp("A knob word the registry uses without defining it: WORD=W (one scale, e.g. on=4.5) or WORD='text=T,audio=A' (two scales). Repeatable.", valueName: "word=value"))
        var knobs: [String] = []

        @OptionGroup var sync: SyncOptions

        @OptionGroup var jsonOutput: OutputOptions

        /// The database file (--db, or the old --study FILE).
        var databasePath: String? { database.db ?? legacyDatabase }

        /// The --knob words as guidance values (a malformed or repeated word is a usage error).
        func knobValues() throws -> [String: GuidanceValue] {
            var out: [String: GuidanceValue] = [:]
            for k in knobs {
                let parts = k.split(separator: "=", maxSplits: 1).map(String.init)
                guard parts.count == 2, !parts[0].isEmpty else { throw ValidationError("--knob '\(k)' is not WORD=VALUE (on=4.5 or on='text=5,audio=4')") }
                guard out[parts[0]] == nil else { throw ValidationError("--knob \(parts[0]) is given twice") }
                do { out[parts[0]] = try GuidanceValue(parsing: parts[1]) } catch { throw ValidationError("--knob \(parts[0]): \(error.description)") }
            }
            return out
        }

        func validate() throws {
            if database.db != nil && legacyDatabase != nil { throw ValidationError("give the database once: --db FILE") }
            _ = try knobValues()
            _ = try sync.provenance()
        }

        func run() async throws {
            if let old = legacyDatabase { Grammar.warn([Grammar.deprecated("--study \(old) for the database", use: "--db \(old)")]) }
            guard let study = databasePath else { throw ValidationError("give the study database: --db FILE") }
            let json = jsonOutput.json
            do {
                let options = RegistryImportOptions(knobs: try knobValues(), sync: try sync.provenance())
                let summary = try StudyStore.importRegistry(URL(fileURLWithPath: registry), into: URL(fileURLWithPath: study), options: options)
                if json {
                    JSONOutput.print(object: ["studies": summary.studies, "files": summary.files.map(\.path),
                                      "rows": summary.files.map(\.rows).reduce(0, +),
                                      "written": summary.files.map(\.written).reduce(0, +),
                                      "unchanged": summary.files.map(\.unchanged).reduce(0, +),
                                      "skipped": summary.skipped.map { ["id": $0.id, "reason": $0.reason] },
                                      "notes": summary.notes])
                } else {
                    for file in summary.files {
                        print("\(file.path): \(file.rows) rows, \(file.written) new units, \(file.unchanged) already stored (\(file.arms.joined(separator: ", ")))")
                    }
                    for s in summary.skipped { print("warning: skipped experiment '\(s.id)': \(s.reason)") }
                    for n in summary.notes { print("note: \(n)") }
                    print("studies: \(summary.studies.map { "'\($0)'" }.joined(separator: ", ")) in \(study)")
                }
            } catch let error as StoreError {
                try failStore(error, json: json)
            }
        }
    }
}

/// `--sync-model` / `--sync-preset`: what produced imported Sync-C/D values.
struct SyncOptions: ParsableArguments {
    @Option(name: .customLong("sync-model"), help: ArgumentHelp("Sync model that produced the Sync-C/D values: \(SyncProvenance.knownModels.joined(separator: " or ")) (recorded so schedules and reports name it).", valueName: "name"))
    var model: String?

    @Option(name: .customLong("sync-preset"), help: ArgumentHelp("SyncNet preset of those values: \(SyncProvenance.knownPresets.joined(separator: " or ")) (implies --sync-model syncnet-v2).", valueName: "name"))
    var preset: String?

    /// The provenance the two options name, or nil when neither is given.
    func provenance() throws -> SyncProvenance? {
        guard model != nil || preset != nil else { return nil }
        do { return try SyncProvenance(model: model, preset: preset) } catch { throw ValidationError("--sync-model/--sync-preset \(error.description)") }
    }
}

/// Prints a Store error as the CLI's one line (or a JSON object) and exits with failure.
func failStore(_ error: StoreError, json: Bool) throws -> Never {
    if json {
        JSONOutput.print(object: ["error": error.description])
    } else {
        FileHandle.standardError.write(Data("error: \(error.description)\n".utf8))
    }
    throw ExitCode.failure
}

