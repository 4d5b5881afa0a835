import Measurement

/// The embedded default teacher: the exact posterior-mean denoiser of a finite bank of frames,
/// conditioned on audio by kernel weights (see `AnalyticTeacher.md`).
///
/// `x0_hat = Σ_i π_i z_i`, `log π_i = -||x_t - (1-σ) z_i||² / (2σ²) + log w_i(c)`, where the z_i
/// are the bank's states in the working space (centred, scaled by κ). Branch priors:
/// - every branch except `uncond` is restricted to the clip's identity (the reference identity is
///   given to both CFG branches, as a V2V teacher sees the reference video in both); or, with
///   ``IdentityPrior/maskedReference(bandwidth:)``, every branch gets a kernel on the
///   mouth-masked reference frame over the whole bank;
/// - `cond` adds the audio kernel `log w_i = -||a - a_i||² / (2h²)` on standardised features;
/// - `text` (p(t,∅)) is identity only; `uncond` (p(∅,∅)) is the whole bank, uniform;
/// - `neg` is `text` under drop mode `audio-only` and `uncond` under `text+audio`.
///
/// One call costs one distance sgemm and one weighted-sum sgemm per branch, for any number of
/// guidance scales. σ must lie in (0, 1]; the probe never evaluates at σ = 0.
public struct AnalyticTeacher: Teacher {
    // MARK: - Configuration

    /// Every knob of the analytic teacher; stored with a study so its numbers can be reproduced.
    public struct Configuration: Sendable, Equatable, Hashable {
        /// Effective-SNR knob: the centred bank is multiplied by κ, so the teacher depends on σ
        /// only through κ(1-σ)/σ. κ = 4 on the synthetic 32x32x3 bank puts the CFG band of
        /// dubbed probes at steps ~25..40 (peak ~35); κ = 1 moves it to ~40..45.
        public var kappa: Double = 4
        /// Audio kernel width h in standardised feature units.
        public var audioBandwidth: Double = 0.7
        /// Standard deviation of Gaussian noise added once to the bank's standardised audio
        /// features, so that audio does not determine the mouth exactly (else w = 1 already
        /// saturates sync and CFG only overshoots). 0 when the features are already noisy.
        public var audioFeatureNoise: Double = 0.3
        /// Seed of that noise (``GaussianNoise``).
        public var noiseSeed: UInt64 = 0
        /// Where states live: bank pixels or a PCA latent (a stand-in for a VAE).
        public var workingSpace: WorkingSpaceKind = .pixels
        /// What the `neg` branch drops: audio only, or text and audio.
        public var dropMode: DropMode = .audioOnly
        /// Kernel arithmetic; `automatic` picks float64 only where the float32 logit error estimate is too large.
        public var precision: Precision = .automatic
        /// How the reference identity enters the branches.
        public var identityPrior: IdentityPrior = .identityBank

        /// The defaults are the embedded demo teacher: κ = 4, pixel states, audio-only drop, identity bank.
        public init(kappa: Double = 4, audioBandwidth: Double = 0.7, audioFeatureNoise: Double = 0.3,
                    noiseSeed: UInt64 = 0, workingSpace: WorkingSpaceKind = .pixels,
                    dropMode: DropMode = .audioOnly, precision: Precision = .automatic,
                    identityPrior: IdentityPrior = .identityBank) {
            self.identityPrior = identityPrior
            self.kappa = kappa
            self.audioBandwidth = audioBandwidth
            self.audioFeatureNoise = audioFeatureNoise
            self.noiseSeed = noiseSeed
            self.workingSpace = workingSpace
            self.dropMode = dropMode
            self.precision = precision
        }
    }

    /// Arithmetic of the kernel. `automatic` uses float64 when the estimated float32 error of the
    /// logits, `ε₃₂ (1-σ) max||x_t|| max||z_i|| / σ²`, exceeds ``AnalyticTeacher/float32LogitTolerance``
    /// (small σ, large κ), float32 otherwise.
    public enum Precision: String, Sendable, Equatable, Hashable, Codable {
        /// `automatic` decides per call from the error estimate; the others force one arithmetic.
        case automatic, float32, float64
    }

    /// The two ways DESIGN.md gives the reference identity to both CFG branches.
    public enum IdentityPrior: Sendable, Equatable, Hashable {
        /// The bank restricted to the clip's identity in every branch but `uncond` (default;
        /// needs `Conditioning.identity` to name an identity of the bank).
        case identityBank
        /// A kernel on the mouth-masked reference frame over the whole bank, in every branch:
        /// `log w_i += -‖m ⊙ (r - x_i)‖² / (2 h_r²)`, pixels in [0, 1], `m` = 1 outside the mouth.
        /// Needs `Conditioning.referenceFrames` and `Conditioning.keepMask`. There is no text
        /// here, so `uncond` equals `text` and both drop modes give the same negative branch.
        case maskedReference(bandwidth: Double)
    }

    /// Largest acceptable estimated float32 logit error before `automatic` switches to float64.
    public static let float32LogitTolerance = 1e-2

    // MARK: - Teacher

    /// Name recorded with every unit (`analytic` unless given).
    public let name: String
    /// The knobs the teacher was built with.
    public let configuration: Configuration
    /// The fitted map between frames and states.
    public let space: WorkingSpace
    /// Always x0: the teacher computes the posterior mean directly.
    public var predictionKind: PredictionKind { .x0 }
    /// All four branches: single-scale CFG's `cond`/`neg` and two-scale guidance's `text`/`uncond`.
    public var supportedBranches: Set<BranchName> { [.cond, .neg, .uncond, .text] }
    /// One row is the working space's dimension.
    public var stateShape: [Int]? { [space.dimension] }

    // MARK: - Bank, sorted by identity

    /// Bank states, sorted by identity: `count × dimension`, in both precisions.
    package let states32: [Float]
    let states64: [Double]
    let squaredNorms32: [Float]
    let squaredNorms64: [Double]
    let maxNorm: Double
    /// Standardised (and noised) audio features, `count × featureCount`.
    let features: [Float]
    let featureMean: [Double]
    let featureStd: [Double]
    let featureCount: Int
    /// Bank rows of each identity, contiguous (bank states are sorted by identity).
    package let identityRanges: [String: Range<Int>]
    /// Bank frames in pixels, sorted like the states (kept only for the masked-reference prior).
    let pixelFrames: [Float]
    let pixelFrames64: [Double]
    /// Bank frames the teacher averages over (held-out probe clips excluded).
    public let bankCount: Int
    /// The identity of each (sorted) bank row and its clip, for diagnostics.
    public let bankClips: [String]

    // MARK: - Building

    /// Builds the teacher over `bank` minus `heldOut` clips (the probes).
    public init(bank fullBank: FrameBank, heldOut: Set<String> = [], configuration: Configuration = Configuration(),
                name: String = "analytic") throws(ProbeError) {
        let bank = fullBank.excluding(clips: heldOut)
        guard bank.count > 0 else { throw .invalidBank("no frames left after holding out \(heldOut.count) probe clips") }
        guard configuration.audioBandwidth > 0 else { throw .invalidBank("audio bandwidth must be positive") }
        guard configuration.audioFeatureNoise >= 0 else { throw .invalidBank("audio feature noise must be non-negative") }
        self.name = name
        self.configuration = configuration
        let order = (0..<bank.count).sorted { (bank.identities[$0], $0) < (bank.identities[$1], $1) }
        var ranges: [String: Range<Int>] = [:]
        var start = 0
        for (pos, row) in order.enumerated() {
            let id = bank.identities[row]
            if pos + 1 == order.count || bank.identities[order[pos + 1]] != id {
                ranges[id] = start..<(pos + 1)
                start = pos + 1
            }
        }
        identityRanges = ranges
        bankCount = bank.count
        bankClips = order.map { bank.clips[$0] }
        let d = bank.frameSize
        var sorted = [Float](repeating: 0, count: bank.count * d)
        for (pos, row) in order.enumerated() {
            for j in 0..<d { sorted[pos * d + j] = bank.frames[row * d + j] }
        }
        if case .maskedReference(let h) = configuration.identityPrior {
            guard h > 0 else { throw .invalidBank("masked-reference bandwidth must be positive") }
            pixelFrames = sorted
            pixelFrames64 = sorted.map(Double.init)
        } else {
            pixelFrames = []
            pixelFrames64 = []
        }
        space = try WorkingSpace(kind: configuration.workingSpace, kappa: configuration.kappa,
                                 frames: sorted, count: bank.count, frameSize: d)
        states64 = space.encodeDouble(sorted, count: bank.count)
        states32 = states64.map(Float.init)
        let k = space.dimension
        var sq64 = [Double](repeating: 0, count: bank.count)
        for i in 0..<bank.count {
            var s = 0.0
            for j in 0..<k { let v = states64[i * k + j]; s += v * v }
            sq64[i] = s
        }
        squaredNorms64 = sq64
        squaredNorms32 = sq64.map(Float.init)
        maxNorm = sq64.max()!.squareRoot()

        let f = bank.featureCount
        featureCount = f
        var mean = [Double](repeating: 0, count: f), std = [Double](repeating: 0, count: f)
        for i in 0..<bank.count { for c in 0..<f { mean[c] += Double(bank.audioFeatures[i * f + c]) } }
        mean = mean.map { $0 / Double(bank.count) }
        for i in 0..<bank.count { for c in 0..<f { let v = Double(bank.audioFeatures[i * f + c]) - mean[c]; std[c] += v * v } }
        std = std.map { max(($0 / Double(bank.count)).squareRoot(), 1e-12) }
        featureMean = mean
        featureStd = std
        let noise = GaussianNoise(seed: configuration.noiseSeed)
        var feats = [Float](repeating: 0, count: bank.count * f)
        for (pos, row) in order.enumerated() {
            for c in 0..<f {
                let standardised = (Double(bank.audioFeatures[row * f + c]) - mean[c]) / std[c]
                feats[pos * f + c] = Float(standardised + configuration.audioFeatureNoise * noise.value(pos * f + c))
            }
        }
        features = feats
    }

    /// Identities present in the bank.
    public var identities: [String] { identityRanges.keys.sorted() }

    // MARK: - Posterior

    /// The branches' full result: x0 per branch, effective sample size `1/Σπ²` per row and
    /// branch, and which precision ran.
    public struct Posterior: Sendable {
        /// x0 prediction per branch, `[B, dimension]`.
        public var x0: [BranchName: Tensor]
        /// Per branch and row, `1/Σπ²`: how many bank frames the posterior effectively averages.
        public var effectiveSampleSize: [BranchName: [Double]]
        /// Whether the float64 kernel ran (forced or chosen by `automatic`).
        public var usedFloat64: Bool
    }

    /// The x0 of posterior(states:sigmas:conditioning:branches:) without the diagnostics.
    public func predict(states: Tensor, sigmas: [Double], conditioning: Conditioning,
                        branches: [BranchName]) throws -> [BranchName: Tensor] {
        try posterior(states: states, sigmas: sigmas, conditioning: conditioning, branches: branches).x0
    }

    /// Resolves `neg` to what it drops.
    func resolved(_ b: BranchName) -> BranchName { b == .neg ? configuration.dropMode.equivalentBranch : b }

    /// The exact posterior over the bank for each branch: x0, effective sample size and the
    /// precision used; throws on a state size or σ the teacher cannot evaluate.
    public func posterior(states: Tensor, sigmas: [Double], conditioning: Conditioning,
                          branches: [BranchName]) throws(ProbeError) -> Posterior {
        let k = space.dimension
        guard states.rowSize == k, states.rows > 0 else {
            throw .shapeMismatch(what: "analytic teacher states", expected: [states.rows, k], got: states.shape)
        }
        guard sigmas.count == states.rows else {
            throw .shapeMismatch(what: "sigmas", expected: [states.rows], got: [sigmas.count])
        }
        for s in sigmas where !(s > 0 && s <= 1) { throw .invalidSchedule("analytic teacher evaluated at σ = \(s)") }
        for b in branches where !supportedBranches.contains(b) { throw .missingBranch(teacher: name, branch: b.rawValue) }
        var restriction: Range<Int>?
        var visual: [Float] = []
        switch configuration.identityPrior {
        case .identityBank:
            guard let r = identityRanges[conditioning.identity] else {
                throw .invalidBank("identity '\(conditioning.identity)' of clip '\(conditioning.clip)' has no frames in the bank")
            }
            restriction = r
        case .maskedReference(let h):
            if let cached = conditioning.cachedVisualPrior, cached.count == states.rows * bankCount {
                visual = cached
            } else {
                visual = try maskedReferencePrior(conditioning: conditioning, rows: states.rows, bandwidth: h)
            }
        }
        let kinds = branches.map(resolved)
        let needsAudio = kinds.contains(.cond)
        var query: [Float] = []
        if needsAudio {
            guard let a = conditioning.audioFeatures, a.rows == states.rows, a.rowSize == featureCount else {
                throw .shapeMismatch(what: "audio features of clip '\(conditioning.clip)'",
                                     expected: [states.rows, featureCount], got: conditioning.audioFeatures?.shape ?? [0])
            }
            query = [Float](repeating: 0, count: a.count)
            for r in 0..<a.rows { for c in 0..<featureCount {
                query[r * featureCount + c] = Float((Double(a.data[r * featureCount + c]) - featureMean[c]) / featureStd[c])
            } }
        }
        let columns = restriction == nil || kinds.contains(.uncond) ? 0..<bankCount : restriction!
        let useDouble: Bool
        switch configuration.precision {
        case .float32: useDouble = false
        case .float64: useDouble = true
        case .automatic: useDouble = estimatedFloat32LogitError(states: states, sigmas: sigmas) > AnalyticTeacher.float32LogitTolerance
        }
        var out = Posterior(x0: [:], effectiveSampleSize: [:], usedFloat64: useDouble)
        let plan = KernelPlan(rows: states.rows, dim: k, columns: columns, identity: restriction, visual: visual, sigmas: sigmas,
                              query: query, featureCount: featureCount, bandwidth: configuration.audioBandwidth)
        let results: [([Float], [Double])]
        if useDouble {
            results = plan.run(states: states.data.map(Double.init), bank: states64, norms: squaredNorms64,
                               features: features, kinds: kinds).map { ($0.0.map(Float.init), $0.1) }
        } else {
            results = plan.run(states: states.data, bank: states32, norms: squaredNorms32, features: features, kinds: kinds)
        }
        for (b, r) in zip(branches, results) {
            out.x0[b] = Tensor(unchecked: states.shape, r.0)
            out.effectiveSampleSize[b] = r.1
        }
        return out
    }

    // MARK: - Conditioning priors

    /// The conditioning with the per-clip parts of the posterior precomputed (the masked-reference
    /// prior); the same conditioning otherwise. Predictions are identical either way.
    public func prepared(_ c: Conditioning) throws(ProbeError) -> Conditioning {
        guard case .maskedReference(let h) = configuration.identityPrior, let ref = c.referenceFrames else { return c }
        var out = c
        out.cachedVisualPrior = try maskedReferencePrior(conditioning: c, rows: ref.rows, bandwidth: h)
        return out
    }

    /// `-‖m ⊙ (r - x_i)‖² / (2h²)` for every row's reference r and bank frame i (`rows × count`),
    /// through one dgemm with the ‖m ⊙ r‖² row constant dropped.
    ///
    /// Float64, then rounded: the terms are hundreds of units (thousands of pixels over h² = 0.25)
    /// and a float32 sum of them is off by ~1e-4, which a sharp posterior turns into 1e-3 changes
    /// of the prediction. Computed once per clip, so the cost does not matter; the rounded result
    /// is also what a float64 reimplementation (tools/teacher_server) reproduces bit for bit.
    func maskedReferencePrior(conditioning c: Conditioning, rows: Int, bandwidth h: Double) throws(ProbeError) -> [Float] {
        let d = space.frameSize, n = bankCount
        guard let ref = c.referenceFrames, ref.rows == rows, ref.rowSize == d else {
            throw .shapeMismatch(what: "reference frames of clip '\(c.clip)' (masked-reference prior)", expected: [rows, d],
                                 got: c.referenceFrames?.shape ?? [0])
        }
        guard let mask = c.keepMask, mask.count > 0, d % mask.count == 0 else {
            throw .shapeMismatch(what: "keep mask of clip '\(c.clip)'", expected: [d / 3], got: [c.keepMask?.count ?? 0])
        }
        let channels = d / mask.count
        var masked = [Double](repeating: 0, count: rows * d)
        for r in 0..<rows { for j in 0..<d { masked[r * d + j] = Double(ref.data[r * d + j] * mask[j / channels]) } }
        let pixels = pixelFrames64
        var out = [Double](repeating: 0, count: rows * n)
        masked.withUnsafeBufferPointer { a in pixels.withUnsafeBufferPointer { b in out.withUnsafeMutableBufferPointer { o in
            Double.gemm(transB: true, m: rows, n: n, k: d, a: a.baseAddress!, lda: d, b: b.baseAddress!, ldb: d, c: o.baseAddress!, ldc: n)
        } } }
        let inv = 1 / (2 * h * h)
        var prior = [Float](repeating: 0, count: rows * n)
        for i in 0..<n {
            var sq = 0.0
            for j in 0..<d { let v = pixels[i * d + j]; sq += Double(mask[j / channels]) * v * v }
            for r in 0..<rows { prior[r * n + i] = Float((2 * out[r * n + i] - sq) * inv) }
        }
        return prior
    }

    // MARK: - Precision

    /// `ε₃₂ (1-σ) max||x_t|| max||z_i|| / σ²`, the worst row.
    func estimatedFloat32LogitError(states: Tensor, sigmas: [Double]) -> Double {
        let k = states.rowSize
        var worst = 0.0
        states.data.withUnsafeBufferPointer { s in
            for r in 0..<states.rows {
                var n = 0.0
                for j in 0..<k { let v = Double(s[r * k + j]); n += v * v }
                let sg = sigmas[r]
                worst = max(worst, Double(Float.ulpOfOne) * (1 - sg) * n.squareRoot() * maxNorm / (sg * sg))
            }
        }
        return worst
    }
}

/// One call's shapes and priors; `run` is the hot path, generic over the precision.
struct KernelPlan {
    let rows: Int
    let dim: Int
    let columns: Range<Int>
    /// Rows every branch but `uncond` is restricted to; nil for none.
    let identity: Range<Int>?
    /// Optional prior added to every branch, `rows × bankCount` (masked-reference kernel).
    let visual: [Float]
    let sigmas: [Double]
    let query: [Float]
    let featureCount: Int
    let bandwidth: Double

    /// For each branch kind: x0 rows (`rows × dim`) and the effective sample size per row.
    func run<T: GEMMScalar>(states: [T], bank: [T], norms: [T], features: [Float], kinds: [BranchName]) -> [([T], [Double])] {
        let n = columns.count, c0 = columns.lowerBound
        // Distance part shared by all branches: G = X_t Zᵀ over the needed columns.
        var g = [T](repeating: 0, count: rows * n)
        states.withUnsafeBufferPointer { s in bank.withUnsafeBufferPointer { z in g.withUnsafeMutableBufferPointer { o in
            T.gemm(transB: true, m: rows, n: n, k: dim, a: s.baseAddress!, lda: dim,
                   b: z.baseAddress! + c0 * dim, ldb: dim, c: o.baseAddress!, ldc: n)
        } } }
        // logits = (a G - a²/2 ||z||²) / σ²  (the ||x_t||² row constant dropped).
        norms.withUnsafeBufferPointer { sq in g.withUnsafeMutableBufferPointer { o in
            for r in 0..<rows {
                let sg = sigmas[r], a = 1 - sg
                let ta = T(a / (sg * sg)), tb = T(a * a / (2 * sg * sg))
                let base = r * n
                for j in 0..<n { o[base + j] = ta * o[base + j] - tb * sq[c0 + j] }
            }
        } }
        var audio: [T] = []
        if kinds.contains(.cond) {
            audio = [T](repeating: 0, count: rows * n)
            let inv = 1 / (2 * bandwidth * bandwidth), f = featureCount
            features.withUnsafeBufferPointer { bf in query.withUnsafeBufferPointer { q in audio.withUnsafeMutableBufferPointer { o in
                for r in 0..<rows {
                    for j in 0..<n {
                        var d2: Float = 0
                        for c in 0..<f { let v = q[r * f + c] - bf[(c0 + j) * f + c]; d2 += v * v }
                        o[r * n + j] = T(-Double(d2) * inv)
                    }
                }
            } } }
        }
        var results: [([T], [Double])] = []
        var p = [T](repeating: 0, count: rows * n)
        for kind in kinds {
            let restricted = kind != .uncond && identity != nil
            let lo = restricted ? identity!.lowerBound - c0 : 0
            let hi = restricted ? identity!.upperBound - c0 : n
            let useAudio = kind == .cond
            let useVisual = !visual.isEmpty
            let bankCount = visual.count / max(rows, 1)
            var ess = [Double](repeating: 0, count: rows)
            g.withUnsafeBufferPointer { lg in audio.withUnsafeBufferPointer { la in p.withUnsafeMutableBufferPointer { pp in
                for r in 0..<rows {
                    let base = r * n
                    var m = -T.infinity
                    for j in lo..<hi {
                        var v = useAudio ? lg[base + j] + la[base + j] : lg[base + j]
                        if useVisual { v += T(visual[r * bankCount + c0 + j]) }
                        pp[base + j] = v
                        if v > m { m = v }
                    }
                    var sum: T = 0
                    for j in 0..<n {
                        if j < lo || j >= hi { pp[base + j] = 0; continue }
                        let e = T.expo(pp[base + j] - m)
                        pp[base + j] = e
                        sum += e
                    }
                    let inv = 1 / sum
                    var s2 = 0.0
                    for j in lo..<hi { let w = pp[base + j] * inv; pp[base + j] = w; s2 += Double(w) * Double(w) }
                    ess[r] = 1 / s2
                }
            } } }
            var x0 = [T](repeating: 0, count: rows * dim)
            p.withUnsafeBufferPointer { pp in bank.withUnsafeBufferPointer { z in x0.withUnsafeMutableBufferPointer { o in
                T.gemm(transB: false, m: rows, n: dim, k: n, a: pp.baseAddress!, lda: n,
                       b: z.baseAddress! + c0 * dim, ldb: dim, c: o.baseAddress!, ldc: dim)
            } } }
            results.append((x0, ess))
        }
        return results
    }
}
