import Foundation
import Measurement
import Metrics
import Store
import Synthetic
import TrajectoryProbe

/// The probe's two benchmarks, each reported as a ratio against a reference measured in the same
/// run (so the numbers travel between machines):
/// (a) wall time of a probe with 8 guidance scales over the same probe with 1 scale, for the
///     shared-pass arms (`fresh_noise`, `euler_jump` s1 sweep), same clips and steps; target ≤ 1.3;
/// (b) the analytic teacher's FLOP/s as a fraction of plain `sgemm` calls of the same shapes;
///     target ≥ 0.5.
/// `trajprobe bench` prints ``Report/lines``; nothing here prints.
public enum ProbeBenchmark {
    /// Both benchmarks' results from one run, kept as numbers so tests and callers can check the
    /// targets without parsing text.
    public struct Report: Sendable {
        /// Benchmark (a): wall time with 8 guidance scales over wall time with 1; the target is ≤ 1.3,
        /// since the shared-pass arms should pay for extra scales in teacher branches, not in whole passes.
        public var scaleSweepRatio: Double
        /// Fastest wall time, in seconds, of the 1-scale probe: the denominator of ``scaleSweepRatio``.
        public var oneScaleSeconds: Double
        /// Fastest wall time, in seconds, of the 8-scale probe: the numerator of ``scaleSweepRatio``.
        public var eightScaleSeconds: Double
        /// (label, teacher GFLOP/s, sgemm GFLOP/s, fraction) per teacher configuration.
        public var flopRates: [(label: String, teacher: Double, sgemm: Double, fraction: Double)]

        /// One printable line per benchmark figure, each with its target, for `trajprobe bench`.
        public var lines: [String] {
            var out = [String(format: "probe bench (a): 8 scales / 1 scale wall time = %.3fx (%.3f s vs %.3f s; target <= 1.3x)",
                              scaleSweepRatio, eightScaleSeconds, oneScaleSeconds)]
            for r in flopRates {
                out.append(String(format: "probe bench (b): analytic teacher %@: %.2f GFLOP/s vs sgemm %.2f GFLOP/s = %.0f%% (target >= 50%%)",
                                  r.label, r.teacher, r.sgemm, 100 * r.fraction))
            }
            return out
        }
    }

    /// Runs both benchmarks on the synthetic bank (`identities` × 5 clips × 50 frames at
    /// `resolution`², last clip of each identity held out as a probe), `steps` probe steps.
    public static func run(resolution: Int = 32, identities: Int = 8, steps: Int = 10, repeats: Int = 3) throws -> Report {
        let data = try SyntheticTalkingHeads(resolution: resolution, identities: identities)
        let probes = (0..<identities).map { "id\($0)c4" }
        let schedule = try ShiftedSchedule(numSteps: 50, shift: 5, maxT: 0.999)
        let stepList = (0..<steps).map { $0 * schedule.numSteps / steps }

        func clips(_ teacher: AnalyticTeacher) throws -> [ProbeClip] {
            try probes.enumerated().map { i, p in
                let rows = data.bank.rows(ofClip: p), driver = data.bank.rows(ofClip: "id\(i)c0")
                return ProbeClip(id: p, reference: try teacher.space.encode(data.bank.frames(rows: rows)),
                                 conditioning: Conditioning(clip: p, identity: "id\(i)", audioFeatures: data.bank.audio(rows: driver)))
            }
        }

        // (a) scale sweep.
        let teacher = try AnalyticTeacher(bank: data.bank, heldOut: Set(probes), configuration: .init(kappa: 4))
        let probeClips = try clips(teacher)
        let eight = [1.0, 1.5, 2, 2.5, 3, 4.5, 6, 7.5]
        let one = try ProbePlan(arms: [.freshNoise(w: 4.5), .eulerJump(s0: 1, s1: 4.5)], schedule: schedule, steps: stepList)
        let many = try ProbePlan(arms: eight.map { .freshNoise(w: $0) } + eight.map { .eulerJump(s0: 1, s1: $0) },
                                 schedule: schedule, steps: stepList)
        func once(_ plan: ProbePlan) throws -> Double {
            let start = ContinuousClock.now
            var checksum: Float = 0
            for clip in probeClips {
                try plan.run(teacher: teacher, clip: clip, seed: 0) { checksum += $0.x0.data[0] }
            }
            precondition(checksum.isFinite)
            return seconds(ContinuousClock.now - start)
        }
        // Interleaved, best of `repeats` each, so a busy machine slows both alike.
        _ = try once(one)
        var t1 = Double.infinity, t8 = Double.infinity
        for _ in 0..<max(repeats, 7) {
            t1 = min(t1, try once(one))
            t8 = min(t8, try once(many))
        }

        // (b) FLOP/s against sgemm of the same shapes.
        var rates: [(String, Double, Double, Double)] = []
        for drop in [DropMode.audioOnly, .textAudio] {
            let t = try AnalyticTeacher(bank: data.bank, heldOut: Set(probes),
                                        configuration: .init(kappa: 4, dropMode: drop, precision: .float32))
            let clip = try clips(t)[0]
            let xt = try FlowMath.noised(x0: clip.reference, epsilon: clip.epsilon(seed: 0), t: 0.5)
            let b = xt.rows, k = t.space.dimension
            let n = drop == .audioOnly ? t.identityRanges[clip.conditioning.identity]!.count : t.bankCount
            let flops = 2.0 * Double(b * n * k) * 3          // distances + two weighted sums
            let sigmas = [Double](repeating: 0.5, count: b)
            let calls = max(3, Int(2e9 / flops))
            var teacherBest = Double.infinity, gemmBest = Double.infinity
            let bankStates = t.states32
            var g = [Float](repeating: 0, count: b * n), p = [Float](repeating: 1 / Float(n), count: b * n)
            var out = [Float](repeating: 0, count: b * k)
            for _ in 0..<repeats {
                var start = ContinuousClock.now
                for _ in 0..<calls {
                    _ = try t.posterior(states: xt, sigmas: sigmas, conditioning: clip.conditioning, branches: [.cond, .neg])
                }
                teacherBest = min(teacherBest, seconds(ContinuousClock.now - start) / Double(calls))
                start = ContinuousClock.now
                for _ in 0..<calls {
                    xt.data.withUnsafeBufferPointer { s in bankStates.withUnsafeBufferPointer { z in g.withUnsafeMutableBufferPointer { o in
                        sgemm(transB: true, m: b, n: n, k: k, a: s.baseAddress!, lda: k, b: z.baseAddress!, ldb: k, c: o.baseAddress!, ldc: n)
                    } } }
                    for _ in 0..<2 {
                        p.withUnsafeMutableBufferPointer { pp in bankStates.withUnsafeBufferPointer { z in out.withUnsafeMutableBufferPointer { o in
                            sgemm(m: b, n: k, k: n, a: pp.baseAddress!, lda: n, b: z.baseAddress!, ldb: k, c: o.baseAddress!, ldc: k)
                        } } }
                    }
                }
                gemmBest = min(gemmBest, seconds(ContinuousClock.now - start) / Double(calls))
            }
            let label = "\(drop.rawValue) (B=\(b), n=\(n), K=\(k))"
            rates.append((label, flops / teacherBest / 1e9, flops / gemmBest / 1e9, gemmBest / teacherBest))
        }
        return Report(scaleSweepRatio: t8 / t1, oneScaleSeconds: t1, eightScaleSeconds: t8, flopRates: rates)
    }

    static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
    }
}
