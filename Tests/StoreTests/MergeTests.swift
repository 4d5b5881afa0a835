import Foundation
import Synthetic
import Testing
@testable import Store

@Suite struct MergeTests {
    /// Writes the synthetic study restricted to some clips and arms (GT rows included).
    static func write(_ url: URL, clips: [Int], arms: [Int], failed: Bool = false, tweak: Bool = false) throws -> StudyStore {
        let store = try StudyStore.openOrCreate(at: url, config: SyntheticStudy.config)
        // Register everything in the same order as the whole study, so clip specs agree.
        var clipIDs: [ClipID] = []
        for i in 0..<4 where clips.contains(i) || true {
            if clips.contains(i) {
                clipIDs.append(try store.registerClip(ClipSpec(name: SyntheticStudy.clipName(i), referenceSHA256: "sha\(i)", frames: 81, fps: 25)))
            } else {
                clipIDs.append(ClipID(-1))
            }
        }
        let armIDs = try SyntheticStudy.arms.enumerated().map { i, spec in arms.contains(i) ? try store.registerArm(spec) : ArmID(-1) }
        try store.registerSteps(SyntheticStudy.steps(4))
        let reg = SyntheticStudy.Registration(clips: clipIDs, arms: armIDs)
        for clip in clips { for arm in arms { for step in [gtStep, 0, 1, 2, 3] {
            var unit = SyntheticStudy.unit(reg, clip: clip, arm: arm, step: step, seed: 0)
            if tweak && clip == 1 && arm == 0 && step == 2 { unit.measurements[0].value = 0.25 }
            try store.writeUnit(unit)
        } } }
        if failed { try store.markFailed(UnitKey(clip: clipIDs[clips[0]], arm: armIDs[arms[0]], step: 3, seed: 1), reason: "no_face") }
        try store.setStatus(.finished)
        return store
    }

    @Test func twoShardsEqualTheWhole() throws {
        let dir = try TempDir()
        let whole = try Self.write(dir.file("whole.sqlite"), clips: [0, 1, 2, 3], arms: [0, 1, 6], failed: true)
        // Shard A: clips 0-1, all arms; shard B: clips 1-3 (clip 1 overlaps: duplicate units).
        _ = try Self.write(dir.file("a.sqlite"), clips: [0, 1], arms: [0, 1, 6], failed: true)
        _ = try Self.write(dir.file("b.sqlite"), clips: [1, 2, 3], arms: [0, 1, 6])
        let target = dir.file("merged.sqlite")
        let summary = try StudyStore.merge(shards: [dir.file("a.sqlite"), dir.file("b.sqlite")], into: target)
        #expect(summary.studies == ["synthetic"])
        #expect(summary.written == 4 * 3 * 5)
        #expect(summary.duplicates == 1 * 3 * 5)
        #expect(summary.failed == 1)
        let merged = try StudyStore.open(at: target, readOnly: true)
        #expect(try CanonicalStudy(merged) == CanonicalStudy(whole))
        #expect(try merged.summary().status == .finished)
        // Merging the same shard again changes nothing.
        let again = try StudyStore.merge(shards: [dir.file("b.sqlite")], into: target)
        #expect(again.written == 0 && again.duplicates == 3 * 3 * 5)
        #expect(try CanonicalStudy(StudyStore.open(at: target, readOnly: true)) == CanonicalStudy(whole))
    }

    @Test func conflictingMergeIsRefused() throws {
        let dir = try TempDir()
        _ = try Self.write(dir.file("a.sqlite"), clips: [0, 1], arms: [0, 1])
        _ = try Self.write(dir.file("b.sqlite"), clips: [1, 2], arms: [0, 1], tweak: true)
        let target = dir.file("merged.sqlite")
        expectStoreError({ try StudyStore.merge(shards: [dir.file("a.sqlite"), dir.file("b.sqlite")], into: target) }) {
            guard case let .mergeConflicts(_, conflicts) = $0 else { return false }
            return conflicts.count == 1 && conflicts[0].clip == "clip01" && conflicts[0].arm == "euler_jump s0=1 s1=4.5"
                && conflicts[0].step == 2 && conflicts[0].shard.hasSuffix("b.sqlite") && conflicts[0].problem.hasPrefix("mse/mouth:")
        }
        // Nothing was merged: the target holds no study.
        #expect(try StudyStore.listRuns(at: target).isEmpty)
        // Differing study configs are refused before anything is read into the target.
        var other = SyntheticStudy.config
        other.syncModel = "syncnet-v2"
        other.syncWeightsSHA256 = "abc"
        let c = try StudyStore.create(at: dir.file("c.sqlite"), config: other)
        _ = c
        expectStoreError({ try StudyStore.merge(shards: [dir.file("a.sqlite"), dir.file("c.sqlite")], into: dir.file("m2.sqlite")) }) {
            guard case let .configMismatch(path, study, fields) = $0 else { return false }
            return path.hasSuffix("c.sqlite") && study == "synthetic" && fields.contains("sync weights sha256")
        }
        #expect(!FileManager.default.fileExists(atPath: dir.file("m2.sqlite").path))
    }
}
