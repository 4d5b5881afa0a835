import Foundation
import GRDB
import Synthetic
import Testing
@testable import Store

@Suite struct SchemaTests {
    @Test func migrationsFromEmpty() throws {
        let dir = try TempDir()
        let url = dir.file("study.sqlite")
        let store = try StudyStore.create(at: url, config: SyntheticStudy.config)
        #expect(store.runID == RunID(1))
        let queue = try DatabaseQueue(path: url.path)
        try queue.read { db in
            let tables = Set(try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table'"))
            for table in ["runs", "clips", "arms", "steps", "measurements", "maps", "schedules", "units", "imports", "grdb_migrations"] {
                #expect(tables.contains(table), "missing table \(table)")
            }
            #expect(try Int.fetchOne(db, sql: "PRAGMA user_version") == 2)
            #expect(try Int32.fetchOne(db, sql: "PRAGMA application_id") == Schema.applicationID)
            #expect(try String.fetchOne(db, sql: "PRAGMA journal_mode") == "wal")
            #expect(try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations") == ["v1", "v2"])
            // Primary key on everything but the value.
            let pk = try Row.fetchAll(db, sql: "PRAGMA table_info(measurements)").filter { ($0["pk"] as Int) > 0 }.map { $0["name"] as String }
            #expect(Set(pk) == ["run", "arm", "clip", "step", "seed", "metric", "region"])
            let indexes = try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_%'")
            #expect(Set(indexes).isSuperset(of: ["clips_by_run", "arms_by_run"]))
        }
        let summary = try store.summary()
        #expect(summary.status == .running)
        #expect(summary.config == SyntheticStudy.config)
        #expect(summary.measurements == 0)
        // Foreign keys are on: a measurement for an unknown arm is refused by SQLite itself.
        #expect(throws: DatabaseError.self) {
            try store.db.write { db in
                try db.execute(sql: "INSERT INTO measurements VALUES (1, 42, 42, 0, 0, 'ssim', 'mouth', 0.5, NULL)")
            }
        }
    }

    @Test func createTwiceAndResume() throws {
        let dir = try TempDir()
        let url = dir.file("study.sqlite")
        _ = try StudyStore.create(at: url, config: SyntheticStudy.config)
        expectStoreError({ _ = try StudyStore.create(at: url, config: SyntheticStudy.config) }) {
            if case .studyExists(_, "synthetic") = $0 { return true } else { return false }
        }
        let resumed = try StudyStore.openOrCreate(at: url, config: SyntheticStudy.config)
        #expect(resumed.runID == RunID(1))
        var other = SyntheticStudy.config
        other.dropMode = "text+audio"
        expectStoreError({ _ = try StudyStore.openOrCreate(at: url, config: other) }) {
            if case let .configMismatch(_, _, fields) = $0 { return fields == ["drop mode 'audio' vs 'text+audio'"] } else { return false }
        }
        // A second study in the same file makes `open` without a name ambiguous.
        other.name = "second"
        _ = try StudyStore.create(at: url, config: other)
        expectStoreError({ _ = try StudyStore.open(at: url) }) {
            if case let .ambiguousStudy(_, names) = $0 { return names == ["synthetic", "second"] } else { return false }
        }
        #expect(try StudyStore.open(at: url, study: "second").config == other)
        expectStoreError({ _ = try StudyStore.open(at: url, study: "third") }) {
            if case let .noSuchStudy(_, "third", names) = $0 { return names == ["synthetic", "second"] } else { return false }
        }
    }

    @Test func refusesForeignFiles() throws {
        let dir = try TempDir()
        let text = dir.file("notes.sqlite")
        try Data("step,t,sample\n1,2,3\n".utf8).write(to: text)
        expectStoreError({ _ = try StudyStore.open(at: text) }) {
            if case let .notAStudy(_, problem) = $0 { return problem == "not an SQLite database" } else { return false }
        }
        expectStoreError({ _ = try StudyStore.create(at: text, config: SyntheticStudy.config) }) {
            if case .notAStudy = $0 { return true } else { return false }
        }
        // Another application's SQLite file: refused, and left byte for byte as it was.
        let foreign = dir.file("other.sqlite")
        try DatabaseQueue(path: foreign.path).write { db in try db.execute(sql: "CREATE TABLE players (id INTEGER PRIMARY KEY, name TEXT)") }
        let before = try Data(contentsOf: foreign)
        expectStoreError({ _ = try StudyStore.create(at: foreign, config: SyntheticStudy.config) }) {
            if case let .notAStudy(_, problem) = $0 { return problem.contains("players") } else { return false }
        }
        expectStoreError({ _ = try StudyStore.open(at: foreign, readOnly: true) }) {
            if case .notAStudy = $0 { return true } else { return false }
        }
        #expect(try Data(contentsOf: foreign) == before)
        expectStoreError({ _ = try StudyStore.open(at: dir.file("absent.sqlite"), readOnly: true) }) {
            if case .missing = $0 { return true } else { return false }
        }
        #expect(!FileManager.default.fileExists(atPath: dir.file("absent.sqlite").path))
    }

    @Test func refusesNewerSchema() throws {
        let dir = try TempDir()
        let url = dir.file("study.sqlite")
        _ = try StudyStore.create(at: url, config: SyntheticStudy.config)
        try DatabaseQueue(path: url.path).write { db in
            try db.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('v3')")
            try db.execute(sql: "PRAGMA user_version = 3")
        }
        for readOnly in [true, false] {
            expectStoreError({ _ = try StudyStore.open(at: url, readOnly: readOnly) }) {
                if case let .newerSchema(_, found, supported) = $0 { return found == 3 && supported == 2 } else { return false }
            }
        }
    }

    @Test func readOnlyNeverModifies() throws {
        let dir = try TempDir()
        let url = dir.file("study.sqlite")
        do {
            let store = try StudyStore.create(at: url, config: SyntheticStudy.config)
            let reg = try SyntheticStudy.register(store, clips: 2, arms: 2, steps: 3)
            try store.writeUnit(SyntheticStudy.unit(reg, clip: 0, arm: 0, step: 1, seed: 0))
        }
        let before = try Data(contentsOf: url)
        let store = try StudyStore.open(at: url, readOnly: true)
        #expect(store.isReadOnly)
        #expect(try store.summary().measurements == 16)
        _ = try store.snapshot()
        _ = try store.exportCSV(arm: ArmID(1))
        expectStoreError({ try store.setStatus(.finished) }) { if case .readOnly = $0 { return true } else { return false } }
        expectStoreError({ _ = try store.registerClip(ClipSpec(name: "new")) }) { if case .readOnly = $0 { return true } else { return false } }
        #expect(try Data(contentsOf: url) == before)
        #expect(try StudyStore.listRuns(at: url).map(\.clips) == [2])
    }
}
