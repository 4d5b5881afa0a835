import Foundation
import GRDB
import Synthetic
import Testing
@testable import Store

/// The committed registry fixture (tools/fixtures/registry_fixture.py): three models, two drop
/// modes, flow mappings, knob words, metric rules, results-only entries, comparisons.
enum RegistryFixture {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/registry")
    static let yaml = root.appendingPathComponent("configs/registry.yaml")
    static let knobs: [String: GuidanceValue] = ["on": .pair(text: 5, audio: 4), "noaudio": .pair(text: 5, audio: 1)]

    static func expected() throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: root.appendingPathComponent("expected.json"))) as? [String: Any])
    }

    static func settings(_ db: URL, _ study: String) throws -> StudyParameters {
        try StudyStore.open(at: db, readOnly: true, study: study).config.parameters
    }
}

@Suite struct RegistryTests {
    static func csv(_ rows: [(Int, String, Double)]) -> String {
        "step,t,sample,metric,region,value\n" + rows.map { step, sample, v in
            "\(step),\(step == -1 ? "gt" : String(SyntheticStudy.steps(50)[step].t)),\(sample),sync_c,face,\(v)"
        }.joined(separator: "\n") + "\n"
    }

    // MARK: - The fixture, as written

    @Test func fixtureImportsAsWritten() throws {
        let dir = try TempDir()
        let db = dir.file("all.sqlite")
        let expected = try RegistryFixture.expected()
        let summary = try StudyStore.importRegistry(RegistryFixture.yaml, into: db, options: RegistryImportOptions(knobs: RegistryFixture.knobs))
        #expect(summary.studies == ["omniavatar text+audio", "omniavatar audio", "omniavatar", "latentsync", "infinitetalk"])
        #expect(summary.skipped.map(\.id) == expected["skipped"] as? [String])
        #expect(summary.skipped.first?.reason.contains("status 'pending'") == true)
        let rows = try #require(expected["rows"] as? [String: Int])
        #expect(summary.files.count == rows.count)
        #expect(summary.files.map(\.rows).reduce(0, +) == rows.values.reduce(0, +))
        #expect(summary.files.allSatisfy { $0.clips == 3 })
        // The one spatial file is relative to configs/, the rest to the folder above it: both said.
        #expect(summary.notes.contains { $0.hasPrefix("csv paths resolved against") && $0.contains("Fixtures/registry/configs") })
        #expect(summary.notes.contains { $0.contains("'omni_ta_schedule25'") && $0.contains("4.5") && $0.contains("scheduled_cfg tau=25 w=4.5") })
        // InfiniteTalk's and LatentSync's scripts write integer timesteps: kept, and said.
        #expect(summary.notes.filter { $0.contains("integer timesteps") }.map { $0.prefix(20) } == ["study 'latentsync': ", "study 'infinitetalk'"])

        let runs = try StudyStore.listRuns(at: db)
        #expect(runs.map(\.config.dropMode) == ["text+audio", "audio", "unknown", "unknown", "unknown"])
        #expect(runs.map(\.arms) == [8, 3, 1, 4, 6])
        #expect(runs.allSatisfy { $0.status == .imported && $0.config.teacherKind == "imported" })

        func labels(_ study: String) throws -> [String] { try StudyStore.open(at: db, readOnly: true, study: study).arms().map(\.label) }
        #expect(try labels("omniavatar text+audio") == [
            "euler_jump s0=1 s1=1", "euler_jump s0=1 s1=4.5", "euler_jump s0=4.5 s1=1", "euler_jump s0=4.5 s1=4.5",
            "fresh_noise w=4.5", "scheduled_cfg tau=25 w=4.5", "trajectory w=1", "trajectory w=4.5"])
        #expect(try labels("omniavatar audio") == ["euler_jump s0=1 s1=1", "euler_jump s0=1 s1=4.5", "trajectory w=4.5"])
        #expect(try labels("omniavatar") == ["spatial id=omni_spatial_fresh"])
        // Results-only: knobs when the entry states them, else the id; never a guessed scale.
        #expect(try labels("latentsync") == ["euler_jump id=ls_euler_on_on", "fresh_noise w=1.5", "trajectory id=ls_default", "trajectory id=ls_nocfg"])
        #expect(try labels("infinitetalk") == [
            "euler_jump s0a=1 s0t=1 s1a=1 s1t=1", "euler_jump s0a=1 s0t=1 s1a=4 s1t=5", "euler_jump s0a=1 s0t=5 s1a=4 s1t=5",
            "euler_jump s0a=4 s0t=5 s1a=4 s1t=5", "trajectory sa=1 st=1", "trajectory sa=4 st=5"])

        let ta = try RegistryFixture.settings(db, "omniavatar text+audio")
        #expect(ta.source == "registry")
        #expect(ta.guidance == .single(4.5))
        #expect(ta.guidanceSource?.contains("omni_ta_euler_on_on") == true)
        #expect(ta.metricRules?["sync_c"] == "face_value")
        #expect(ta.metricRules?["pixel_mse"] == "normalized_only")
        #expect(ta.metricRules?["noise_floor"] == "diagnostic_only")
        #expect(ta.metricRules?.count == 10)
        #expect(ta.preprocessing == .object(["resolution": .number(512), "crop": .string("pre-aligned latentsync crop"), "mask": .string("latentsync_png"),
                                             "regions": .array([.string("mouth"), .string("upper_face"), .string("full")]), "gt_row": .number(-1)]))
        #expect(ta.baseline == ["trajectory w=4.5": "trajectory w=1", "euler_jump s0=4.5 s1=4.5": "euler_jump s0=1 s1=1",
                                "euler_jump s0=1 s1=4.5": "euler_jump s0=1 s1=1", "euler_jump s0=4.5 s1=1": "euler_jump s0=1 s1=1"])
        #expect(ta.experiments?["omni_ta_schedule25"] == "scheduled_cfg tau=25 w=4.5")
        #expect(ta.experiments?.count == 8)
        #expect(ta.registrySchemaVersion == 1)
        #expect(ta.syncModel == nil)
        #expect(ta.comparisons?["default_trajectory"] == [
            "omniavatar": .init(study: "omniavatar text+audio", arm: "trajectory w=4.5"),
            "infinitetalk": .init(study: "infinitetalk", arm: "trajectory sa=4 st=5")])
        #expect(ta.comparisons?.keys.sorted() == ["default_trajectory", "euler_nocfg_nocfg", "euler_nocfg_on"])
        #expect(try RegistryFixture.settings(db, "omniavatar audio").guidance == .single(4.5))
        // A study of results only takes its model's scale (the other studies').
        #expect(try RegistryFixture.settings(db, "omniavatar").guidance == .single(4.5))
        #expect(try RegistryFixture.settings(db, "omniavatar").resultsOnly == ["spatial id=omni_spatial_fresh"])
        let it = try RegistryFixture.settings(db, "infinitetalk")
        #expect(it.guidance == .pair(text: 5, audio: 4))
        #expect(it.guidanceScale == nil && it.guidanceText == 5 && it.guidanceAudio == 4)
        #expect(it.preprocessing.map { "\($0)" }?.contains("\"resolution\":640") == true)
        let ls = try RegistryFixture.settings(db, "latentsync")
        #expect(ls.resultsOnly == ["euler_jump id=ls_euler_on_on", "fresh_noise w=1.5", "trajectory id=ls_default", "trajectory id=ls_nocfg"])
        #expect(ls.experiments?["ls_euler_on_on"] == "euler_jump id=ls_euler_on_on")

        // Baseline flags on the arms themselves.
        let taArms = try StudyStore.open(at: db, readOnly: true, study: "omniavatar text+audio").arms()
        #expect(taArms.first { $0.label == "trajectory w=1" }?.isBaseline == true)
        #expect(taArms.first { $0.label == "trajectory w=4.5" }?.baselineLabel == "trajectory w=1")
        #expect(taArms.first { $0.label == "fresh_noise w=4.5" }?.baselineLabel == nil)

        // The same registry again: nothing new, nothing refused.
        let again = try StudyStore.importRegistry(RegistryFixture.yaml, into: db, options: RegistryImportOptions(knobs: RegistryFixture.knobs))
        #expect(again.files.map(\.written).reduce(0, +) == 0)
        #expect(try RegistryFixture.settings(db, "omniavatar text+audio") == ta)
    }

    @Test func undefinedKnobWordIsRefusedNamingItTheExperimentAndTheFlag() throws {
        let dir = try TempDir()
        let db = dir.file("none.sqlite")
        expectStoreError({ try StudyStore.importRegistry(RegistryFixture.yaml, into: db) }) {
            guard case let .malformedRegistry(_, problem) = $0 else { return false }
            return problem == "experiment 'it_euler_on_on': knob word 'on' is not defined by the registry: give --knob on='text=T,audio=A'"
        }
        #expect(!FileManager.default.fileExists(atPath: db.path))
        expectStoreError({ try StudyStore.importRegistry(RegistryFixture.yaml, into: db, options: RegistryImportOptions(knobs: ["on": .pair(text: 5, audio: 4)])) }) {
            guard case let .malformedRegistry(_, problem) = $0 else { return false }
            return problem.hasPrefix("experiment 'it_euler_noaudio_on': knob word 'noaudio'")
        }
        // One scale for a two-scale teacher.
        expectStoreError({ try StudyStore.importRegistry(RegistryFixture.yaml, into: db, options: RegistryImportOptions(knobs: ["on": .single(4.5), "noaudio": .single(1)])) }) {
            guard case let .malformedRegistry(_, problem) = $0 else { return false }
            return problem.contains("--knob on=4.5 is one scale but model 'infinitetalk' has two scales (text, audio)")
        }
        #expect(!FileManager.default.fileExists(atPath: db.path))
    }

    // MARK: - Reading rules

    @Test(arguments: [("cfg45", 4.5), ("cfg15", 1.5), ("cfg3", 3), ("cfg10", 1), ("cfg4.5", 4.5), ("CFG60", 6)])
    func cfgWordsAreScales(word: String, scale: Double) {
        #expect(RegistryReader.cfgWord(word) == scale)
    }

    @Test func otherWordsAreNotScales() {
        for w in ["cfg", "cfgx", "on", "nocfg", "cfg4,5"] { #expect(RegistryReader.cfgWord(w) == nil, "\(w)") }
    }

    @Test func guidanceValuesParse() throws {
        #expect(try GuidanceValue(parsing: "4.5") == .single(4.5))
        #expect(try GuidanceValue(parsing: "text=5,audio=4") == .pair(text: 5, audio: 4))
        #expect(try GuidanceValue(parsing: "audio=4 text=5") == .pair(text: 5, audio: 4))
        #expect(GuidanceValue.pair(text: 1, audio: 1).isUnguided && GuidanceValue.single(1).isUnguided && !GuidanceValue.pair(text: 5, audio: 1).isUnguided)
        for bad in ["", "on", "text=5", "text=5,audio=x", "text=5,audio=4,text=2", "-1", "nan"] {
            #expect(throws: ProvenanceParseError.self, "\(bad)") { try GuidanceValue(parsing: bad) }
        }
    }

    @Test func pathsAreTriedFromTheYAMLFolderUpToTheRepositoryRoot() throws {
        let dir = try TempDir()
        let fm = FileManager.default
        for d in ["repo/.git", "repo/configs/results", "repo/results", "elsewhere"] {
            try fm.createDirectory(at: dir.file(d), withIntermediateDirectories: true)
        }
        let rows = Self.csv([(-1, "c1", 8), (30, "c1", 6.5), (30, "c2", 6.0)])
        try Data(rows.utf8).write(to: dir.file("repo/results/root.csv"))
        try Data(rows.utf8).write(to: dir.file("repo/results/both.csv"))
        try Data(rows.utf8).write(to: dir.file("repo/configs/results/both.csv"))
        try Data(rows.utf8).write(to: dir.file("results.csv"))   // above the repository root: never looked at
        let yaml = dir.file("repo/configs/registry.yaml")
        try Data("""
            experiments:
              - {id: a, model: m, family: fresh_noise, guidance: {cfg: 2}, csv: results/root.csv}
              - {id: b, model: m, family: fresh_noise, guidance: {cfg: 1}, csv: results/both.csv}
            """.utf8).write(to: yaml)
        let reg = try StudyStore.parseRegistry(yaml)
        #expect(reg.entries.map { $0.csv.path } == [dir.file("repo/results/root.csv").path, dir.file("repo/configs/results/both.csv").path])
        #expect(reg.notes.contains { $0.hasPrefix("experiment 'b': 'results/both.csv' exists under") && $0.hasSuffix("used \(dir.file("repo/configs").standardizedFileURL.path)") })
        #expect(reg.notes.contains { $0.hasPrefix("csv paths resolved against") })

        try Data("- {id: c, model: m, family: fresh_noise, guidance: 2, csv: results.csv}\n".utf8).write(to: yaml)
        expectStoreError({ _ = try StudyStore.parseRegistry(yaml) }) {
            guard case let .malformedRegistry(_, problem) = $0 else { return false }
            return problem.hasPrefix("experiment 'c': csv 'results.csv' not found (looked in ") && !problem.contains(dir.url.standardizedFileURL.path + ",")
        }
        // Not yet committed: skipped, not an error; status ok and missing: an error.
        try Data("""
            - {id: c, model: m, family: fresh_noise, guidance: 2, status: running, csv: results/later.csv}
            - {id: d, model: m, family: fresh_noise, guidance: 1, csv: results/root.csv}
            """.utf8).write(to: yaml)
        let partial = try StudyStore.parseRegistry(yaml)
        #expect(partial.skipped.map(\.id) == ["c"])
        #expect(partial.entries.map(\.id) == ["d"])
        try Data("- {id: c, model: m, family: fresh_noise, guidance: 2, status: ok, csv: results/later.csv}\n".utf8).write(to: yaml)
        #expect(throws: StoreError.self) { try StudyStore.parseRegistry(yaml) }
    }

    @Test func resultsOnlyEntriesNeverBorrowAScale() throws {
        let dir = try TempDir()
        try Data(Self.csv([(-1, "c1", 8), (30, "c1", 6.5)]).utf8).write(to: dir.file("a.csv"))
        let yaml = dir.file("r.yaml")
        try Data("""
            experiments:
              - {id: ej, model: m, family: euler_jump, knobs: {step0: nocfg, teacher: cfg45}, csv: a.csv}
              - {id: sched, model: m, family: scheduled_cfg, knobs: {tau: 25}, csv: a.csv}
              - {id: sched_ro, model: m, family: scheduled_cfg, knobs: {tau: 20}, results_only: true, csv: a.csv}
              - {id: ej_ro, model: m, family: euler_jump, guidance: {cfg: 4.5}, results_only: true, csv: a.csv}
              - {id: traj_ro, model: m, family: trajectory, guidance: {cfg: 3}, results_only: true, csv: a.csv}
            """.utf8).write(to: yaml)
        let reg = try StudyStore.parseRegistry(yaml)
        #expect(reg.entries.map(\.arm.label) == ["euler_jump s0=1 s1=4.5", "scheduled_cfg tau=25 w=4.5", "scheduled_cfg tau=20 id=sched_ro",
                                                 "euler_jump id=ej_ro", "trajectory w=3"])
        #expect(reg.studies.map(\.name) == ["m"])
        #expect(reg.studies[0].settings.guidance == .single(4.5))
        // Without a scale anywhere, a scheduled_cfg with only tau is refused, naming the fix.
        try Data("- {id: s, model: m, family: scheduled_cfg, knobs: {tau: 25}, csv: a.csv}\n".utf8).write(to: yaml)
        expectStoreError({ _ = try StudyStore.parseRegistry(yaml) }) {
            guard case let .malformedRegistry(_, problem) = $0 else { return false }
            return problem.hasPrefix("experiment 's': scheduled_cfg gives only tau and the CFG scale of study 'm' is not known")
        }
    }

    @Test func severalScalesLeaveTheTeacherScaleUnknownAndSaySo() throws {
        let dir = try TempDir()
        try Data(Self.csv([(-1, "c1", 8), (30, "c1", 6.5)]).utf8).write(to: dir.file("a.csv"))
        let yaml = dir.file("r.yaml")
        try Data("""
            experiments:
              - {id: f3, model: m, family: fresh_noise, guidance: {cfg: 3}, csv: a.csv}
              - {id: f6, model: m, family: fresh_noise, guidance: {cfg: 6}, csv: a.csv}
            """.utf8).write(to: yaml)
        let reg = try StudyStore.parseRegistry(yaml)
        #expect(reg.studies[0].settings.guidance == nil)
        #expect(reg.notes.contains { $0.contains("several CFG scales (3; 6)") && $0.contains("models.m") })
        // The model's own guidance: states it.
        try Data("""
            models: {m: {guidance: {cfg: 6}}}
            experiments:
              - {id: f3, model: m, family: fresh_noise, guidance: {cfg: 3}, csv: a.csv}
              - {id: f6, model: m, family: fresh_noise, guidance: {cfg: 6}, csv: a.csv}
            """.utf8).write(to: yaml)
        #expect(try StudyStore.parseRegistry(yaml).studies[0].settings.guidance == .single(6))
    }

    // MARK: - Sync provenance

    @Test func syncModelIsRecordedFromTheFlagOrTheRegistry() throws {
        let dir = try TempDir()
        try Data(Self.csv([(-1, "c1", 8), (30, "c1", 6.5)]).utf8).write(to: dir.file("a.csv"))
        let yaml = dir.file("r.yaml")
        try Data("- {id: a, model: m, family: fresh_noise, guidance: 4.5, drop: text+audio, csv: a.csv}\n".utf8).write(to: yaml)
        let db = dir.file("s.sqlite")
        let sync = try SyncProvenance(model: "syncnet-v2", preset: "syncnet_python")
        try StudyStore.importRegistry(yaml, into: db, options: RegistryImportOptions(sync: sync))
        let store = try StudyStore.open(at: db, readOnly: true, study: "m text+audio")
        #expect(store.config.syncModel == "syncnet-v2")
        #expect(store.config.parameters.sync == sync)
        #expect(store.config.parameters.syncPreset == "syncnet_python")

        // A registry key, top level or per model; a flag that disagrees is refused.
        try Data("""
            sync_model: facesync-cca
            models: {m: {sync_model: syncnet-v2, sync_preset: lipforcing-reward}}
            experiments:
              - {id: a, model: m, family: fresh_noise, guidance: 4.5, csv: a.csv}
              - {id: b, model: n, family: fresh_noise, guidance: 4.5, csv: a.csv}
            """.utf8).write(to: yaml)
        let reg = try StudyStore.parseRegistry(yaml)
        #expect(reg.studies.map { $0.settings.sync } == [try SyncProvenance(model: "syncnet-v2", preset: "lipforcing-reward"),
                                                          try SyncProvenance(model: "facesync-cca", preset: nil)])
        expectStoreError({ _ = try StudyStore.parseRegistry(yaml, options: RegistryImportOptions(sync: sync)) }) {
            guard case let .malformedRegistry(_, problem) = $0 else { return false }
            return problem.hasPrefix("study 'm': the registry says sync model syncnet-v2 (lipforcing-reward), the flags say syncnet-v2 (syncnet_python)")
        }
        try Data("sync_model: syncnet\nexperiments: [{id: a, model: m, family: fresh_noise, guidance: 4.5, csv: a.csv}]\n".utf8).write(to: yaml)
        expectStoreError({ _ = try StudyStore.parseRegistry(yaml) }) {
            guard case let .malformedRegistry(_, problem) = $0 else { return false }
            return problem.contains("unknown sync model")
        }
        #expect(throws: ProvenanceParseError.self) { try SyncProvenance(model: "facesync-cca", preset: "syncnet_python") }
        #expect(throws: ProvenanceParseError.self) { try SyncProvenance(model: nil, preset: "syncnet-python") }
        #expect(try SyncProvenance(model: nil, preset: "lipforcing-reward").model == "syncnet-v2")
    }

    @Test func csvImportRecordsGuidanceAndSync() throws {
        let dir = try TempDir()
        let db = dir.file("c.sqlite")
        let (store, notes) = try StudyStore.openForImport(at: db, study: nil, model: "infinitetalk", drop: nil,
                                                          guidance: .pair(text: 5, audio: 4), sync: nil)
        #expect(notes.isEmpty)
        #expect(store.config.name == "infinitetalk")
        #expect(store.config.syncModel == "unknown")
        let p = store.config.parameters
        #expect(p.guidance == .pair(text: 5, audio: 4) && p.guidanceScale == nil)
        #expect(p.guidanceSource == "import csv --guidance" && p.source == "long-csv")
        #expect(p.syncModel == nil && p.syncPreset == nil && p.numSteps == nil && p.cfgForm == nil)
        #expect(p.teacherKind == "imported" && p.modelName == "infinitetalk")
        // Saying the sync model later records it; saying another guidance is refused.
        let sync = try SyncProvenance(model: "syncnet-v2", preset: "syncnet_python")
        let (again, notes2) = try StudyStore.openForImport(at: db, study: nil, model: "infinitetalk", drop: nil, sync: sync)
        #expect(notes2 == ["study 'infinitetalk': sync model recorded as syncnet-v2 (was unknown)"])
        #expect(again.config.syncModel == "syncnet-v2")
        #expect(try StudyStore.open(at: db, readOnly: true).config.syncModel == "syncnet-v2")
        expectStoreError({ _ = try StudyStore.openForImport(at: db, study: nil, model: "infinitetalk", drop: nil, guidance: .pair(text: 5, audio: 6)) }) {
            guard case let .configMismatch(_, study, fields) = $0 else { return false }
            return study == "infinitetalk" && fields == ["guidance_audio 4.0 vs 6.0"]
        }
        expectStoreError({ _ = try StudyStore.openForImport(at: db, study: nil, model: "infinitetalk", drop: nil, sync: try SyncProvenance(model: "facesync-cca", preset: nil)) }) {
            guard case let .configMismatch(_, _, fields) = $0 else { return false }
            return fields.contains("sync_model syncnet-v2 vs facesync-cca")
        }
    }

    // MARK: - Arms named by their id

    @Test func taggedArmsRoundTrip() throws {
        let spec = ArmSpec(family: .eulerJump, tag: "ls_euler_on_on")
        #expect(spec.label == "euler_jump id=ls_euler_on_on")
        #expect(try ArmSpec(parsing: spec.label) == spec)
        #expect(try ArmSpec(parsing: "scheduled_cfg tau=20 id=x.1+b").label == "scheduled_cfg tau=20 id=x.1+b")
        #expect(spec != ArmSpec(family: .eulerJump))
        #expect(throws: ArmParseError.self) { try ArmSpec(parsing: "euler_jump id=a id=b") }
        #expect(throws: ArmParseError.self) { try ArmSpec(parsing: "euler_jump id=") }
        let dir = try TempDir()
        let store = try StudyStore.create(at: dir.file("t.sqlite"), config: SyntheticStudy.config)
        try store.registerArm(spec)
        #expect(try store.arms().map(\.spec) == [spec])
    }

    // MARK: - The older flat form

    @Test func flatRegistryMakesOneStudyPerModelAndDropMode() throws {
        let dir = try TempDir()
        try FileManager.default.createDirectory(at: dir.file("results"), withIntermediateDirectories: true)
        try Data(Self.csv([(-1, "c1", 8), (30, "c1", 6.5), (30, "c2", 6.0)]).utf8).write(to: dir.file("results/ej45.csv"))
        try Data(Self.csv([(-1, "c1", 8), (30, "c1", 6.0), (30, "c2", 5.0)]).utf8).write(to: dir.file("results/ej11.csv"))
        try Data(Self.csv([(20, "c1", 4.0)]).utf8).write(to: dir.file("results/it.csv"))
        let yaml = """
            experiments:
              - id: omni_ej_1_45
                model: omniavatar-14b
                family: euler_jump
                guidance: [1, 4.5]
                drop: text+audio
                baseline: omni_ej_1_1
                csv: results/ej45.csv
              - id: omni_ej_1_1
                model: omniavatar-14b
                family: euler-jump
                knobs: {s0: 1, s1: 1}
                drop: text+audio
                baseline: true
                csv: results/ej11.csv
              - id: it_fresh
                model: infinitetalk
                family: fresh_noise
                guidance: 4
                csv: results/it.csv
            """
        let registry = dir.file("registry.yaml")
        try Data(yaml.utf8).write(to: registry)
        let db = dir.file("imported.sqlite")
        let summary = try StudyStore.importRegistry(registry, into: db)
        #expect(summary.studies == ["omniavatar-14b text+audio", "infinitetalk"])
        #expect(summary.files.map(\.rows) == [3, 3, 1])
        let runs = try StudyStore.listRuns(at: db)
        #expect(runs.map(\.name) == ["omniavatar-14b text+audio", "infinitetalk"])
        #expect(runs.map(\.status) == [.imported, .imported])
        #expect(runs.map(\.config.dropMode) == ["text+audio", "unknown"])
        #expect(runs.map(\.arms) == [2, 1])
        let omni = try StudyStore.open(at: db, readOnly: true, study: "omniavatar-14b text+audio")
        let arms = try omni.arms()
        #expect(arms.map(\.label) == ["euler_jump s0=1 s1=1", "euler_jump s0=1 s1=4.5"])
        #expect(arms.map(\.isBaseline) == [true, false])
        #expect(arms.map(\.baselineLabel) == [nil, "euler_jump s0=1 s1=1"])
        let pairs = try omni.pairedValues(arms[1].id, arms[0].id, step: 30, metric: "sync_c", region: "face")
        #expect(pairs.map { $0.a - $0.b } == [0.5, 1.0])
        #expect(try StudyStore.open(at: db, readOnly: true, study: "infinitetalk").arms().map(\.label) == ["fresh_noise w=4"])

        // A malformed CSV anywhere in the registry: nothing is imported, not even the good files.
        try Data("step,t,sample,metric,region,value\n30,0.768935,c1,sync_c,face,six\n".utf8).write(to: dir.file("results/bad.csv"))
        let badYAML = dir.file("bad.yaml")
        try Data("- {id: a, model: newmodel, family: trajectory, guidance: 2, csv: results/ej45.csv}\n- {id: b, model: newmodel, family: trajectory, guidance: 1, csv: results/bad.csv}\n".utf8).write(to: badYAML)
        expectStoreError({ try StudyStore.importRegistry(badYAML, into: db) }) {
            if case let .malformedCSV(path, 2, _) = $0 { return path.hasSuffix("bad.csv") } else { return false }
        }
        #expect(try StudyStore.listRuns(at: db).count == 2)
        // Registry-level mistakes name the experiment.
        let noKnobs = dir.file("noknobs.yaml")
        try Data("- {id: x, model: m, family: euler_jump, guidance: 4.5, csv: results/ej45.csv}\n".utf8).write(to: noKnobs)
        expectStoreError({ try StudyStore.importRegistry(noKnobs, into: db) }) {
            if case let .malformedRegistry(_, problem) = $0 { return problem.hasPrefix("experiment 'x': euler_jump needs two scales") } else { return false }
        }
    }
}
