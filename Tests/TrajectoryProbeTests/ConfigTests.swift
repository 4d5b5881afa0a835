import Digest
import Foundation
import Measurement
import Testing
import Store
import Media
@testable import TrajectoryProbe

struct ConfigTests {
    let base = URL(fileURLWithPath: "/data/study")
    let good = """
    clips:
      - {id: a1, video: clips/a1.mp4, identity: spk1, mask: masks/a1.png}
      - {id: a2, video: clips/a2.mp4, identity: spk1, box: "8,20,16,8", audio_from: a1}
    teacher:
      kind: analytic
      kappa: 4
      bank: bank/
      working_space: pca
      pca_components: 64
      drop: audio-only
      identity_prior: masked_reference
      reference_bandwidth: 2.5
    steps: {num_steps: 50, shift: 5, subset: [40, 20, 30]}
    guidance_form: cond
    arms: ["trajectory w=3.5", "factorial w=3.5", "scheduled_cfg tau=20 w=3.5"]
    seeds: [0, 1]
    metrics: [mse, sync_c]
    sync: {model: facesync-cca}
    """

    @Test func goodConfigParses() throws {
        let c = try ProbeStudyFile.parse(text: good, file: "study.yaml", baseDirectory: base)
        #expect(c.probeSet.clips.count == 2)
        #expect(c.probeSet.clips[0].mask == "/data/study/masks/a1.png")
        #expect(c.probeSet.clips[1].box == Box(x: 8, y: 20, width: 16, height: 8))
        // Dubbed: a2 is driven by a1's audio track.
        #expect(c.probeSet.clips[1].audio == "/data/study/clips/a1.mp4")
        #expect(c.probeSet.clips[1].isDubbed)
        #expect(c.teacher.workingSpace == .pca(components: 64))
        #expect(c.teacher.bank == "/data/study/bank")
        #expect(c.steps.subset == [20, 30, 40])
        // cond form g = 3.5 is w = 4.5; tau untouched.
        #expect(c.arms.map(\.label) == ["trajectory w=4.5", "euler_jump s0=1 s1=1", "euler_jump s0=1 s1=4.5",
                                        "euler_jump s0=4.5 s1=1", "euler_jump s0=4.5 s1=4.5", "scheduled_cfg tau=20 w=4.5"])
        #expect(c.seeds == [0, 1])
        #expect(c.teacher.analytic.kappa == 4)
        #expect(c.teacher.analytic.identityPrior == .maskedReference(bandwidth: 2.5))
    }

    @Test(arguments: [
        ("teacher:\n  kind: analytic\n  bank: b\n  kapa: 4\n", "teacher.kapa"),
        ("colour: red\n", "colour"),
        ("steps: {num_steps: 50, shfit: 5}\n", "steps.shfit"),
        ("sync: {model: facesync-cca, weight: w.pt}\n", "sync.weight"),
    ])
    func unknownKeysAreRejectedWithTheirName(extra: String, key: String) {
        let text = "clips: [{id: a, video: v.mp4, identity: i, box: \"1,1,2,2\"}]\narms: [\"trajectory w=1\"]\n" +
            (extra.hasPrefix("teacher") ? "" : "teacher: {bank: b}\n") + extra
        do {
            _ = try ProbeStudyFile.parse(text: text, file: "bad.yaml", baseDirectory: base)
            Issue.record("accepted an unknown key \(key)")
        } catch {
            guard case let .unknownKey(file, k, _) = error else { Issue.record("wrong error \(error)"); return }
            #expect(file == "bad.yaml")
            #expect(k == key)
            #expect(error.description.contains("bad.yaml") && error.description.contains(key))
        }
    }

    @Test(arguments: [
        ("teacher: {bank: b, kappa: four}\n", "teacher.kappa"),
        ("teacher: {bank: b}\nseeds: [0, x]\n", "seeds[1]"),
        ("teacher: {bank: b}\nsteps: {num_steps: 5.5}\n", "steps.num_steps"),
        ("teacher: {bank: b, kind: magic}\n", "teacher.kind"),
        ("teacher: {bank: b}\nmetrics: [mse, fid]\n", "metrics[1]"),
        ("teacher: {bank: b}\nsteps: {subset: [3, 50]}\n", "steps.subset"),
        ("teacher: {bank: b}\nguidance_form: both\n", "guidance_form"),
        ("teacher: [1, 2]\n", "teacher"),
        ("teacher: {bank: b, identity_prior: face}\n", "teacher.identity_prior"),
        ("teacher: {bank: b, reference_bandwidth: 2}\n", "teacher.reference_bandwidth"),
    ])
    func wrongTypesNameTheKey(extra: String, key: String) {
        let text = "clips: [{id: a, video: v.mp4, identity: i, box: \"1,1,2,2\"}]\narms: [\"trajectory w=1\"]\n" + extra
        do {
            _ = try ProbeStudyFile.parse(text: text, file: "bad.yaml", baseDirectory: base)
            Issue.record("accepted \(key)")
        } catch {
            guard case let .invalidValue(file, k, _) = error else { Issue.record("wrong error \(error)"); return }
            #expect(file == "bad.yaml" && k == key)
        }
    }

    @Test func missingAndBadArmsAndClips() {
        #expect(throws: ProbeError.missingKey(file: "f", key: "teacher.bank")) {
            try ProbeStudyFile.parse(text: "clips: [{id: a, video: v, identity: i, box: \"1,1,2,2\"}]\narms: [\"trajectory w=1\"]\n", file: "f", baseDirectory: base)
        }
        #expect(throws: ProbeError.self) {
            try ProbeStudyFile.parse(text: "clips: [{id: a, video: v, identity: i, box: \"1,1,2,2\"}]\nteacher: {bank: b}\narms: [\"warp w=1\"]\n", file: "f", baseDirectory: base)
        }
        #expect(throws: ProbeError.unknownKey(file: "f", key: "clips[0].maks", known: ProbeSet.clipKeys)) {
            try ProbeStudyFile.parse(text: "clips: [{id: a, video: v, identity: i, maks: m.png}]\nteacher: {bank: b}\narms: [\"trajectory w=1\"]\n", file: "f", baseDirectory: base)
        }
        #expect(throws: ProbeError.self) {   // neither mask nor box
            try ProbeStudyFile.parse(text: "clips: [{id: a, video: v, identity: i}]\nteacher: {bank: b}\narms: [\"trajectory w=1\"]\n", file: "f", baseDirectory: base)
        }
    }
}

struct ShardTests {
    @Test func everyUnitLandsInExactlyOneShard() throws {
        var units: [ProbeUnit] = []
        for clip in ["a", "b", "c", "dub-7"] {
            for arm in [ArmSpec.trajectory(w: 1), .trajectory(w: 4.5), .freshNoise(w: 4.5), .eulerJump(s0: 1, s1: 4.5), .spatial(w: 4.5)] {
                for step in [0, 10, 20, 30, 40, 49] { for seed in 0..<2 { units.append(ProbeUnit(clip: clip, arm: arm, step: step, seed: seed)) } }
            }
        }
        for granularity in Shard.Granularity.allCases {
            for count in 1...17 {
                var owners = [Int](repeating: 0, count: units.count)
                var sizes = [Int](repeating: 0, count: count)
                for i in 0..<count {
                    let shard = try Shard(index: i, count: count)
                    for (u, unit) in units.enumerated() where shard.owns(unit, granularity: granularity) { owners[u] += 1; sizes[i] += 1 }
                }
                #expect(owners.allSatisfy { $0 == 1 }, "\(granularity) COUNT \(count)")
                // Balanced within a loose bound (hash, not round-robin).
                if granularity == .unit && count <= 8 { #expect(sizes.min()! > units.count / count / 2, "COUNT \(count): \(sizes)") }
            }
        }
        // clip-seed granularity keeps a (clip, seed) plan on one shard.
        let shard = try Shard(index: 1, count: 3)
        let byPlan = Dictionary(grouping: units) { "\($0.clip)|\($0.seed)" }
        for (_, group) in byPlan { #expect(Set(group.map { shard.owns($0, granularity: .clipSeed) }).count == 1) }
        // Stable across processes: FNV-1a of the text key.
        #expect(Shard.index(ofKey: "a|trajectory w=1|0|0", count: 7) == Int(FNV1a.hash64("a|trajectory w=1|0|0") % 7))
    }

    @Test func parsingAndEnvironment() throws {
        #expect(try Shard(parsing: "2/5", environment: [:]) == Shard(index: 2, count: 5))
        #expect(throws: ProbeError.self) { try Shard(parsing: "5/5", environment: [:]) }
        #expect(throws: ProbeError.self) { try Shard(parsing: "1-3", environment: [:]) }
        #expect(try Shard(parsing: "auto", environment: ["SLURM_ARRAY_TASK_ID": "3", "SLURM_ARRAY_TASK_COUNT": "4"]) == Shard(index: 3, count: 4))
        #expect(try Shard(parsing: "auto", environment: ["SLURM_ARRAY_TASK_ID": "4", "SLURM_ARRAY_TASK_MIN": "1", "SLURM_ARRAY_TASK_COUNT": "4"]) == Shard(index: 3, count: 4))
        #expect(try Shard(parsing: "auto", environment: ["JOB_COMPLETION_INDEX": "0", "JOB_COMPLETIONS": "8"]) == Shard(index: 0, count: 8))
        #expect(throws: ProbeError.self) { try Shard(parsing: "auto", environment: ["JOB_COMPLETION_INDEX": "0"]) }
        #expect(throws: ProbeError.self) { try Shard(parsing: "auto", environment: [:]) }
    }
}

struct ConfigOverrideTests {
    let base = URL(fileURLWithPath: "/data/study")
    let text = """
    clips:
      - {id: a1, video: clips/a1.mp4, identity: spk1, mask: masks/a1.png}
    teacher: {kind: analytic, bank: bank.yaml}
    arms: ["fresh_noise w=1"]
    """

    @Test func flagsReplaceTheFileValues() throws {
        var c = try TrajectoryProbe.ProbeStudyFile.parse(text: text, file: "study.yaml", baseDirectory: base)
        try c.override(arms: ["factorial w=2", "trajectory w=3"], seeds: "3,1", steps: "49,0,30", kappa: 2, resolution: 48,
                       drop: "text+audio", guidanceScale: 2, identityPrior: "masked_reference", referenceBandwidth: 0.5,
                       pcaComponents: 32, metrics: "ssim,sync_c")
        #expect(c.arms.count == 5)
        #expect(c.arms.contains(.eulerJump(s0: 2, s1: 1)) && c.arms.contains(.trajectory(w: 3)))
        #expect(c.seeds == [3, 1])
        #expect(c.steps.subset == [0, 30, 49])
        #expect(c.teacher.kappa == 2 && c.teacher.resolution == 48)
        #expect(c.teacher.dropMode == .textAudio)
        #expect(c.teacher.guidanceScale == 2)
        #expect(c.teacher.identityPrior == .maskedReference(bandwidth: 0.5))
        #expect(c.teacher.workingSpace == .pca(components: 32))
        #expect(c.metrics == ["ssim", "sync_c"])
    }

    @Test(arguments: ["--seeds", "--steps", "--drop", "--metrics", "--arm"])
    func badFlagsNameTheFlag(flag: String) throws {
        var c = try TrajectoryProbe.ProbeStudyFile.parse(text: text, file: "study.yaml", baseDirectory: base)
        do {
            switch flag {
            case "--seeds": try c.override(seeds: "0,x")
            case "--steps": try c.override(steps: "0,50")
            case "--drop": try c.override(drop: "video")
            case "--metrics": try c.override(metrics: "ssim,fid")
            default: try c.override(arms: ["trajectory q=2"])
            }
            Issue.record("\(flag) accepted a bad value")
        } catch {
            #expect(error.description.contains(flag), "\(error.description)")
        }
    }
}

/// The Store validates imported sync provenance against its own lists (it cannot import
/// TrajectoryProbe): they must stay the names the probe writes.
struct SyncNameListTests {
    @Test func storeKnowsTheProbesSyncModelsAndPresets() {
        #expect(Store.SyncProvenance.knownModels.sorted() == SyncModelName.allCases.map(\.rawValue).sorted())
        #expect(Store.SyncProvenance.knownPresets.sorted() == SyncPreset.all.map(\.name).sorted())
    }
}
