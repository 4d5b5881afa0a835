import Foundation
import Testing
@testable import Store

@Suite struct RegistryTests {
    static func csv(_ rows: [(Int, String, Double)]) -> String {
        "step,t,sample,metric,region,value\n" + rows.map { step, sample, v in
            "\(step),\(step == -1 ? "gt" : String(SyntheticStudy.steps(50)[step].t)),\(sample),sync_c,face,\(v)"
        }.joined(separator: "\n") + "\n"
    }

    @Test func registryMakesOneStudyPerModel() throws {
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
        #expect(summary.studies == ["omniavatar-14b", "infinitetalk"])
        #expect(summary.files.map(\.rows) == [3, 3, 1])
        let runs = try StudyStore.listRuns(at: db)
        #expect(runs.map(\.name) == ["omniavatar-14b", "infinitetalk"])
        #expect(runs.map(\.status) == [.imported, .imported])
        #expect(runs.map(\.config.dropMode) == ["text+audio", "unknown"])
        #expect(runs.map(\.arms) == [2, 1])
        let omni = try StudyStore.open(at: db, readOnly: true, study: "omniavatar-14b")
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
