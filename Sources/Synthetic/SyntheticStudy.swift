import Digest
import Foundation
import Store

/// A deterministic fake study for the Store's tests, crash child and benchmark: every value is a
/// pure function of its key, so a reader can check a unit it did not write. Not for science.
package enum SyntheticStudy {
    /// The study record every synthetic store is created with: a 50-step analytic study, so stores
    /// written by different tests and runs open as the same study.
    package static let config: StudyRecord = {
        var parameters = StudyParameters()
        parameters.numSteps = 50
        parameters.teacherSettings = [StudySetting(label: "kappa", value: "4")]
        return StudyRecord(
            name: "synthetic", teacherKind: "analytic", teacherIdentity: "synthetic bank κ=4", modelName: "synthetic",
            dropMode: "audio", syncModel: "facesync-cca", libavVersion: "none", parameters: parameters)
    }()

    /// The 16 (metric, region) pairs a probe unit measures.
    package static let pairs: [(metric: String, region: String)] = {
        var out: [(String, String)] = []
        for metric in [MetricName.mse, MetricName.psnr, MetricName.ssim, MetricName.lpips] {
            for region in [RegionName.mouth, RegionName.upperFace, RegionName.full] { out.append((metric, region)) }
        }
        out.append((MetricName.sharpness, RegionName.mouth))
        out.append((MetricName.syncC, RegionName.face))
        out.append((MetricName.syncD, RegionName.face))
        out.append((MetricName.syncOffset, RegionName.face))
        return out
    }()

    /// Seven arms covering the families (euler jump, fresh noise, trajectory, spatial), each at w = 4.5
    /// and at the baseline 1 where it has one; `register` takes a prefix of them.
    package static let arms: [ArmSpec] = [.eulerJump(s0: 1, s1: 4.5), .eulerJump(s0: 1, s1: 1), .freshNoise(w: 4.5),
                                          .freshNoise(w: 1), .trajectory(w: 4.5), .trajectory(w: 1), .spatial(w: 4.5)]

    /// Wan2.1's shifted schedule, shift 5, t_0 clamped to 0.999.
    package static func steps(_ count: Int = 50) -> [Step] {
        (0..<count).map { j in
            let u = 0.999 * (1 - Double(j) / Double(count))
            return Step(j: j, t: min(0.999, 5 * u / (1 + 4 * u)))
        }
    }

    /// Zero-padded clip names (`clip03`), so the names sort in clip order.
    package static func clipName(_ i: Int) -> String { "clip\(i < 10 ? "0" : "")\(i)" }

    /// A value that depends on every part of the key (a splitmix64 hash scaled to [0, 1)), with
    /// the occasional NaN (missing) and an infinite PSNR on GT rows, as real tables have.
    package static func value(clip: Int, arm: Int, step: Int, seed: Int, pair: Int) -> Double {
        let z = SplitMix64.mix(UInt64(bitPattern: Int64(clip &* 1_000_003 &+ arm &* 10_007 &+ (step + 1) &* 101 &+ seed &* 7_919 &+ pair &* 31)))
        if step == gtStep && pairs[pair].metric == MetricName.psnr && pairs[pair].region == RegionName.full { return .infinity }
        if z % 997 == 0 { return .nan }
        return Double(z >> 11) / Double(1 << 53)
    }

    /// The 16 rows of one unit, one per ``pairs`` entry, each a pure function of the key.
    package static func measurements(clip: Int, arm: Int, step: Int, seed: Int) -> [MeasurementValue] {
        pairs.enumerated().map { i, p in
            MeasurementValue(metric: p.metric, region: p.region, value: value(clip: clip, arm: arm, step: step, seed: seed, pair: i))
        }
    }

    /// A small spatial map for spatial arms: 4x6 values.
    package static func map(clip: Int, step: Int, seed: Int) -> MapBlob {
        MapBlob(name: "abs_diff", shape: [4, 6], values: (0..<24).map { Float(value(clip: clip, arm: 99, step: step, seed: seed, pair: $0 % 16)) + Float($0) })
    }

    /// The ids a store gave the synthetic clips and arms.
    package struct Registration {
        /// Store ids of the synthetic clips, indexed by synthetic clip number.
        package var clips: [ClipID]
        /// Store ids of the synthetic arms, indexed by position in ``SyntheticStudy/arms``.
        package var arms: [ArmID]

        /// Ids already registered (a resumed store's), in synthetic clip and arm order.
        package init(clips: [ClipID], arms: [ArmID]) { self.clips = clips; self.arms = arms }
    }

    /// Registers `clips` clips, the first `arms` arms and `steps` steps of the shifted schedule in `store`;
    /// an arm whose knobs are all 1 is the baseline.
    package static func register(_ store: StudyStore, clips: Int, arms: Int, steps: Int = 50) throws -> Registration {
        let clipIDs = try (0..<clips).map { i in
            try store.registerClip(ClipSpec(name: clipName(i), referencePath: "/probe/\(clipName(i))/ref.mp4", audioPath: "/probe/\(clipName(i))/audio.wav",
                                            referenceSHA256: SHA256Digest.hex(Array(clipName(i).utf8)), frames: 81, fps: 25, mask: "mask.png"))
        }
        let armIDs = try self.arms.prefix(arms).map { try store.registerArm($0, isBaseline: $0.knobs.values.allSatisfy { $0 == 1 }) }
        try store.registerSteps(self.steps(steps))
        return Registration(clips: clipIDs, arms: armIDs)
    }

    /// The unit for one key, ready for `writeUnit`; spatial arms carry a map except on the GT row.
    package static func unit(_ reg: Registration, clip: Int, arm: Int, step: Int, seed: Int) -> UnitResult {
        UnitResult(key: UnitKey(clip: reg.clips[clip], arm: reg.arms[arm], step: step, seed: seed),
                   measurements: measurements(clip: clip, arm: arm, step: step, seed: seed),
                   maps: self.arms[arm].family == .spatial && step != gtStep ? [map(clip: clip, step: step, seed: seed)] : [])
    }
}
