import Testing
@testable import TrajectoryProbe

struct AnalyticTeacherTests {
    /// Brute force in Double straight from DESIGN.md's formula: full squared distances (no
    /// dropped constants, no centring trick), log-sum-exp, weighted sum.
    func bruteForce(bank: FrameBank, kappa: Double, h: Double, identity: String?, useAudio: Bool,
                    state: [Double], sigma: Double, audio: [Double]) -> [Double] {
        let n = bank.count, d = bank.frameSize, f = bank.featureCount
        var mu = [Double](repeating: 0, count: d)
        for i in 0..<n { for j in 0..<d { mu[j] += Double(bank.frames[i * d + j]) / Double(n) } }
        var fm = [Double](repeating: 0, count: f), fs = [Double](repeating: 0, count: f)
        for i in 0..<n { for c in 0..<f { fm[c] += Double(bank.audioFeatures[i * f + c]) / Double(n) } }
        for i in 0..<n { for c in 0..<f { let v = Double(bank.audioFeatures[i * f + c]) - fm[c]; fs[c] += v * v / Double(n) } }
        fs = fs.map { $0.squareRoot() }
        var logits = [Double](repeating: -.infinity, count: n)
        for i in 0..<n where identity == nil || bank.identities[i] == identity {
            var d2 = 0.0
            for j in 0..<d {
                let z = kappa * (Double(bank.frames[i * d + j]) - mu[j])
                d2 += (state[j] - (1 - sigma) * z) * (state[j] - (1 - sigma) * z)
            }
            var l = -d2 / (2 * sigma * sigma)
            if useAudio {
                var a2 = 0.0
                for c in 0..<f {
                    let q = (audio[c] - fm[c]) / fs[c], b = (Double(bank.audioFeatures[i * f + c]) - fm[c]) / fs[c]
                    a2 += (q - b) * (q - b)
                }
                l -= a2 / (2 * h * h)
            }
            logits[i] = l
        }
        let m = logits.max()!
        let w = logits.map { $0 == -.infinity ? 0 : _exp($0 - m) }
        let s = w.reduce(0, +)
        var out = [Double](repeating: 0, count: d)
        for i in 0..<n where w[i] > 0 {
            for j in 0..<d { out[j] += w[i] / s * kappa * (Double(bank.frames[i * d + j]) - mu[j]) }
        }
        return out
    }

    /// Float32 path: relative error within 2e-4 of the Double reference. Float64 path: within
    /// 1e-6, i.e. only the final rounding of the Float result and of the Float-stored bank.
    @Test(arguments: [(0.5, AnalyticTeacher.Precision.float32, 2e-4), (0.9, .float32, 2e-4), (0.2, .float64, 1e-6),
                      (0.05, .float64, 1e-6), (0.02, .automatic, 1e-5)])
    func matchesDoubleBruteForce(sigma: Double, precision: AnalyticTeacher.Precision, tolerance: Double) throws {
        let full = try TestBanks.random()
        let config = AnalyticTeacher.Configuration(kappa: 4, audioBandwidth: 0.7, audioFeatureNoise: 0, precision: precision)
        let teacher = try AnalyticTeacher(bank: full, heldOut: ["id0c1"], configuration: config)
        let bank = full.excluding(clips: ["id0c1"])
        let d = bank.frameSize
        // Queries: noised versions of identity 1 frames, with other frames' audio (dubbed).
        // Held-out queries (clip id0c1), driven by other frames' audio (dubbed).
        let rows = [5, 7, 9]
        let x0 = try teacher.space.encode(full.frames(rows: rows))
        let eps = GaussianNoise(seed: 99).tensor(shape: x0.shape)
        let xt = try FlowMath.noised(x0: x0, epsilon: eps, t: sigma)
        let audio = full.audio(rows: [1, 3, 2])
        let cond = Conditioning(clip: "q", identity: "id0", audioFeatures: audio)
        let post = try teacher.posterior(states: xt, sigmas: [sigma, sigma, sigma], conditioning: cond, branches: [.cond, .neg, .uncond])
        if precision != .automatic { #expect(post.usedFloat64 == (precision == .float64)) }
        for (b, ident, useAudio) in [(BranchName.cond, "id0" as String?, true), (.neg, "id0", false), (.uncond, nil, false)] {
            let got = post.x0[b]!
            for r in 0..<rows.count {
                let ref = bruteForce(bank: bank, kappa: 4, h: 0.7, identity: ident, useAudio: useAudio,
                                     state: (0..<d).map { Double(xt.data[r * d + $0]) }, sigma: sigma,
                                     audio: (0..<3).map { Double(audio.data[r * 3 + $0]) })
                let scale = ref.map(abs).max()!
                let err = (0..<d).map { abs(Double(got.data[r * d + $0]) - ref[$0]) }.max()!
                #expect(err <= tolerance * max(scale, 1), "branch \(b) row \(r): error \(err), scale \(scale)")
            }
            let ess = post.effectiveSampleSize[b]!
            #expect(ess.allSatisfy { $0 >= 1 && $0 <= Double(bank.count) + 1e-9 })
            // At large σ the posterior spreads over several frames: the weights are exercised.
            if sigma >= 0.5 { #expect(ess.max()! > 1.5, "ESS \(ess)") }
        }
    }

    @Test func automaticPrecisionSwitchesAtSmallSigma() throws {
        let bank = try TestBanks.random(side: 8)
        let teacher = try AnalyticTeacher(bank: bank, configuration: .init(kappa: 8))
        let x0 = try teacher.space.encode(bank.frames(rows: [0]))
        let cond = Conditioning(clip: "q", identity: "id0", audioFeatures: bank.audio(rows: [0]))
        #expect(try !teacher.posterior(states: x0, sigmas: [0.95], conditioning: cond, branches: [.cond]).usedFloat64)
        #expect(try teacher.posterior(states: x0, sigmas: [0.01], conditioning: cond, branches: [.cond]).usedFloat64)
        #expect(throws: ProbeError.self) { try teacher.posterior(states: x0, sigmas: [0], conditioning: cond, branches: [.cond]) }
    }

    @Test func heldOutClipsAreNotInTheBank() throws {
        let bank = try TestBanks.random()
        let teacher = try AnalyticTeacher(bank: bank, heldOut: ["id0c1", "id2c1"])
        #expect(teacher.bankCount == bank.count - 10)
        #expect(!teacher.bankClips.contains("id0c1"))
        #expect(throws: ProbeError.self) {
            try AnalyticTeacher(bank: bank, heldOut: Set(bank.clips))
        }
    }

    @Test func pcaSpaceRoundTripsBankFrames() throws {
        let bank = try TestBanks.random(side: 4, identities: 2, clipsPerIdentity: 2, framesPerClip: 5)
        // 20 frames span at most 19 centred directions: 19 components reconstruct exactly.
        let teacher = try AnalyticTeacher(bank: bank, configuration: .init(kappa: 2, workingSpace: .pca(components: 19)))
        let frames = bank.frames(rows: [0, 13])
        let back = try teacher.space.decode(teacher.space.encode(frames))
        #expect(back.maxAbsDifference(frames) < 1e-4)
        #expect(teacher.stateShape == [19])
        let ev = teacher.space.explainedVariance
        #expect(zip(ev, ev.dropFirst()).allSatisfy { $0 >= $1 })
        let few = try AnalyticTeacher(bank: bank, configuration: .init(workingSpace: .pca(components: 3)))
        #expect(try few.space.decode(few.space.encode(frames)).maxAbsDifference(frames) > 1e-3)
    }

    @Test func unknownIdentityAndMissingAudioAreErrors() throws {
        let bank = try TestBanks.random()
        let teacher = try AnalyticTeacher(bank: bank)
        let x = try teacher.space.encode(bank.frames(rows: [0]))
        #expect(throws: ProbeError.self) {
            try teacher.posterior(states: x, sigmas: [0.5], conditioning: Conditioning(clip: "q", identity: "nobody"), branches: [.neg])
        }
        #expect(throws: ProbeError.self) {
            try teacher.posterior(states: x, sigmas: [0.5], conditioning: Conditioning(clip: "q", identity: "id0"), branches: [.cond])
        }
    }
}

import Foundation
func _exp(_ x: Double) -> Double { Foundation.exp(x) }
