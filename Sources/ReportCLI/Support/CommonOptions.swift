import ArgumentParser
import Foundation

/// The grammar every command shares, stated once in the root help.
///
/// Why a rule at all: before it, the database was `--study` in two commands, `--db` in others and
/// positional in a third, and `--study` meant a file in some commands and a name in others.
enum Grammar {
    /// The paragraph of the root help that states the rule.
    static let rule = """
        One grammar in every command: a command that reads studies (report, schedule, runs, \
        export, merge's shards) takes its database files as positional arguments; a command that \
        writes into a database from other inputs (probe, search, import csv|registry|videos, \
        measure sync, merge's target) takes it as --db FILE. A study inside a database is always \
        --study NAME; a drop mode is always audio or text+audio; --json prints snake_case keys. \
        Old spellings (--study FILE for the database, --run, --study-name, --into, export --out, audio-only) \
        still work and print a one-line note on stderr.
        """

    /// Writes each deprecation note as one `note:` line on stderr (stdout stays the result).
    static func warn(_ notes: [String]) {
        for note in notes { FileHandle.standardError.write(Data("note: \(note)\n".utf8)) }
    }

    /// The note for an old spelling.
    static func deprecated(_ old: String, use new: String) -> String {
        "\(old) is deprecated: use \(new)"
    }
}

/// `--db FILE`: the database a command writes into (probe, search, imports, measure sync, merge).
struct DatabaseOption: ParsableArguments {
    @Option(help: ArgumentHelp("Study database (created if missing).", valueName: "file"))
    var db: String?
}

/// `--study NAME`: the study inside a database, with the old spellings `--run` and `--study-name`.
struct StudySelection: ParsableArguments {
    @Option(help: ArgumentHelp("Study name inside the database (needed when it holds several).", valueName: "name"))
    var study: String?

    @Option(name: .customLong("run"), help: .hidden)
    var legacyRun: String?

    @Option(name: .customLong("study-name"), help: .hidden)
    var legacyStudyName: String?

    /// The database and study a command names, after the old spellings.
    struct Resolved: Equatable {
        /// The database file, when one was given.
        var database: String?
        /// The study name, when one was given.
        var study: String?
        /// One deprecation note per old spelling used.
        var notes: [String] = []
    }

    /// Resolves `db` (the command's --db or positional database) and the study name.
    ///
    /// `studyMayBeDatabase`: the command once took its database as `--study FILE`; then a
    /// `--study` without any database is read as the database (the only reading under which the
    /// old command line was valid), with a note.
    func resolve(database db: String?, studyMayBeDatabase: Bool, databaseFlag: String = "--db FILE") throws -> Resolved {
        try Self.resolve(study: study, legacyRun: legacyRun, legacyStudyName: legacyStudyName, database: db,
                         studyMayBeDatabase: studyMayBeDatabase, databaseFlag: databaseFlag)
    }

    /// `resolve(database:studyMayBeDatabase:databaseFlag:)` on plain values, for a command that
    /// declares the options itself.
    static func resolve(study: String?, legacyRun: String?, legacyStudyName: String?, database db: String?,
                        studyMayBeDatabase: Bool, databaseFlag: String = "--db FILE") throws -> Resolved {
        var out = Resolved(database: db)
        var name = study
        if db == nil, let file = study, studyMayBeDatabase {
            out.database = file
            out.notes.append(Grammar.deprecated("--study \(file) for the database", use: "\(databaseFlag) (--study names the study inside it)"))
            name = nil
        }
        for (flag, value) in [("--run", legacyRun), ("--study-name", legacyStudyName)] {
            guard let value else { continue }
            if let name, name != value { throw ValidationError("\(flag) \(value) and --study \(name) name different studies: give --study once") }
            name = value
            out.notes.append(Grammar.deprecated("\(flag) \(value)", use: "--study \(value)"))
        }
        out.study = name
        return out
    }
}

/// `--json`: the result as JSON on stdout (`JSONOutput`'s configuration: snake_case keys).
struct OutputOptions: ParsableArguments {
    @Flag(help: "Print the result as JSON on stdout (snake_case keys, one line per object).")
    var json = false
}

/// A drop mode on the command line: `audio` or `text+audio` (and `unknown` where imports allow
/// it); the old spelling `audio-only` is read as `audio` with a note.
struct DropOption: ExpressibleByArgument, Equatable, CustomStringConvertible {
    /// What the negative branch of CFG drops.
    enum Mode: String, Equatable { case audio, textAudio = "text+audio", unknown }

    /// The mode given.
    var mode: Mode
    /// The old spelling given, if any (for the deprecation note).
    var legacySpelling: String?

    init?(argument: String) {
        switch argument {
        case "audio": mode = .audio
        case "text+audio": mode = .textAudio
        case "unknown": mode = .unknown
        case "audio-only", "audio_only":
            mode = .audio
            legacySpelling = argument
        default: return nil
        }
    }

    static var allValueStrings: [String] { ["audio", "text+audio"] }

    /// The spelling given (what a help's default shows).
    var description: String { legacySpelling ?? mode.rawValue }

    /// The deprecation note of an old spelling.
    var notes: [String] {
        legacySpelling.map { [Grammar.deprecated("--drop \($0)", use: "--drop audio")] } ?? []
    }

    /// The value the probe's study configuration and the imported-videos study store
    /// (`audio`, `text+audio`, `unknown`; Store reads the `audio-only` of older studies as
    /// `audio`, so they resume).
    var teacherValue: String {
        switch mode {
        case .audio: "audio"
        case .textAudio: "text+audio"
        case .unknown: "unknown"
        }
    }
}

/// Comma-separated values of an option (`--steps 0,10,20`, `--scales 1,2,4.5`), parsed the same
/// way in every command: spaces around items allowed, an empty or malformed list is a usage error
/// naming the flag.
enum CommaList {
    /// A list of integers given to `flag`.
    static func integers(_ text: String, flag: String) throws -> [Int] {
        let v = text.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !v.isEmpty, v.allSatisfy({ $0 != nil }) else { throw ValidationError("\(flag) '\(text)' is not a comma-separated list of integers") }
        return v.map { $0! }
    }

    /// A list of finite numbers given to `flag`.
    static func numbers(_ text: String, flag: String) throws -> [Double] {
        let v = text.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
        guard !v.isEmpty, v.allSatisfy({ $0 != nil && $0!.isFinite }) else { throw ValidationError("\(flag) '\(text)' is not a comma-separated list of numbers") }
        return v.map { $0! }
    }
}
