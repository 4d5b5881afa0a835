import ArgumentParser
import Foundation
import Store

/// `trajprobe export`: a study's measurements as long CSV files (one per arm) or JSON lines.
struct Export: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Export a study's measurements as long CSV files (one per arm) or JSON lines.",
        discussion: ExitStatus.discussion("""
            CSV files have the columns \
            step,t,sample,metric,region,value[,protocol],arm,seed; GT rows are \
            step -1 and t gt, numbers are in shortest round-trip form, missing \
            values are nan: what existing analysis scripts read, and what \
            `trajprobe import csv` reads back unchanged. The database is \
            opened read-only.

              trajprobe export omni.sqlite --output exported/
              trajprobe export omni.sqlite --study omniavatar-14b \\
                  --arm 'euler_jump s0=1 s1=4.5' --output ej.csv
              trajprobe export omni.sqlite --format jsonl --output -
            """))

    /// Long CSV (one file per arm, what analysis scripts read) or JSON lines.
    enum Format: String, ExpressibleByArgument, CaseIterable {
        case csv, jsonl
    }

    @Argument(help: ArgumentHelp("Study database (opened read-only).", valueName: "db"))
    var database: String?

    @OptionGroup var selection: StudySelection

    @Option(help: ArgumentHelp("csv (one file per arm) or jsonl.", valueName: "format"))
    var format: Format = .csv

    @Option(help: ArgumentHelp("Only this arm (CSV: --output is then the file).", valueName: "label"))
    var arm: String?

    @Option(name: [.customShort("o"), .customLong("output")], help: ArgumentHelp("Directory for the per-arm CSV files, a file, or - for stdout.", valueName: "path"))
    var output: String?

    /// The old spelling of --output.
    @Option(name: .customLong("out"), help: .hidden)
    var legacyOut: String?

    /// Where the export goes (--output, or the old --out; "" when neither was given).
    var out: String { output ?? legacyOut ?? "" }

    @OptionGroup var jsonOutput: OutputOptions

    func validate() throws {
        if let arm { do { _ = try ArmSpec(parsing: arm) } catch { throw ValidationError(error.description) } }
        if format == .jsonl && arm != nil { throw ValidationError("--arm applies to CSV export only.") }
        if output != nil && legacyOut != nil { throw ValidationError("give the destination once: --output PATH") }
        if out == "-" && format == .csv && arm == nil {
            throw ValidationError("--output - (stdout) takes one CSV file (--arm LABEL) or --format jsonl; CSV export of every arm needs a directory.")
        }
    }

    func run() async throws {
        let target = try selection.resolve(database: database, studyMayBeDatabase: true, databaseFlag: "the positional DB")
        Grammar.warn(target.notes + (legacyOut.map { [Grammar.deprecated("--out \($0)", use: "--output \($0)")] } ?? []))
        guard let study = target.database else { throw ValidationError("give the study database: trajprobe export DB --output PATH") }
        guard !out.isEmpty else { throw ValidationError("give the destination: --output DIR, FILE or -") }
        let json = jsonOutput.json
        do {
            let store = try StudyStore.open(at: URL(fileURLWithPath: study), readOnly: true, study: target.study)
            var written: [String] = []
            switch (format, arm) {
            case (.jsonl, _):
                try emit(try store.exportJSONLines(), to: out)
                written.append(out)
            case (.csv, let label?):
                let canonical = try ArmSpec(parsing: label).label
                guard let info = try store.arm(label: canonical) else {
                    throw StoreError.unknownReference(path: study, what: "arm '\(canonical)' (arms: \(try store.arms().map(\.label).joined(separator: "; ")))")
                }
                try emit(try store.exportCSV(arm: info.id), to: out)
                written.append(out)
            case (.csv, nil):
                written = try store.exportCSV(to: URL(fileURLWithPath: out)).map(\.path)
            }
            if out != "-" {
                if json {
                    JSONOutput.print(object: ["study": store.config.name, "files": written])
                } else {
                    for file in written { print(file) }
                }
            }
        } catch let error as StoreError {
            try failStore(error, json: json)
        }
    }

    private func emit(_ text: String, to path: String) throws {
        if path == "-" {
            FileHandle.standardOutput.write(Data(text.utf8))
            return
        }
        do { try Data(text.utf8).write(to: URL(fileURLWithPath: path)) } catch {
            throw StoreError.io(path: path, problem: "cannot write: \(error.localizedDescription)")
        }
    }
}
