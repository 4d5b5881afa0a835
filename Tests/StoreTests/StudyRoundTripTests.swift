import Foundation
import Synthetic
import Testing
@testable import Store

@Suite struct StudyRoundTripTests {
    @Test func roundTripOfAStudy() throws {
        let dir = try TempDir()
        let url = dir.file("study.sqlite")
        let store = try StudyStore.create(at: url, config: SyntheticStudy.config)
        let reg = try SyntheticStudy.register(store, clips: 3, arms: 7, steps: 5)
        var written: [UnitResult] = []
        for clip in 0..<3 { for arm in 0..<7 { for step in [gtStep, 0, 1, 2, 3, 4] {
            let unit = SyntheticStudy.unit(reg, clip: clip, arm: arm, step: step, seed: 0)
            #expect(try store.writeUnit(unit) == .written)
            written.append(unit)
        } } }
        let failedKey = UnitKey(clip: reg.clips[0], arm: reg.arms[0], step: 2, seed: 1)
        try store.markFailed(failedKey, reason: "no_face: mouth box outside frame")
        try store.saveSchedule(name: "two_step", format: "yaml", body: "t_list: [0.999, 0.769, 0.0]\n")
        try store.setStatus(.finished)

        // Everything comes back from a fresh read-only handle.
        let reader = try StudyStore.open(at: url, readOnly: true)
        let snap = try reader.snapshot()
        #expect(snap.run.status == .finished)
        #expect(snap.run.finished != nil)
        #expect(snap.run.doneUnits == written.count)
        #expect(snap.run.failedUnits == 1)
        #expect(snap.clips.map(\.name) == ["clip00", "clip01", "clip02"])
        #expect(snap.clips[1].spec.referencePath == "/probe/clip01/ref.mp4")
        #expect(snap.clips[1].spec.fps == 25)
        #expect(snap.clips[1].spec.frames == 81)
        #expect(snap.arms.count == 7)
        #expect(snap.arm(label: "euler_jump s0=1 s1=1")?.isBaseline == true)
        #expect(snap.arm(label: "euler_jump s0=1 s1=4.5")?.isBaseline == false)
        #expect(snap.arm(label: "euler_jump s0=1 s1=4.5")?.spec == .eulerJump(s0: 1, s1: 4.5))
        #expect(snap.steps == SyntheticStudy.steps(5))
        #expect(snap.steps[0].t == 0.999)
        #expect(snap.measurements.count == written.count * 16)
        #expect(snap.failedUnits == [FailedUnit(key: failedKey, reason: "no_face: mouth box outside frame")])
        #expect(snap.schedules.map(\.body) == ["t_list: [0.999, 0.769, 0.0]\n"])
        var stored: [String: Double] = [:]
        for m in snap.measurements { stored["\(m.clip) \(m.arm) \(m.step) \(m.seed) \(m.metric) \(m.region)"] = m.value }
        var nanCount = 0, infCount = 0
        for unit in written {
            for m in unit.measurements {
                let v = stored["\(unit.key.clip) \(unit.key.arm) \(unit.key.step) \(unit.key.seed) \(m.metric) \(m.region)"]
                #expect(v != nil)
                if m.value.isNaN { #expect(v!.isNaN); nanCount += 1 } else { #expect(v == m.value) }
                if m.value.isInfinite { infCount += 1 }
            }
        }
        #expect(infCount == 21)   // GT full-frame PSNR of every (clip, arm)
        // Maps of the spatial arm, shape and bits intact.
        let maps = try reader.maps(arm: reg.arms[6])
        #expect(maps.count == 3 * 5)
        #expect(maps[0].map == SyntheticStudy.map(clip: 0, step: 0, seed: 0))
        #expect(maps[0].map.shape == [4, 6])

        // Resume list: exactly the done units.
        #expect(try reader.finishedUnits() == Set(written.map(\.key)))
    }

    @Test func rewritingAUnit() throws {
        let dir = try TempDir()
        let store = try StudyStore.create(at: dir.file("s.sqlite"), config: SyntheticStudy.config)
        let reg = try SyntheticStudy.register(store, clips: 1, arms: 7, steps: 3)
        let unit = SyntheticStudy.unit(reg, clip: 0, arm: 6, step: 1, seed: 0)
        #expect(try store.writeUnit(unit) == .written)
        // The same values again (order shuffled): a no-op.
        var shuffled = unit
        shuffled.measurements.reverse()
        #expect(try store.writeUnit(shuffled) == .unchanged)
        // Different values: refused, stored values untouched.
        var changed = unit
        changed.measurements[3].value += 1e-12
        expectStoreError({ try store.writeUnit(changed) }) {
            if case let .unitConflict(_, unitText, problem) = $0 {
                return unitText == "clip=clip00 arm='spatial w=4.5' step=1 seed=0" && problem.hasPrefix("psnr/mouth:")
            }
            return false
        }
        var missing = unit
        missing.measurements.removeLast()
        expectStoreError({ try store.writeUnit(missing) }) {
            if case let .unitConflict(_, _, problem) = $0 { return problem == "16 measurements stored, 15 given" } else { return false }
        }
        var otherMap = unit
        otherMap.maps[0].values[0] += 1
        expectStoreError({ try store.writeUnit(otherMap) }) {
            if case let .unitConflict(_, _, problem) = $0 { return problem == "maps differ" } else { return false }
        }
        #expect(try store.values(arm: reg.arms[6], step: 1, metric: "psnr", region: "mouth").map(\.value) == [unit.measurements[3].value])
        // A unit marked failed is replaced by its later result; a done unit cannot be marked failed.
        let retry = SyntheticStudy.unit(reg, clip: 0, arm: 0, step: 2, seed: 0)
        try store.markFailed(retry.key, reason: "timeout: remote teacher")
        #expect(try store.failedUnits().count == 1)
        #expect(try store.writeUnit(retry) == .written)
        #expect(try store.failedUnits().isEmpty)
        expectStoreError({ try store.markFailed(retry.key, reason: "x") }) {
            if case .unitConflict = $0 { return true } else { return false }
        }
        // Keys outside the study are refused.
        expectStoreError({ try store.writeUnit(UnitResult(key: UnitKey(clip: ClipID(99), arm: reg.arms[0], step: 0), measurements: [])) }) {
            if case .unknownReference = $0 { return true } else { return false }
        }
        expectStoreError({ try store.writeUnit(UnitResult(key: UnitKey(clip: reg.clips[0], arm: reg.arms[0], step: 7), measurements: [])) }) {
            if case .unknownReference = $0 { return true } else { return false }
        }
        // The same (metric, region) twice with two values in one result.
        let twice = UnitResult(key: UnitKey(clip: reg.clips[0], arm: reg.arms[1], step: 0),
                               measurements: [MeasurementValue(metric: "ssim", region: "mouth", value: 0.5),
                                              MeasurementValue(metric: "ssim", region: "mouth", value: 0.6)])
        expectStoreError({ try store.writeUnit(twice) }) { if case .unitConflict = $0 { return true } else { return false } }
        #expect(try store.summary().doneUnits == 2)
    }

    @Test func registrations() throws {
        let dir = try TempDir()
        let store = try StudyStore.create(at: dir.file("s.sqlite"), config: SyntheticStudy.config)
        let bare = try store.registerClip(ClipSpec(name: "c"))
        let full = ClipSpec(name: "c", referencePath: "/a.mp4", referenceSHA256: "ab", frames: 81, fps: 25)
        #expect(try store.registerClip(full) == bare)          // fills in the bare clip
        #expect(try store.registerClip(ClipSpec(name: "c")) == bare)
        #expect(try store.clips()[0].spec == full)
        expectStoreError({ _ = try store.registerClip(ClipSpec(name: "c", referencePath: "/b.mp4", referenceSHA256: "cd", frames: 81, fps: 25)) }) {
            if case let .registrationConflict(_, what, problem) = $0 { return what == "clip 'c'" && problem == "reference path, reference sha256" }
            return false
        }
        let arm = try store.registerArm(.trajectory(w: 4.5))
        #expect(try store.registerArm(ArmSpec(parsing: "trajectory(w=4.5)")) == arm)
        try store.registerSteps([(j: 30, t: 0.768935)])
        try store.registerSteps([(j: 30, t: 0.7689350000001)])
        expectStoreError({ try store.registerSteps([(j: 30, t: 0.77)]) }) {
            if case .registrationConflict = $0 { return true } else { return false }
        }
        #expect(try store.steps() == [Step(j: 30, t: 0.768935)])
    }

    /// A student schedule is stored as flat knobs and comes back with the same label.
    @Test func studentScheduleArmsRoundTrip() throws {
        let dir = try TempDir()
        let store = try StudyStore.create(at: dir.file("s.sqlite"), config: SyntheticStudy.config)
        let spec = try ArmSpec(parsing: "student_schedule renoise steps=0,20,36 g=1,2,4.5")
        let id = try store.registerArm(spec)
        #expect(try store.registerArm(ArmSpec(parsing: "student_schedule renoise steps=[0, 20, 36] g=[1, 2, 4.5]")) == id)
        let back = try #require(try store.arms().first)
        #expect(back.spec == spec && back.label == "student_schedule renoise steps=0,20,36 g=1,2,4.5")
        #expect(try store.registerArm(ArmSpec(parsing: "student_schedule euler steps=0,20,36 g=1,2,4.5")) != id)
    }

    @Test func reportQueries() throws {
        let dir = try TempDir()
        let store = try StudyStore.create(at: dir.file("s.sqlite"), config: SyntheticStudy.config)
        let clips = try ["a", "b", "c"].map { try store.registerClip(ClipSpec(name: $0)) }
        let cfg = try store.registerArm(.eulerJump(s0: 1, s1: 4.5))
        let base = try store.registerArm(.eulerJump(s0: 1, s1: 1))
        try store.registerSteps([(j: 0, t: 0.999), (j: 1, t: 0.995732)])
        let syncC: [ArmID: [[Double]]] = [cfg: [[5.0, 6.0], [7.0, 8.5], [6.0, .nan]], base: [[4.0, 5.0], [6.5, 7.0], [5.5, 6.0]]]
        for (arm, perClip) in syncC {
            for (c, values) in perClip.enumerated() {
                for (step, v) in values.enumerated() {
                    try store.writeUnit(UnitResult(key: UnitKey(clip: clips[c], arm: arm, step: step),
                                                   measurements: [MeasurementValue(metric: "sync_c", region: "face", value: v)]))
                }
                try store.writeUnit(UnitResult(key: UnitKey(clip: clips[c], arm: arm, step: gtStep),
                                               measurements: [MeasurementValue(metric: "sync_c", region: "face", value: 9 + Double(c))]))
            }
        }
        #expect(try store.values(arm: cfg, step: 1, metric: "sync_c", region: "face").map(\.value).prefix(2) == [6.0, 8.5])
        let pairs = try store.pairedValues(cfg, base, step: 0, metric: "sync_c", region: "face")
        #expect(pairs.map(\.clip) == clips)
        #expect(pairs.map { $0.a - $0.b } == [1.0, 0.5, 0.5])
        #expect(try store.gtValues(metric: "sync_c", region: "face") == [clips[0]: 9, clips[1]: 10, clips[2]: 11])
        let curve = try store.curve(arm: cfg, metric: "sync_c", region: "face")
        #expect(curve.map(\.step) == [gtStep, 0, 1])
        #expect(curve.map(\.t) == [nil, 0.999, 0.995732])
        #expect(curve[1].mean == 6.0)
        #expect(curve[1].standardDeviation == 1.0)
        #expect(curve[2].count == 2)           // the NaN is left out
        #expect(curve[2].mean == 7.25)
        #expect(abs(curve[2].standardDeviation - 1.7677669529663689) < 1e-15)
        let runs = try StudyStore.listRuns(at: store.url)
        #expect(runs.count == 1)
        #expect(runs[0].clips == 3 && runs[0].arms == 2 && runs[0].steps == 2)
        #expect(runs[0].doneUnits == 18 && runs[0].measurements == 18)
    }
}

@Suite struct ConcurrentHandleTests {
    /// A report reading while the probe writes, and two writers on one file (two shards of work
    /// on one machine): WAL lets the reader see committed units; the busy timeout serialises writers.
    @Test func readerAndTwoWritersOnOneFile() async throws {
        let dir = try TempDir()
        let url = dir.file("s.sqlite")
        let a = try StudyStore.create(at: url, config: SyntheticStudy.config)
        let reg = try SyntheticStudy.register(a, clips: 4, arms: 2, steps: 10)
        let b = try StudyStore.open(at: url)
        let reader = try StudyStore.open(at: url, readOnly: true)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (store, clips) in [(a, [0, 1]), (b, [2, 3])] {
                group.addTask {
                    for clip in clips { for arm in 0..<2 { for step in 0..<10 {
                        try store.writeUnit(SyntheticStudy.unit(reg, clip: clip, arm: arm, step: step, seed: 0))
                    } } }
                }
            }
            group.addTask {
                var last = 0
                for _ in 0..<20 {
                    // One read transaction: units and measurements from the same commit.
                    let snap = try reader.snapshot()
                    let n = snap.run.doneUnits
                    #expect(n >= last)
                    #expect(snap.measurements.count == n * 16)
                    #expect(snap.run.measurements == n * 16)
                    last = n
                }
            }
            try await group.waitForAll()
        }
        #expect(try reader.finishedUnits().count == 80)
        #expect(try reader.summary().measurements == 80 * 16)
    }
}
