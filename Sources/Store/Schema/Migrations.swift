import GRDB

/// The study schema, one GRDB migration per version. A shipped migration is never edited: a
/// change is a new "vN" appended here, and `supportedVersion` goes up with it.
enum Schema {
    // MARK: - Identity and migrator

    /// `PRAGMA application_id` of every trajprobe study ('TPRB'): how `open` tells a study from
    /// any other SQLite file.
    static let applicationID: Int32 = 0x5450_5242
    /// Schema version this code writes, mirrored in `PRAGMA user_version`.
    static let supportedVersion = 2

    /// Every migration in version order; GRDB applies only those a database has not recorded, so old
    /// studies open and are brought up to `supportedVersion`.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(sql: v1)
            try db.execute(sql: "PRAGMA application_id = \(applicationID)")
            try db.execute(sql: "PRAGMA user_version = 1")
        }
        migrator.registerMigration("v2") { db in try migrateV2(db) }
        return migrator
    }

    // MARK: - v2: typed study parameters

    /// v2. A study's parameters become typed (``StudyParameters``): the whole value in
    /// `parameters_json`, and real columns for what queries select on. Each v1 row's are read
    /// from its `config_json` and columns (``StudyParameters/legacy(configJSON:teacherKind:teacherIdentity:modelName:dropMode:syncModel:)``);
    /// `config_json` stays as the v1 record it was, and v2 rows write `{}` there.
    static func migrateV2(_ db: Database) throws {
        for column in v2Columns { try db.execute(sql: "ALTER TABLE runs ADD COLUMN \(column)") }
        for row in try Row.fetchAll(db, sql: "SELECT * FROM runs") {
            let p = StudyParameters.legacy(configJSON: row["config_json"], teacherKind: row["teacher_kind"],
                                           teacherIdentity: row["teacher_identity"], modelName: row["model_name"],
                                           dropMode: row["drop_mode"], syncModel: row["sync_model"])
            try writeParameterColumns(db, run: row["id"], p)
        }
        try db.execute(sql: "CREATE INDEX runs_by_model ON runs (model_name, num_steps, guidance_scale)")
        try db.execute(sql: "PRAGMA user_version = 2")
    }

    /// The columns v2 adds to `runs`.
    static let v2Columns = [
        "cfg_form TEXT", "num_steps INTEGER", "shift REAL", "max_t REAL", "guidance_scale REAL",
        "sync_preset TEXT", "lpips_weights_sha256 TEXT", "parameters_json TEXT NOT NULL DEFAULT '{}'",
    ]

    /// Writes `p` into run `run`'s v2 columns and the v1 columns that name the same things
    /// (`unknown` where `p` has nil: they are NOT NULL).
    static func writeParameterColumns(_ db: Database, run: Int64, _ p: StudyParameters) throws {
        try db.execute(sql: """
            UPDATE runs SET teacher_kind = ?, teacher_identity = ?, model_name = ?, drop_mode = ?, sync_model = ?,
                cfg_form = ?, num_steps = ?, shift = ?, max_t = ?, guidance_scale = ?, sync_preset = ?,
                lpips_weights_sha256 = ?, parameters_json = ?
            WHERE id = ?
            """, arguments: [p.teacherKind ?? "unknown", p.teacherIdentity ?? "unknown", p.modelName ?? "unknown",
                             p.dropMode ?? "unknown", p.syncModel ?? "unknown", p.cfgForm?.rawValue, p.numSteps, p.shift,
                             p.maxT, p.guidanceScale, p.syncPreset, p.lpipsWeightsSHA256, p.json(), run])
    }

    // MARK: - v1: the original schema

    /// v1. Measurements are keyed by everything but the value (a WITHOUT ROWID table: the primary
    /// key is the storage order). The order (run, arm, clip, seed, step, metric, region) follows
    /// how the probe writes: a clip's task walks each arm's trajectory step after step, so a unit
    /// lands next to the previous one and its transaction dirties one or two pages; with steps
    /// before clips (the report's read order) every unit split a page mid-tree and the benchmark
    /// wrote 30% slower. Reads of one arm scan that arm's key range. Units are the probe's
    /// bookkeeping; a unit is done only when its row says so, and that row is written in the
    /// same transaction as its measurements.
    static let v1 = """
        CREATE TABLE runs (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            created TEXT NOT NULL,
            finished TEXT,
            status TEXT NOT NULL,
            teacher_kind TEXT NOT NULL,
            teacher_identity TEXT NOT NULL,
            model_name TEXT NOT NULL,
            drop_mode TEXT NOT NULL,
            sync_model TEXT NOT NULL,
            sync_weights_sha256 TEXT,
            libav_version TEXT,
            config_json TEXT NOT NULL,
            toolkit_version TEXT NOT NULL
        );
        CREATE TABLE clips (
            id INTEGER PRIMARY KEY,
            run INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
            name TEXT NOT NULL,
            reference_path TEXT,
            audio_path TEXT,
            mask_path TEXT,
            reference_sha256 TEXT,
            audio_sha256 TEXT,
            mask_sha256 TEXT,
            frames INTEGER,
            fps REAL,
            mask TEXT,
            UNIQUE (run, name)
        );
        CREATE TABLE arms (
            id INTEGER PRIMARY KEY,
            run INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
            family TEXT NOT NULL,
            knobs_json TEXT NOT NULL,
            label TEXT NOT NULL,
            is_baseline INTEGER NOT NULL DEFAULT 0,
            baseline_label TEXT,
            UNIQUE (run, label)
        );
        CREATE TABLE steps (
            run INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
            j INTEGER NOT NULL,
            t REAL NOT NULL,
            PRIMARY KEY (run, j)
        ) WITHOUT ROWID;
        CREATE TABLE measurements (
            run INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
            arm INTEGER NOT NULL REFERENCES arms(id) ON DELETE CASCADE,
            clip INTEGER NOT NULL REFERENCES clips(id) ON DELETE CASCADE,
            step INTEGER NOT NULL,
            seed INTEGER NOT NULL,
            metric TEXT NOT NULL,
            region TEXT NOT NULL,
            value REAL,
            protocol TEXT,
            PRIMARY KEY (run, arm, clip, seed, step, metric, region)
        ) WITHOUT ROWID;
        CREATE TABLE maps (
            run INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
            arm INTEGER NOT NULL REFERENCES arms(id) ON DELETE CASCADE,
            clip INTEGER NOT NULL REFERENCES clips(id) ON DELETE CASCADE,
            step INTEGER NOT NULL,
            seed INTEGER NOT NULL,
            name TEXT NOT NULL,
            shape TEXT NOT NULL,
            dtype TEXT NOT NULL,
            data BLOB NOT NULL,
            PRIMARY KEY (run, arm, clip, seed, step, name)
        ) WITHOUT ROWID;
        CREATE TABLE schedules (
            run INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
            name TEXT NOT NULL,
            created TEXT NOT NULL,
            format TEXT NOT NULL,
            body TEXT NOT NULL,
            PRIMARY KEY (run, name)
        ) WITHOUT ROWID;
        CREATE TABLE units (
            run INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
            arm INTEGER NOT NULL REFERENCES arms(id) ON DELETE CASCADE,
            clip INTEGER NOT NULL REFERENCES clips(id) ON DELETE CASCADE,
            step INTEGER NOT NULL,
            seed INTEGER NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('done', 'failed')),
            reason TEXT,
            finished TEXT NOT NULL,
            PRIMARY KEY (run, arm, clip, seed, step)
        ) WITHOUT ROWID;
        CREATE TABLE imports (
            id INTEGER PRIMARY KEY,
            run INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
            arm INTEGER REFERENCES arms(id) ON DELETE CASCADE,
            path TEXT NOT NULL,
            sha256 TEXT NOT NULL,
            rows INTEGER NOT NULL,
            imported TEXT NOT NULL,
            source TEXT
        );
        CREATE INDEX clips_by_run ON clips (run);
        CREATE INDEX arms_by_run ON arms (run);
        """
}
