import CBLAS
import Measurement

/// Where the analytic teacher's states live, and the map between that space and frames.
///
/// Both spaces are centred on the bank mean μ and scaled by κ (DESIGN.md's effective-SNR knob),
/// so noise of variance 1 meets a signal whose size κ sets: `z = κ (x - μ) [V]`,
/// `x = z [Vᵀ] / κ + μ`.
public enum WorkingSpaceKind: Sendable, Equatable, Hashable {
    /// Pixels of the bank's frames (use small frames, 32x32x3 or 48x48x3).
    case pixels
    /// The top `components` principal directions of the centred bank (a stand-in for a VAE
    /// latent); predictions are decoded back to frames through the basis.
    case pca(components: Int)
}

/// The fitted map between frames and states.
public struct WorkingSpace: Sendable {
    // MARK: - Fitted map

    /// Pixels or PCA, and how many components.
    public let kind: WorkingSpaceKind
    /// The scale κ applied to centred frames (DESIGN.md's effective-SNR knob).
    public let kappa: Double
    /// Bank mean, `frameSize` values.
    public let mean: [Float]
    /// PCA basis, `frameSize × components` row-major (empty for pixels).
    public let basis: [Float]
    /// Eigenvalues of the bank covariance for the kept components, descending (empty for pixels).
    public let explainedVariance: [Double]
    /// Values per frame, `H*W*C`.
    public let frameSize: Int
    /// Double twins of `mean` and `basis`: the bank's states are computed from these so that the
    /// float64 kernel is not limited by Float-rounded bank states (at σ = 0.01, κ = 40 that
    /// rounding alone moves logits by ~10).
    let mean64: [Double]
    let basis64: [Double]

    /// Dimension of one state row.
    public var dimension: Int {
        switch kind {
        case .pixels: return frameSize
        case .pca(let k): return k
        }
    }

    // MARK: - Fitting

    /// Fits the space to `frames` (`count × frameSize`).
    public init(kind: WorkingSpaceKind, kappa: Double, frames: [Float], count: Int, frameSize: Int) throws(ProbeError) {
        guard kappa > 0, kappa.isFinite else { throw .invalidBank("kappa must be positive, got \(kappa)") }
        guard count > 0 else { throw .invalidBank("empty bank") }
        self.kind = kind
        self.kappa = kappa
        self.frameSize = frameSize
        var mu = [Double](repeating: 0, count: frameSize)
        for i in 0..<count { for j in 0..<frameSize { mu[j] += Double(frames[i * frameSize + j]) } }
        mu = mu.map { $0 / Double(count) }
        mean64 = mu
        mean = mu.map(Float.init)
        switch kind {
        case .pixels:
            basis64 = []
            explainedVariance = []
        case .pca(let k):
            guard k >= 1, k <= min(count, frameSize) else {
                throw .invalidBank("pca components \(k) must lie in 1...\(min(count, frameSize)) for \(count) frames of \(frameSize) values")
            }
            (basis64, explainedVariance) = try WorkingSpace.principalAxes(frames: frames, mean: mu, count: count, d: frameSize, k: k)
        }
        basis = basis64.map(Float.init)
    }

    /// Top-k eigenvectors of the centred bank's covariance through LAPACK `dsyev_`, on the
    /// covariance (D×D) or the Gram matrix (N×N), whichever is smaller.
    static func principalAxes(frames: [Float], mean: [Double], count n: Int, d: Int, k: Int) throws(ProbeError) -> ([Double], [Double]) {
        var xc = [Double](repeating: 0, count: n * d)
        for i in 0..<n { for j in 0..<d { xc[i * d + j] = Double(frames[i * d + j]) - mean[j] } }
        let useGram = n < d
        let m = useGram ? n : d
        var a = [Double](repeating: 0, count: m * m)
        xc.withUnsafeBufferPointer { x in
            a.withUnsafeMutableBufferPointer { c in
                if useGram {
                    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(n), Int32(n), Int32(d), 1 / Double(n),
                                x.baseAddress, Int32(d), x.baseAddress, Int32(d), 0, c.baseAddress, Int32(n))
                } else {
                    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(d), Int32(d), Int32(n), 1 / Double(n),
                                x.baseAddress, Int32(d), x.baseAddress, Int32(d), 0, c.baseAddress, Int32(d))
                }
            }
        }
        // Symmetric, so row-major equals column-major; eigenvalues come back ascending, vectors
        // as columns of the column-major result (= rows of the row-major view).
        var w = [Double](repeating: 0, count: m)
        var info: Int32 = 0
        var nn = Int32(m), lda = Int32(m), lwork: Int32 = -1
        var query = 0.0
        var jobz = Int8(UInt8(ascii: "V")), uplo = Int8(UInt8(ascii: "U"))
        dsyev_(&jobz, &uplo, &nn, &a, &lda, &w, &query, &lwork, &info)
        guard info == 0 else { throw .lapack(routine: "dsyev_ (workspace query)", info: Int(info)) }
        lwork = Int32(query)
        var work = [Double](repeating: 0, count: Int(lwork))
        dsyev_(&jobz, &uplo, &nn, &a, &lda, &w, &work, &lwork, &info)
        guard info == 0 else { throw .lapack(routine: "dsyev_", info: Int(info)) }
        var values = [Double]()
        // Top-k eigenvectors as the columns of a row-major (m × k) matrix, descending.
        var top = [Double](repeating: 0, count: m * k)
        for c in 0..<k {
            let e = m - 1 - c
            values.append(max(w[e], 0))
            for i in 0..<m { top[i * k + c] = a[e * m + i] }
        }
        var basis64: [Double]
        if useGram {
            // v = Xcᵀ u / sqrt(n λ): unit-norm covariance eigenvectors from the Gram ones.
            basis64 = [Double](repeating: 0, count: d * k)
            xc.withUnsafeBufferPointer { x in top.withUnsafeBufferPointer { u in basis64.withUnsafeMutableBufferPointer { o in
                cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(d), Int32(k), Int32(n), 1,
                            x.baseAddress, Int32(d), u.baseAddress, Int32(k), 0, o.baseAddress, Int32(k))
            } } }
            for c in 0..<k {
                let scale = values[c] > 0 ? 1 / (Double(n) * values[c]).squareRoot() : 0
                for j in 0..<d { basis64[j * k + c] *= scale }
            }
        } else {
            basis64 = top
        }
        return (basis64, values)
    }

    // MARK: - Encoding and decoding

    /// Frames (`count × frameSize`) to states in Double, for the teacher's bank.
    func encodeDouble(_ frames: [Float], count b: Int) -> [Double] {
        var centred = [Double](repeating: 0, count: b * frameSize)
        for i in 0..<b { for j in 0..<frameSize { centred[i * frameSize + j] = kappa * (Double(frames[i * frameSize + j]) - mean64[j]) } }
        guard case .pca(let k) = kind else { return centred }
        var out = [Double](repeating: 0, count: b * k)
        centred.withUnsafeBufferPointer { x in basis64.withUnsafeBufferPointer { v in out.withUnsafeMutableBufferPointer { o in
            Double.gemm(transB: false, m: b, n: k, k: frameSize, a: x.baseAddress!, lda: frameSize,
                        b: v.baseAddress!, ldb: k, c: o.baseAddress!, ldc: k)
        } } }
        return out
    }

    /// Frames (`[B, frameSize]` or `[B, H, W, C]`) to states `[B, dimension]`.
    public func encode(_ frames: Tensor) throws(ProbeError) -> Tensor {
        guard frames.rowSize == frameSize else {
            throw .shapeMismatch(what: "frames to encode", expected: [frames.rows, frameSize], got: frames.shape)
        }
        let b = frames.rows
        var centred = frames.data
        for i in 0..<b { for j in 0..<frameSize { centred[i * frameSize + j] = Float(kappa) * (centred[i * frameSize + j] - mean[j]) } }
        switch kind {
        case .pixels:
            return Tensor(unchecked: [b, frameSize], centred)
        case .pca(let k):
            var out = [Float](repeating: 0, count: b * k)
            centred.withUnsafeBufferPointer { x in basis.withUnsafeBufferPointer { v in out.withUnsafeMutableBufferPointer { o in
                Float.gemm(transB: false, m: b, n: k, k: frameSize, a: x.baseAddress!, lda: frameSize,
                           b: v.baseAddress!, ldb: k, c: o.baseAddress!, ldc: k)
            } } }
            return Tensor(unchecked: [b, k], out)
        }
    }

    /// States `[B, dimension]` back to frames `[B, frameSize]` (not clipped: metrics clip).
    public func decode(_ states: Tensor) throws(ProbeError) -> Tensor {
        guard states.rowSize == dimension else {
            throw .shapeMismatch(what: "states to decode", expected: [states.rows, dimension], got: states.shape)
        }
        let b = states.rows
        var out: [Float]
        switch kind {
        case .pixels:
            out = states.data
        case .pca(let k):
            out = [Float](repeating: 0, count: b * frameSize)
            states.data.withUnsafeBufferPointer { z in basis.withUnsafeBufferPointer { v in out.withUnsafeMutableBufferPointer { o in
                Float.gemm(transB: true, m: b, n: frameSize, k: k, a: z.baseAddress!, lda: k,
                           b: v.baseAddress!, ldb: k, c: o.baseAddress!, ldc: frameSize)
            } } }
        }
        let inv = Float(1 / kappa)
        for i in 0..<b { for j in 0..<frameSize { out[i * frameSize + j] = out[i * frameSize + j] * inv + mean[j] } }
        return Tensor(unchecked: [b, frameSize], out)
    }
}
