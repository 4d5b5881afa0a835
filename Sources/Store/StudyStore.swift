import Foundation
import GRDB
import GRDBSQLite

/// A handle on one study inside a trajprobe database file.
///
/// A file holds one study per probe run; imports may put several in one file (one per model), so
/// a handle is bound to one `runs` row and every read and write below is scoped to it. Writes go
/// through one serialised connection in WAL mode with foreign keys on and a busy timeout, so a
/// reader (`trajprobe report` while the probe runs) never blocks the writer.
///
/// ```swift
/// let store = try StudyStore.openOrCreate(at: url, config: config)
/// let clip = try store.registerClip(ClipSpec(name: "clip01"))
/// let arm = try store.registerArm(.eulerJump(s0: 1, s1: 4.5))
/// try store.registerSteps(schedule)
/// for key in plan where !done.contains(key) { try store.writeUnit(result(key)) }
/// ```
public final class StudyStore: Sendable {
    /// The database file.
    public let url: URL
    /// Whether this handle may write (read-only handles never modify the file).
    public let isReadOnly: Bool
    /// The study's row id in the file.
    public let runID: RunID
    /// The study's configuration as stored.
    public let config: StudyRecord
    let db: DatabaseQueue
    /// Arms, clips and steps already checked to belong to this study.
    let validated = ValidatedKeys()

    init(url: URL, db: DatabaseQueue, readOnly: Bool, runID: RunID, config: StudyRecord) {
        self.url = url; self.db = db; self.isReadOnly = readOnly; self.runID = runID; self.config = config
    }

    var path: String { url.path }

    // MARK: - Opening

    /// Creates the study `config.name` in a new or existing database file.
    /// - throws: `StoreError.studyExists` when the file already holds a study of that name,
    ///   `.notAStudy` when the file is some other SQLite or non-SQLite file.
    public static func create(at url: URL, config: StudyRecord) throws -> StudyStore {
        let queue = try connect(url, readOnly: false, mayCreate: true)
        let run = try queue.write { db -> RunID in
            if try String.fetchOne(db, sql: "SELECT name FROM runs WHERE name = ?", arguments: [config.name]) != nil {
                throw StoreError.studyExists(path: url.path, name: config.name)
            }
            return try insertRun(db, config: config, status: .running)
        }
        return StudyStore(url: url, db: queue, readOnly: false, runID: run, config: config)
    }

    /// Opens the study `config.name` if the file holds it under exactly this config (resume),
    /// creates it otherwise.
    /// - throws: `StoreError.configMismatch` when a study of that name has another config.
    public static func openOrCreate(at url: URL, config: StudyRecord) throws -> StudyStore {
        let queue = try connect(url, readOnly: false, mayCreate: true)
        let (run, stored) = try queue.write { db -> (RunID, StudyRecord) in
            if let row = try Row.fetchOne(db, sql: "SELECT * FROM runs WHERE name = ?", arguments: [config.name]) {
                let stored = runConfig(row)
                let diff = stored.differences(from: config)
                guard diff.isEmpty else { throw StoreError.configMismatch(path: url.path, study: config.name, fields: diff) }
                return (RunID(row["id"]), stored)
            }
            return (try insertRun(db, config: config, status: .running), config)
        }
        return StudyStore(url: url, db: queue, readOnly: false, runID: run, config: stored)
    }

    /// Opens an existing study. `study` names it; nil picks the only study in the file.
    /// Read-only handles never modify the file (no migration, no status change).
    /// - throws: `StoreError.missing`, `.notAStudy`, `.newerSchema`, `.noSuchStudy`, `.ambiguousStudy`.
    public static func open(at url: URL, readOnly: Bool = false, study: String? = nil) throws -> StudyStore {
        let queue = try connect(url, readOnly: readOnly, mayCreate: false)
        let (run, config) = try queue.read { db -> (RunID, StudyRecord) in
            let rows = try Row.fetchAll(db, sql: "SELECT * FROM runs ORDER BY id")
            let names = rows.map { $0["name"] as String }
            let chosen: Row
            if let study {
                guard let row = rows.first(where: { $0["name"] == study }) else {
                    throw StoreError.noSuchStudy(path: url.path, name: study, available: names)
                }
                chosen = row
            } else {
                guard rows.count == 1 else {
                    if rows.isEmpty { throw StoreError.noSuchStudy(path: url.path, name: "(any)", available: []) }
                    throw StoreError.ambiguousStudy(path: url.path, available: names)
                }
                chosen = rows[0]
            }
            return (RunID(chosen["id"]), runConfig(chosen))
        }
        return StudyStore(url: url, db: queue, readOnly: readOnly, runID: run, config: config)
    }

    /// Every study in a database file, with status and counts, read-only.
    public static func listRuns(at url: URL) throws -> [RunSummary] {
        let queue = try connect(url, readOnly: true, mayCreate: false)
        return try queue.read { db in try fetchSummaries(db) }
    }

    /// Names of the studies in a file, read-only.
    public static func studyNames(at url: URL) throws -> [String] {
        let queue = try connect(url, readOnly: true, mayCreate: false)
        return try queue.read { db in try String.fetchAll(db, sql: "SELECT name FROM runs ORDER BY id") }
    }

    // MARK: - Connection

    /// Opens the file with the study pragmas, checks it is a trajprobe study of a schema this code
    /// knows, and (writable only) migrates it to the current schema.
    ///
    /// Read-only handles run no PRAGMA that writes and never create a file: a database the user
    /// may only read (a read-only file, a shared directory) opens as it is. A WAL database whose
    /// `-shm` index cannot be created there opens immutable when its `-wal` holds nothing (no
    /// change can be missed), and is refused naming both files otherwise.
    static func connect(_ url: URL, readOnly: Bool, mayCreate: Bool) throws -> DatabaseQueue {
        let path = url.path
        let exists = FileManager.default.fileExists(atPath: path)
        if !exists && (!mayCreate || readOnly) { throw StoreError.missing(path: path) }
        if exists, !mayCreate, let size = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int, size == 0 {
            throw StoreError.notAStudy(path: path, problem: "the file is empty")
        }
        if !readOnly { try checkWritable(url) }
        if exists {
            // Check with a read-only connection first, so that a foreign file is never touched
            // (a writable GRDB connection would switch it to WAL before we could look).
            try check(path, queue: try openReadOnly(path), mayCreate: mayCreate, readOnly: readOnly)
        }
        if readOnly { return try openReadOnly(path) }
        do {
            let queue = try makeQueue(path, readOnly: false)
            try check(path, queue: queue, mayCreate: mayCreate, readOnly: false)
            try Schema.migrator.migrate(queue)
            return queue
        } catch let error as DatabaseError where error.resultCode == .SQLITE_NOTADB {
            throw StoreError.notAStudy(path: path, problem: "not an SQLite database")
        } catch let error as DatabaseError {
            throw StoreError.io(path: path, problem: "cannot open for writing: \(error.message ?? "SQLite error \(error.resultCode.rawValue)")")
        }
    }

    /// Refuses, before anything is written, a database path this process could not write: the
    /// file itself, or the directory that must hold it and its `-wal`/`-shm` companions.
    /// - throws: `StoreError.notWritable` naming the path and what is missing.
    public static func checkWritable(_ url: URL) throws {
        let path = url.path
        let directory = url.deletingLastPathComponent().path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw StoreError.notWritable(path: path, problem: "its directory \(directory) does not exist")
        }
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
            if isDirectory.boolValue { throw StoreError.notWritable(path: path, problem: "it is a directory") }
            guard access(path, W_OK) == 0 else { throw StoreError.notWritable(path: path, problem: "the file is read-only for this user") }
        }
        guard access(directory, W_OK | X_OK) == 0 else {
            throw StoreError.notWritable(path: path, problem: "its directory \(directory) is read-only for this user (SQLite writes -wal and -shm files next to the database)")
        }
    }

    /// Refuses a database a writing command cannot use, before the command writes anything
    /// anywhere (a probe writes its FaceSync model next to the database): an unwritable path,
    /// or an existing file that is not a trajprobe study of a schema this code knows.
    public static func checkUsableForWriting(_ url: URL) throws {
        try checkWritable(url)
        guard FileManager.default.fileExists(atPath: url.path) else { return }
        if let size = (try? FileManager.default.attributesOfItem(atPath: url.path))?[.size] as? Int, size == 0 { return }
        try check(url.path, queue: try openReadOnly(url.path), mayCreate: true, readOnly: false)
    }

    /// A read-only connection, per the rules of ``connect(_:readOnly:mayCreate:)``.
    static func openReadOnly(_ path: String) throws -> DatabaseQueue {
        guard FileManager.default.isReadableFile(atPath: path) else {
            throw StoreError.io(path: path, problem: "not readable by this user")
        }
        do {
            // The first read opens the WAL index: this is where a read-only WAL database fails.
            let queue = try makeQueue(path, readOnly: true)
            _ = try queue.read { db in try Int.fetchOne(db, sql: "PRAGMA schema_version") }
            return queue
        } catch let error as DatabaseError where error.resultCode == .SQLITE_NOTADB {
            throw StoreError.notAStudy(path: path, problem: "not an SQLite database")
        } catch let error as DatabaseError where error.resultCode == .SQLITE_READONLY || error.resultCode == .SQLITE_CANTOPEN {
            let wal = path + "-wal", shm = path + "-shm"
            let walBytes = ((try? FileManager.default.attributesOfItem(atPath: wal))?[.size] as? Int) ?? 0
            if walBytes == 0 && sqlite3_compileoption_used("SQLITE_USE_URI") == 1 {
                // Nothing waits in the WAL, so the main file alone is the whole database.
                var allowed = CharacterSet.urlPathAllowed
                allowed.remove(charactersIn: "?#%")
                let encoded = path.addingPercentEncoding(withAllowedCharacters: allowed) ?? path
                do {
                    let immutable = try makeQueue("file:\(encoded)?mode=ro&immutable=1", readOnly: true)
                    _ = try immutable.read { db in try Int.fetchOne(db, sql: "PRAGMA schema_version") }
                    return immutable
                } catch let error as DatabaseError {
                    throw StoreError.io(path: path, problem: "cannot read: \(error.message ?? "SQLite error \(error.resultCode.rawValue)")")
                }
            }
            let problem = walBytes > 0
                ? "a WAL database whose \(wal) holds \(walBytes) bytes of changes, and \(shm) cannot be created or opened here (read-only directory): copy the database with its -wal file to a writable directory"
                : "a WAL database, and \(shm) cannot be created here (read-only directory): copy it to a writable directory"
            throw StoreError.io(path: path, problem: problem)
        } catch let error as DatabaseError {
            throw StoreError.io(path: path, problem: "cannot read: \(error.message ?? "SQLite error \(error.resultCode.rawValue)")")
        }
    }

    /// A connection with the study pragmas; GRDB's errors pass through for the callers to name.
    private static func makeQueue(_ path: String, readOnly: Bool) throws -> DatabaseQueue {
        var configuration = Configuration()
        configuration.readonly = readOnly
        configuration.foreignKeysEnabled = true
        configuration.busyMode = .timeout(10)
        configuration.label = "trajprobe.store"
        if !readOnly { configuration.journalMode = .wal }
        configuration.prepareDatabase { db in
            // Read-only connections set nothing: they must open files the user cannot write.
            if !db.configuration.readonly {
                try db.execute(sql: "PRAGMA cache_size = -65536")
                try db.execute(sql: "PRAGMA synchronous = NORMAL")
                // The probe commits one small transaction per unit; checkpointing every 1000 WAL
                // pages (the default) meant an fsync every ~300 units and recopying the same hot
                // pages. 20000 pages (an 80 MB WAL at most, removed on close) measured ~1.7x
                // faster unit writes.
                try db.execute(sql: "PRAGMA wal_autocheckpoint = 20000")
            }
        }
        return try DatabaseQueue(path: path, configuration: configuration)
    }

    /// Closes the connection (checkpointing and removing the WAL when this was the last one), so
    /// the database file alone holds the study. Further use of the handle fails.
    public func close() throws {
        try db.close()
    }

    /// Removes a database that a refused command created (the file, `-wal` and `-shm`), closing
    /// `store` first: a failed import into a new database leaves nothing behind. Does nothing
    /// when the file existed before the command.
    public static func discardNew(_ url: URL, existedBefore: Bool, store: StudyStore?) {
        guard !existedBefore else { return }
        try? store?.close()
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: url.path + suffix) }
    }

    /// Refuses foreign files and newer schemas; read-only handles also refuse schemas that would
    /// need a migration (they must not write one).
    private static func check(_ path: String, queue: DatabaseQueue, mayCreate: Bool, readOnly: Bool) throws {
        do {
            let (appID, version, tables, superseded, complete) = try queue.read { db -> (Int32, Int, [String], Bool, Bool) in
                let hasMigrations = try db.tableExists("grdb_migrations")
                return (try Int32.fetchOne(db, sql: "PRAGMA application_id") ?? 0,
                        try Int.fetchOne(db, sql: "PRAGMA user_version") ?? 0,
                        try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"),
                        hasMigrations ? try Schema.migrator.hasBeenSuperseded(db) : false,
                        hasMigrations ? try Schema.migrator.hasCompletedMigrations(db) : false)
            }
            if appID != Schema.applicationID && (!tables.isEmpty || !mayCreate) {
                let what = tables.isEmpty ? "no tables" : "tables \(tables.prefix(5).joined(separator: ", "))"
                throw StoreError.notAStudy(path: path, problem: "SQLite file of another application (\(what))")
            }
            if version > Schema.supportedVersion || superseded {
                throw StoreError.newerSchema(path: path, found: max(version, Schema.supportedVersion + 1), supported: Schema.supportedVersion)
            }
            // A v1 file reads without its migration (its parameters are parsed from config_json
            // on read); any other pending migration would have to be written first.
            if readOnly && !complete && version != 1 {
                throw StoreError.notAStudy(path: path, problem: "schema v\(version) needs an upgrade: open it once with a writing command")
            }
        } catch let error as DatabaseError where error.resultCode == .SQLITE_NOTADB {
            throw StoreError.notAStudy(path: path, problem: "not an SQLite database")
        }
    }

    static func insertRun(_ db: Database, config: StudyRecord, status: RunStatus, created: String? = nil) throws -> RunID {
        try db.execute(sql: """
            INSERT INTO runs (name, created, status, teacher_kind, teacher_identity, model_name, drop_mode,
                              sync_model, sync_weights_sha256, libav_version, config_json, toolkit_version)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '{}', ?)
            """, arguments: [config.name, created ?? timestamp(), status.rawValue, config.teacherKind, config.teacherIdentity,
                             config.modelName, config.dropMode, config.syncModel, config.syncWeightsSHA256,
                             config.libavVersion, config.toolkitVersion])
        let run = RunID(db.lastInsertedRowID)
        try Schema.writeParameterColumns(db, run: run.rawValue, config.parameters)
        return run
    }

    /// Replaces a study's parameters (an import that learns the guidance or the sync model):
    /// the one place besides `insertRun` that writes them.
    static func updateParameters(_ db: Database, run: RunID, _ parameters: StudyParameters) throws {
        try Schema.writeParameterColumns(db, run: run.rawValue, parameters)
    }

    /// The stored record of a `runs` row. A row of a v1 file opened read-only (not migrated)
    /// has no `parameters_json`: its parameters are read from `config_json` as v2's migration would.
    static func runConfig(_ row: Row) -> StudyRecord {
        let parameters: StudyParameters
        if row.hasColumn("parameters_json"), let p = StudyParameters(json: row["parameters_json"]) {
            parameters = p
        } else {
            parameters = .legacy(configJSON: row["config_json"], teacherKind: row["teacher_kind"],
                                 teacherIdentity: row["teacher_identity"], modelName: row["model_name"],
                                 dropMode: row["drop_mode"], syncModel: row["sync_model"])
        }
        // The names come from the parameters (v2 writes the columns from them; a v1 row's
        // parameters already fell back on its columns, and may know more, e.g. a sync model
        // only its config_json named). StudyRecord's drop-mode setter reads `audio-only` as `audio`.
        func name(_ value: String?) -> String { value ?? "unknown" }
        return StudyRecord(name: row["name"], teacherKind: name(parameters.teacherKind), teacherIdentity: name(parameters.teacherIdentity),
                           modelName: name(parameters.modelName), dropMode: name(parameters.dropMode), syncModel: name(parameters.syncModel),
                           syncWeightsSHA256: row["sync_weights_sha256"], libavVersion: row["libav_version"],
                           parameters: parameters, toolkitVersion: row["toolkit_version"])
    }

    static func fetchSummaries(_ db: Database, only run: RunID? = nil) throws -> [RunSummary] {
        let rows = try Row.fetchAll(db, sql: """
            SELECT r.*,
              (SELECT count(*) FROM clips WHERE run = r.id) AS n_clips,
              (SELECT count(*) FROM arms WHERE run = r.id) AS n_arms,
              (SELECT count(*) FROM steps WHERE run = r.id) AS n_steps,
              (SELECT count(*) FROM units WHERE run = r.id AND status = 'done') AS n_done,
              (SELECT count(*) FROM units WHERE run = r.id AND status = 'failed') AS n_failed,
              (SELECT count(*) FROM measurements WHERE run = r.id) AS n_measurements
            FROM runs r \(run == nil ? "" : "WHERE r.id = \(run!.rawValue)") ORDER BY r.id
            """)
        return rows.map { row in
            RunSummary(id: RunID(row["id"]), config: runConfig(row),
                       status: RunStatus(rawValue: row["status"]) ?? .interrupted,
                       created: row["created"], finished: row["finished"],
                       clips: row["n_clips"], arms: row["n_arms"], steps: row["n_steps"],
                       doneUnits: row["n_done"], failedUnits: row["n_failed"], measurements: row["n_measurements"])
        }
    }

    /// UTC, second resolution, ISO 8601 (`2026-11-25T21:04:02Z`): sortable as text. Formatted by
    /// hand because it is stamped on every unit and a DateFormatter costs more than the insert.
    static func timestamp(_ date: Date = Date()) -> String {
        var seconds = time_t(date.timeIntervalSince1970.rounded(.down))
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func pad(_ v: Int32, _ width: Int) -> String {
            let s = String(v)
            return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
        }
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T"
            + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2))Z"
    }

    func checkWritable() throws {
        if isReadOnly { throw StoreError.readOnly(path: path) }
    }
}
