import Foundation
import GRDB
import Synthetic
import Testing
@testable import Store

/// Issue 16's Store repros (D6, D8, D11): each asserts the exact one-line error or the corrected
/// behaviour, and that nothing already stored changed.
@Suite struct HostileInputTests {
    // MARK: - D6: databases the user may only read

    /// Runs `StoreHarness args` as a user that cannot write the test's files: `nobody` when the
    /// tests run as root (root writes anything), the current user otherwise.
    static func harnessAsReader(_ args: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        let harness = try CrashResumeTests.harness()
        if getuid() == 0 {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
            process.arguments = ["--reuid=65534", "--regid=65534", "--clear-groups", harness.path] + args
        } else {
            process.executableURL = harness
            process.arguments = args
        }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let out = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: out, as: UTF8.self).trimmingCharacters(in: .newlines))
    }

    static let canDropPrivileges = getuid() != 0 || FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv")

    /// A finished study of a few units; `checkpointed` folds the WAL into the file and removes it.
    func study(in dir: TempDir, name: String = "s.sqlite", checkpointed: Bool) throws -> URL {
        let url = dir.file(name)
        let store = try StudyStore.create(at: url, config: SyntheticStudy.config)
        let reg = try SyntheticStudy.register(store, clips: 2, arms: 2, steps: 2)
        for clip in 0..<2 { for arm in 0..<2 { for step in [gtStep, 0, 1] {
            try store.writeUnit(SyntheticStudy.unit(reg, clip: clip, arm: arm, step: step, seed: 0))
        } } }
        try store.setStatus(.finished)
        if checkpointed {
            try store.close()
        } else {
            // Leave the WAL in place, as a process killed after its last commit does.
            let copy = dir.file("wal-" + name)
            for suffix in ["", "-wal", "-shm"] where FileManager.default.fileExists(atPath: url.path + suffix) {
                try FileManager.default.copyItem(atPath: url.path + suffix, toPath: copy.path + suffix)
            }
            try store.close()
            return copy
        }
        return url
    }

    func bytes(_ url: URL) -> [String: Data] {
        var out: [String: Data] = [:]
        for suffix in ["", "-wal", "-shm"] { out[suffix] = FileManager.default.contents(atPath: url.path + suffix) }
        return out
    }

    /// Makes `dir` and the given files read-only; restores write permission when done so the
    /// temporary directory can be removed.
    func readOnly(_ dir: URL, files: [URL], _ body: () throws -> Void) rethrows {
        for f in files { chmod(f.path, 0o444) }
        chmod(dir.path, 0o555)
        defer {
            chmod(dir.path, 0o755)
            for f in files { chmod(f.path, 0o644) }
        }
        try body()
    }

    @Test(.enabled(if: canDropPrivileges, "needs /usr/bin/setpriv when run as root"))
    func readOnlyDatabaseOpensWithoutWriting() throws {
        let dir = try TempDir()
        let url = try study(in: dir, checkpointed: true)
        #expect(!FileManager.default.fileExists(atPath: url.path + "-wal"))
        let before = bytes(url)
        try readOnly(dir.url, files: [url]) {
            let r = try Self.harnessAsReader(["read", url.path])
            #expect(r.status == 0, "\(r.output)")
            #expect(r.output == "synthetic finished 12 0 192")
            let w = try Self.harnessAsReader(["check-writable", url.path])
            #expect(w.status == 1)
            #expect(w.output == "error: \(url.path) cannot be written: the file is read-only for this user.")
        }
        #expect(bytes(url) == before)
        #expect(!FileManager.default.fileExists(atPath: url.path + "-shm"))
    }

    @Test(.enabled(if: canDropPrivileges, "needs /usr/bin/setpriv when run as root"))
    func walDatabaseWithItsIndexOpensReadOnly() throws {
        let dir = try TempDir()
        let url = try study(in: dir, checkpointed: false)
        #expect(FileManager.default.fileExists(atPath: url.path + "-wal") && FileManager.default.fileExists(atPath: url.path + "-shm"))
        let before = bytes(url)
        try readOnly(dir.url, files: [url, URL(fileURLWithPath: url.path + "-wal"), URL(fileURLWithPath: url.path + "-shm")]) {
            let r = try Self.harnessAsReader(["read", url.path])
            #expect(r.status == 0, "\(r.output)")
            #expect(r.output == "synthetic finished 12 0 192")
        }
        #expect(bytes(url) == before)
    }

    @Test(.enabled(if: canDropPrivileges, "needs /usr/bin/setpriv when run as root"))
    func walDatabaseWithoutItsIndexIsRefusedNamingBothFiles() throws {
        let dir = try TempDir()
        let url = try study(in: dir, checkpointed: false)
        try FileManager.default.removeItem(atPath: url.path + "-shm")
        let walBytes = try #require(FileManager.default.attributesOfItem(atPath: url.path + "-wal")[.size] as? Int)
        let before = bytes(url)
        try readOnly(dir.url, files: [url, URL(fileURLWithPath: url.path + "-wal")]) {
            let r = try Self.harnessAsReader(["read", url.path])
            #expect(r.status == 1)
            #expect(r.output == "error: \(url.path): a WAL database whose \(url.path)-wal holds \(walBytes) bytes of changes, and "
                    + "\(url.path)-shm cannot be created or opened here (read-only directory): copy the database with its -wal file "
                    + "to a writable directory.")
        }
        #expect(bytes(url) == before)
    }

    @Test func writingCommandsCheckTheDatabaseFirst() throws {
        let dir = try TempDir()
        let text = dir.file("notes.db")
        try Data("not a database at all\n".utf8).write(to: text)
        expectStoreError({ try StudyStore.checkUsableForWriting(text) }) {
            $0.description == "\(text.path) is not a trajprobe study database: not an SQLite database."
        }
        let missingDir = dir.file("nowhere/s.sqlite")
        expectStoreError({ try StudyStore.checkUsableForWriting(missingDir) }) {
            $0.description == "\(missingDir.path) cannot be written: its directory \(dir.url.path)/nowhere does not exist."
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.url.path) == ["notes.db"])
        #expect(FileManager.default.contents(atPath: text.path) == Data("not a database at all\n".utf8))
    }

    // MARK: - D8: a refused import into a new database leaves nothing

    @Test func refusedRegistryLeavesNoNewDatabase() throws {
        let dir = try TempDir()
        try Data("step,t,sample,metric,region,value\n20,0.88,id0,ssim,full,0.9\n20,0.88,id0,ssim,full,oops\n".utf8)
            .write(to: dir.file("bad.csv"))
        try Data("experiments:\n  - {id: a, model: m, family: fresh_noise, guidance: 2, csv: bad.csv}\n".utf8).write(to: dir.file("r.yaml"))
        let db = dir.file("new.sqlite")
        expectStoreError({ try StudyStore.importRegistry(dir.file("r.yaml"), into: db) }) {
            $0.description == "\(dir.file("bad.csv").path):3: value 'oops' is not a number; nothing from this file was imported."
        }
        #expect(!FileManager.default.fileExists(atPath: db.path))
        // A conflict found inside the transaction (after the file was created) too.
        try Data("step,t,sample,metric,region,value\n20,0.88,id0,ssim,full,0.9\n".utf8).write(to: dir.file("a.csv"))
        try Data("step,t,sample,metric,region,value\n20,0.5,id0,ssim,full,0.9\n".utf8).write(to: dir.file("b.csv"))
        try Data("""
            experiments:
              - {id: a, model: m, family: fresh_noise, guidance: 2, csv: a.csv}
              - {id: b, model: m, family: fresh_noise, guidance: 3, csv: b.csv}

            """.utf8).write(to: dir.file("r2.yaml"))
        #expect(throws: StoreError.self) { try StudyStore.importRegistry(dir.file("r2.yaml"), into: db) }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.url.path).filter { $0.hasPrefix("new.sqlite") } == [])
    }

    // MARK: - Found by the registry fuzzer

    @Test(arguments: [
        // Yams' `load` force-unwrapped this non-scalar mapping key (SIGILL).
        ("- {{id: a,elinelArray fatrajectoryector},trajectory.csv}\n", "a mapping key that is not a string (line 1)"),
        ("experiments:\n  - ? [a, b]\n    : x\n", "a mapping key that is not a string (line 2)"),
        // Aliases nine deep, ten wide: 10^9 nodes from 200 bytes.
        ((["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"] + (1...9).map { "a\($0): &a\($0) [" + Array(repeating: "*a\($0 - 1)", count: 10).joined(separator: ", ") + "]" })
            .joined(separator: "\n") + "\n", "the YAML expands to more than 1,000,000 nodes (aliases?)"),
    ])
    func registryTreesYamsCannotReadAreRefused(yaml: String, problem: String) throws {
        let dir = try TempDir()
        let url = dir.file("r.yaml")
        try Data(yaml.utf8).write(to: url)
        #expect(throws: StoreError.malformedRegistry(path: url.path, problem: problem)) { try StudyStore.parseRegistry(url) }
    }

    @Test func yamlSyntaxErrorsStayOneLine() throws {
        let dir = try TempDir()
        let url = dir.file("r.yaml")
        try Data("experiments: [a, b\n  c: {\n".utf8).write(to: url)
        do {
            _ = try StudyStore.parseRegistry(url)
            Issue.record("accepted broken YAML")
        } catch let error as StoreError {
            #expect(!error.description.contains("\n") && error.description.hasPrefix("\(url.path): not YAML: "), "\(error)")
        }
    }

    @Test func discardNewRemovesOnlyWhatTheCommandCreated() throws {
        let dir = try TempDir()
        let url = dir.file("s.sqlite")
        let store = try StudyStore.create(at: url, config: StudyStore.importedConfig(name: "x", model: "m", drop: "audio"))
        StudyStore.discardNew(url, existedBefore: false, store: store)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.url.path) == [])
        let kept = try study(in: dir, checkpointed: true)
        let before = bytes(kept)
        StudyStore.discardNew(kept, existedBefore: true, store: nil)
        #expect(bytes(kept) == before)
    }

    // MARK: - D11: names, seeds, re-imports

    @Test func csvRefusesNULInNamesAndNegativeSeeds() throws {
        let dir = try TempDir()
        let url = dir.file("s.sqlite")
        let store = try StudyStore.create(at: url, config: StudyStore.importedConfig(name: "x", model: "m", drop: "audio"))
        try Data("step,t,sample,metric,region,value\n20,0.88,id0,ssim,full,0.5\n".utf8).write(to: dir.file("ok.csv"))
        try store.importCSV(dir.file("ok.csv"), arm: .freshNoise(w: 2))
        let before = try CanonicalStudy(store)

        try Data("step,t,sample,metric,region,value\n20,0.88,\"id0\u{0}c2\",ssim,full,0.9\n".utf8).write(to: dir.file("nul.csv"))
        expectStoreError({ try store.importCSV(dir.file("nul.csv"), arm: .freshNoise(w: 2)) }) {
            $0.description == "\(dir.file("nul.csv").path):2: sample 'id0\\0c2' contains the control character U+0000; nothing from this file was imported."
        }
        try Data("step,t,sample,metric,region,value,seed\n20,0.88,id0,ssim,full,0.9,-3\n".utf8).write(to: dir.file("neg.csv"))
        expectStoreError({ try store.importCSV(dir.file("neg.csv"), arm: .freshNoise(w: 2)) }) {
            $0.description == "\(dir.file("neg.csv").path):2: seed -3 is negative (seeds are non-negative, as in study files); nothing from this file was imported."
        }
        expectStoreError({ try store.registerClip(ClipSpec(name: "id0\u{0}c2")) }) {
            $0.description == "\(url.path): clip name 'id0\\0c2' is refused: it contains a NUL character."
        }
        #expect(try CanonicalStudy(store) == before)
    }

    @Test func aStudysOwnExportImportsBackUnchanged() throws {
        let dir = try TempDir()
        let url = dir.file("s.sqlite")
        let store = try StudyStore.create(at: url, config: SyntheticStudy.config)
        let reg = try SyntheticStudy.register(store, clips: 2, arms: 7, steps: 3)
        for clip in 0..<2 { for arm in 0..<7 { for step in [gtStep, 0, 1, 2] {
            try store.writeUnit(SyntheticStudy.unit(reg, clip: clip, arm: arm, step: step, seed: 0))
        } } }
        let before = try CanonicalStudy(store)
        #expect(!before.maps.isEmpty, "the synthetic study's spatial arm carries maps")
        let files = try store.exportCSV(to: dir.file("export"))
        #expect(files.count == 7)
        for file in files {
            let summary = try store.importCSV(file, arm: nil)
            #expect(summary.written == 0 && summary.unchanged == summary.units, "\(file.lastPathComponent)")
        }
        #expect(try CanonicalStudy(store) == before)
    }

    @Test func mergedShardsWithFailedUnitsAreIncomplete() throws {
        let dir = try TempDir()
        var shards: [URL] = []
        for (i, status) in [RunStatus.finished, .incomplete].enumerated() {
            let url = dir.file("shard\(i).sqlite")
            let store = try StudyStore.create(at: url, config: SyntheticStudy.config)
            let reg = try SyntheticStudy.register(store, clips: 2, arms: 1, steps: 1)
            try store.writeUnit(SyntheticStudy.unit(reg, clip: i, arm: 0, step: 0, seed: 0))
            if status == .incomplete { try store.markFailed(UnitKey(clip: reg.clips[0], arm: reg.arms[0], step: 0, seed: 0), reason: "teacher: down") }
            try store.setStatus(status)
            try store.close()
            shards.append(url)
        }
        try StudyStore.merge(shards: shards, into: dir.file("all.sqlite"))
        let runs = try StudyStore.listRuns(at: dir.file("all.sqlite"))
        #expect(runs.map(\.status) == [.incomplete])
    }
}
