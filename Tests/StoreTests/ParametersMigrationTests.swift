import Foundation
import GRDB
import Testing
@testable import Store

/// Schema v2 (typed study parameters): a v1 database, made by running the v1 migration only and
/// holding `config_json` as v1 producers wrote it, opens read-only with the same values and
/// migrates to the v2 columns without losing any.
@Suite struct ParametersMigrationTests {
    /// What the v1 probe wrote (ProbeDriver.configJSON), what `import csv --guidance` wrote
    /// (ImportedSettings), and the v1 synthetic study's text.
    static let probeJSON = #"{"arms":["trajectory w=1","trajectory w=4.5"],"audio_features":"log energy dB","clips":["a","b (audio from a)"],"guidance_scale":4.5,"max_t":0.999,"metrics":["ssim","sync_c"],"num_steps":50,"resolution":32,"seeds":[0,1],"shift":5,"steps":[0,10,49],"sync_model":"facesync-cca","sync_preset":"25 fps","teacher":"Configuration(kappa: 4.0)"}"#
    static let csvJSON = #"{"guidance_audio":4,"guidance_source":"import csv --guidance","guidance_text":5,"source":"long-csv","sync_model":"syncnet-v2","sync_preset":"syncnet_python"}"#
    static let syntheticJSON = #"{"kappa":4,"steps":50}"#

    static func v1Database(_ url: URL) throws {
        let queue = try DatabaseQueue(path: url.path)
        try Schema.migrator.migrate(queue, upTo: "v1")
        try queue.write { db in
            let rows: [(String, String, String, String, String, String)] = [
                ("probe", "analytic", "analytic bank", "analytic-posterior-mean", "audio-only", probeJSON),
                ("csv", "imported", "infinitetalk", "infinitetalk", "unknown", csvJSON),
                ("synthetic", "analytic", "synthetic bank", "synthetic", "audio", syntheticJSON),
            ]
            for (name, kind, identity, model, drop, json) in rows {
                try db.execute(sql: """
                    INSERT INTO runs (name, created, status, teacher_kind, teacher_identity, model_name, drop_mode, sync_model,
                                      config_json, toolkit_version)
                    VALUES (?, '2026-11-01T00:00:00Z', 'finished', ?, ?, ?, ?, ?, ?, '0.1.0')
                    """, arguments: [name, kind, identity, model, drop, name == "probe" ? "facesync-cca" : "unknown", json])
            }
        }
        #expect(try queue.read { db in try Int.fetchOne(db, sql: "PRAGMA user_version") } == 1)
    }

    /// The typed values every reader must see for the three v1 rows, migrated or not.
    static func checkValues(_ url: URL, readOnly: Bool) throws {
        let probe = try StudyStore.open(at: url, readOnly: readOnly, study: "probe").config.parameters
        #expect(probe.numSteps == 50 && probe.shift == 5 && probe.maxT == 0.999)
        #expect(probe.guidanceScale == 4.5 && probe.guidanceText == nil)
        #expect(probe.probedSteps == [0, 10, 49] && probe.seeds == [0, 1] && probe.resolution == 32)
        #expect(probe.arms == ["trajectory w=1", "trajectory w=4.5"] && probe.metrics == ["ssim", "sync_c"])
        #expect(probe.syncModel == "facesync-cca" && probe.syncPreset == "25 fps")
        #expect(probe.teacherKind == "analytic" && probe.modelName == "analytic-posterior-mean" && probe.dropMode == "audio")
        #expect(probe.clips == ["a", "b (audio from a)"] && probe.audioFeatures == "log energy dB")
        // v1 did not record these: unknown, not defaulted.
        #expect(probe.cfgForm == nil && probe.lpipsWeightsSHA256 == nil && probe.teacherSettings == nil)

        let csv = try StudyStore.open(at: url, readOnly: readOnly, study: "csv").config.parameters
        #expect(csv.guidance == .pair(text: 5, audio: 4) && csv.guidanceScale == nil)
        #expect(csv.source == "long-csv" && csv.guidanceSource == "import csv --guidance")
        #expect(csv.numSteps == nil && csv.shift == nil && csv.maxT == nil && csv.dropMode == nil)
        // The v1 report read a sync model its column left unknown from config_json: so do the parameters.
        #expect(csv.sync == (try SyncProvenance(model: "syncnet-v2", preset: "syncnet_python")))
        #expect(try StudyStore.open(at: url, readOnly: readOnly, study: "csv").config.syncModel == "syncnet-v2")

        let synthetic = try StudyStore.open(at: url, readOnly: readOnly, study: "synthetic").config.parameters
        // `"steps": 50` is no list of probed steps: kept as written, like the unmapped kappa.
        #expect(synthetic.probedSteps == nil && synthetic.numSteps == nil)
        #expect(synthetic.teacherSettings == [StudySetting(label: "kappa", value: "4"), StudySetting(label: "steps", value: "50")])
    }

    @Test func v1DatabaseReadsTheSameBeforeAndAfterMigrating() throws {
        let dir = try TempDir()
        let url = dir.file("old.sqlite")
        try Self.v1Database(url)
        // Read-only: no migration is written, the values are parsed from config_json.
        let before = try Data(contentsOf: url)
        try Self.checkValues(url, readOnly: true)
        #expect(try Data(contentsOf: url) == before)
        // A writing open migrates: the v2 columns hold the values.
        _ = try StudyStore.open(at: url, study: "probe")
        let queue = try DatabaseQueue(path: url.path)
        try queue.read { db in
            #expect(try Int.fetchOne(db, sql: "PRAGMA user_version") == 2)
            let row = try #require(try Row.fetchOne(db, sql: "SELECT * FROM runs WHERE name = 'probe'"))
            #expect(row["num_steps"] as Int? == 50 && row["shift"] as Double? == 5 && row["max_t"] as Double? == 0.999)
            #expect(row["guidance_scale"] as Double? == 4.5 && row["sync_preset"] as String? == "25 fps")
            #expect(row["cfg_form"] as String? == nil && row["lpips_weights_sha256"] as String? == nil)
            #expect(row["config_json"] as String == Self.probeJSON)
            let csv = try #require(try Row.fetchOne(db, sql: "SELECT * FROM runs WHERE name = 'csv'"))
            #expect(csv["guidance_scale"] as Double? == nil && csv["num_steps"] as Int? == nil)
            #expect(try Int.fetchOne(db, sql: "SELECT count(*) FROM runs WHERE guidance_scale = 4.5 AND model_name = 'analytic-posterior-mean'") == 1)
        }
        try Self.checkValues(url, readOnly: true)
        try Self.checkValues(url, readOnly: false)
    }

    @Test func newStudiesWriteColumnsAndJSON() throws {
        let dir = try TempDir()
        let url = dir.file("new.sqlite")
        var parameters = StudyParameters()
        parameters.numSteps = 8
        parameters.guidanceScale = 3
        parameters.cfgForm = .uncond
        parameters.teacherSettings = [StudySetting(label: "working space", value: "PCA, 64 components")]
        let config = StudyRecord(name: "n", teacherKind: "analytic", teacherIdentity: "bank", modelName: "m", dropMode: "unknown",
                                 syncModel: "facesync-cca", parameters: parameters)
        #expect(config.parameters.dropMode == nil && config.dropMode == "unknown")
        _ = try StudyStore.create(at: url, config: config)
        let stored = try StudyStore.open(at: url, readOnly: true).config
        #expect(stored == config)
        try DatabaseQueue(path: url.path).read { db in
            let row = try #require(try Row.fetchOne(db, sql: "SELECT * FROM runs"))
            #expect(row["num_steps"] as Int? == 8 && row["guidance_scale"] as Double? == 3 && row["cfg_form"] as String? == "uncond")
            #expect(row["shift"] as Double? == nil && row["drop_mode"] as String == "unknown")
            #expect(StudyParameters(json: row["parameters_json"]) == stored.parameters)
        }
        // Another guidance is another study: the difference is named.
        var other = config
        other.parameters.guidanceScale = 4.5
        #expect(config.differences(from: other) == ["parameter guidance_scale"])
    }
}
