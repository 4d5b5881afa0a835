import Digest
import Measurement
import Store
import Testing
@testable import TrajectoryProbe

struct ScheduleTests {
    /// DESIGN.md's published table (N=50, s=5, u from 0.999, t_0 clamped to 0.999).
    @Test(arguments: [(0, 0.999000), (1, 0.995732), (20, 0.882093), (30, 0.768935), (40, 0.555247), (49, 0.092507), (50, 0.0)])
    func publishedTimes(step: Int, expected: Double) throws {
        let s = try ShiftedSchedule(numSteps: 50, shift: 5, maxT: 0.999)
        #expect(abs(s.t(step) - expected) < 1e-6, "t_\(step) = \(s.t(step))")
    }

    @Test func timesDecreaseAndIntegerTimesteps() throws {
        let s = try ShiftedSchedule(numSteps: 50, shift: 5, maxT: 0.999)
        #expect(s.times.count == 51)
        for j in 0..<50 { #expect(s.t(j) > s.t(j + 1)) }
        #expect(s.integerTimestep(0) == 999)
        #expect(s.integerTimestep(30) == 769)
        #expect(s.integerTimestep(20) == 882)
        #expect(s.integerTimestep(50) == 0)
        #expect(s.nearestStep(to: 0.769) == 30)
    }

    @Test func unshiftedScheduleIsLinspace() throws {
        let s = try ShiftedSchedule(numSteps: 4, shift: 1, maxT: 0.999)
        let expected = [0.999, 0.74925, 0.4995, 0.24975, 0]
        for (a, b) in zip(s.times, expected) { #expect(abs(a - b) < 1e-15) }
    }

    @Test func badSchedulesAndStepsAreRefused() throws {
        #expect(throws: ScheduleError.self) { try ShiftedSchedule(numSteps: 0, shift: 5, maxT: 0.999) }
        #expect(throws: ScheduleError.self) { try ShiftedSchedule(numSteps: 50, shift: -1, maxT: 0.999) }
        let s = try ShiftedSchedule(numSteps: 50, shift: 5, maxT: 0.999)
        #expect(throws: ScheduleError("step 50 outside 0..<50")) { try s.validate(steps: [3, 50]) }
        #expect(try s.validate(steps: [30, 20]) == [20, 30])
    }

    @Test func predictionConversionsRoundTrip() throws {
        let x0 = GaussianNoise(seed: 1).tensor(shape: [2, 5])
        let eps = GaussianNoise(seed: 2).tensor(shape: [2, 5])
        let sigma = 0.37
        let xt = try FlowMath.noised(x0: x0, epsilon: eps, t: sigma)
        let v = eps.combined(1, x0, -1)
        #expect(try FlowMath.x0(from: v, kind: .velocity, xt: xt, sigma: sigma).maxAbsDifference(x0) < 1e-5)
        #expect(try FlowMath.x0(from: eps, kind: .epsilon, xt: xt, sigma: sigma).maxAbsDifference(x0) < 1e-5)
        #expect(try FlowMath.epsilon(x0: x0, xt: xt, sigma: sigma).maxAbsDifference(eps) < 1e-5)
        #expect(try FlowMath.velocity(x0: x0, xt: xt, sigma: sigma).maxAbsDifference(v) < 1e-5)
        // Euler step to t' lands on the forward process with the same x0 and ε.
        let stepped = try FlowMath.eulerStep(xt: xt, x0: x0, sigma: sigma, to: 0.1)
        #expect(stepped.maxAbsDifference(try FlowMath.noised(x0: x0, epsilon: eps, t: 0.1)) < 1e-5)
        #expect(try FlowMath.eulerStep(xt: xt, x0: x0, sigma: sigma, to: 0).maxAbsDifference(x0) == 0)
        #expect(throws: ProbeError.self) { try FlowMath.epsilon(x0: x0, xt: xt, sigma: 0) }
    }
}

struct NoiseTests {
    /// Reference values from a 15-line pure-Python SplitMix64 + Box–Muller (integer arithmetic
    /// mod 2⁶⁴, `math.log/cos/sin`); word 1 of seed 0 is SplitMix64's published first output.
    @Test func splitMixWordsMatchReference() {
        #expect(GaussianNoise(seed: 0).word(1) == 0xE220_A839_7B1D_CDAF)
        #expect(GaussianNoise(seed: 42).word(1) == 0xBDD7_3226_2FEB_6E95)
    }

    @Test(arguments: [
        (UInt64(0), [-0.452757740217458, 0.20776603893419193, 2.650605812079669, -0.4904228253986477, -0.9886041246243269, 1.8721013803315418]),
        (UInt64(42), [0.4147197504315305, 0.6526812221519427, -0.8918862136277562, 1.3268335628141064, 1.7295930879374015, -1.883416788902816]),
    ])
    func gaussianValuesMatchReference(seed: UInt64, expected: [Double]) {
        let g = GaussianNoise(seed: seed)
        for (i, e) in expected.enumerated() { #expect(abs(g.value(i) - e) < 1e-13) }
        let f = g.floats(count: 6)
        for (i, e) in expected.enumerated() { #expect(f[i] == Float(e)) }
        // Counter-based: any window equals the same elements of the full stream.
        #expect(g.floats(count: 3, offset: 3) == Array(f[3..<6]))
    }

    @Test func keyedStreamsUseFNV1a() {
        #expect(FNV1a.hash64("") == 0xCBF2_9CE4_8422_2325)
        #expect(FNV1a.hash64("a") == 0xAF63_DC4C_8601_EC8C)
        #expect(FNV1a.hash64("clip7|seed 0|eps") == 0x9378_18EC_325F_B687)
        let g = GaussianNoise(key: "clip7|seed 0|eps")
        #expect(abs(g.value(0) - -1.416599494397227) < 1e-13)
        #expect(abs(g.value(1) - -0.7721763359902365) < 1e-13)
    }

    @Test func momentsAreStandardNormal() {
        let x = GaussianNoise(seed: 7).floats(count: 200_000)
        let mean = x.reduce(0.0) { $0 + Double($1) } / Double(x.count)
        let variance = x.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / Double(x.count)
        #expect(abs(mean) < 0.01)
        #expect(abs(variance - 1) < 0.01)
    }
}
