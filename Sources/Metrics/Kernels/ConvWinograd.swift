import CKernels
import Dispatch

/// Winograd minimal filtering `F(2x2, 3x3)` (Lavin & Gray 2016) for stride-1 3x3
/// convolutions: each 2x2 output tile costs 16 multiplications per channel pair instead of 36,
/// the products being 16 independent sgemms `U_ξ[Cout x Cin] * V_ξ[Cin x T]` over all tiles `T`
/// of the batch.
///
/// The transforms come from the Toom–Cook construction on the points `0, ±1` and infinity,
/// computed in Double (Lavin's matrices); input-transform rows are scaled so their largest entry
/// is 1 (the filter transform absorbs the scale). Its float error stays within the im2col
/// path's tolerances; `F(2x2, 5x5)` (points `0, ±1, ±1/2`) was measured 5x over them and is not
/// used.
struct WinogradTransform: Sendable {
    /// Kernel side `r`; tiles are `alpha = r + 1` wide and yield 2x2 outputs.
    let r: Int
    let alpha: Int
    /// `alpha x alpha`, applied to each input tile as `Bᵀ d B`.
    let bt: [Float]
    /// `2 x alpha`, applied to each product tile as `Aᵀ m A`.
    let at: [Float]
    /// `alpha x r` in Double, applied to each filter as `G g Gᵀ` once at load time.
    let g: [Double]

    init(r: Int) {
        precondition(r == 3, "Winograd: kernel \(r) unsupported")
        let points: [Double] = [0, 1, -1]
        let alpha = r + 1, m = 2
        // Row j evaluates a polynomial at points[j]; the last row (infinity) takes its leading
        // coefficient.
        func vandermonde(columns: Int) -> [Double] {
            var v = [Double](repeating: 0, count: alpha * columns)
            for j in 0..<(alpha - 1) { for k in 0..<columns { v[j * columns + k] = Self.pow(points[j], k) } }
            v[(alpha - 1) * columns + columns - 1] = 1
            return v
        }
        // Correlation y = V_hᵀ [(V_g g) ⊙ (V⁻ᵀ d)]: Aᵀ = V_hᵀ, G = V_g, Bᵀ = V⁻ᵀ.
        let vh = vandermonde(columns: m), vg = vandermonde(columns: r)
        let vInverse = Self.inverse(vandermonde(columns: alpha), n: alpha)
        var bt = [Double](repeating: 0, count: alpha * alpha)
        for j in 0..<alpha { for k in 0..<alpha { bt[j * alpha + k] = vInverse[k * alpha + j] } }
        var g = vg
        for j in 0..<alpha {
            let scale = (0..<alpha).map { abs(bt[j * alpha + $0]) }.max()!
            for k in 0..<alpha { bt[j * alpha + k] /= scale }
            for k in 0..<r { g[j * r + k] *= scale }
        }
        self.r = r
        self.alpha = alpha
        self.bt = bt.map { Float($0) }
        self.at = (0..<(m * alpha)).map { Float(vh[($0 % alpha) * m + $0 / alpha]) }
        self.g = g
    }

    /// `x^k` for small integer `k` (exact for the points used).
    static func pow(_ x: Double, _ k: Int) -> Double {
        var p = 1.0
        for _ in 0..<k { p *= x }
        return p
    }

    /// Gauss–Jordan inverse with partial pivoting of an `n x n` row-major matrix.
    static func inverse(_ a: [Double], n: Int) -> [Double] {
        var a = a
        var inv = [Double](repeating: 0, count: n * n)
        for i in 0..<n { inv[i * n + i] = 1 }
        for col in 0..<n {
            let pivot = (col..<n).max { abs(a[$0 * n + col]) < abs(a[$1 * n + col]) }!
            if pivot != col {
                for k in 0..<n {
                    a.swapAt(col * n + k, pivot * n + k)
                    inv.swapAt(col * n + k, pivot * n + k)
                }
            }
            let d = a[col * n + col]
            for k in 0..<n { a[col * n + k] /= d; inv[col * n + k] /= d }
            for row in 0..<n where row != col {
                let f = a[row * n + col]
                if f == 0 { continue }
                for k in 0..<n { a[row * n + k] -= f * a[col * n + k]; inv[row * n + k] -= f * inv[col * n + k] }
            }
        }
        return inv
    }

    /// `U[ξ][co][ci] = (G w[co][ci] Gᵀ)_ξ`, `alpha² x Cout x Cin`, from PyTorch-layout weights.
    func filter(_ weight: [Float], outChannels: Int, inChannels: Int) -> [Float] {
        let alpha = self.alpha, r = self.r, a2 = alpha * alpha, pairs = outChannels * inChannels
        precondition(weight.count == pairs * r * r, "Winograd: weight count")
        var u = [Float](repeating: 0, count: a2 * pairs)
        var tmp = [Double](repeating: 0, count: alpha * r)
        for pair in 0..<pairs {
            let w = pair * r * r
            for i in 0..<alpha {
                for k in 0..<r {
                    var s = 0.0
                    for l in 0..<r { s += g[i * r + l] * Double(weight[w + l * r + k]) }
                    tmp[i * r + k] = s
                }
            }
            for i in 0..<alpha {
                for j in 0..<alpha {
                    var s = 0.0
                    for k in 0..<r { s += tmp[i * r + k] * g[j * r + k] }
                    u[(i * alpha + j) * pairs + pair] = Float(s)
                }
            }
        }
        return u
    }
}

/// A stride-1 square convolution's Winograd form (see ``WinogradTransform``).
struct WinogradConv: Sendable {
    let transform: WinogradTransform
    let outChannels: Int
    let inChannels: Int
    let pad: Int
    /// `alpha² x Cout x Cin`.
    let u: [Float]

    init(weight: [Float], outChannels: Int, inChannels: Int, kernel: Int, pad: Int) {
        transform = WinogradTransform(r: kernel)
        self.outChannels = outChannels
        self.inChannels = inChannels
        self.pad = pad
        u = transform.filter(weight, outChannels: outChannels, inChannels: inChannels)
    }

    /// The convolution of `input` plus `bias`, then ReLU if asked. `scratch` holds the
    /// transformed input and the products (grown when too small). `parallel: false` keeps the
    /// transforms on the calling thread (callers running one batch per core).
    func apply(_ input: FeatureMap, bias: [Float], relu: Bool, scratch: inout [Float], parallel: Bool = true) -> FeatureMap {
        precondition(transform.alpha == 4 && input.channels == inChannels && bias.count == outChannels, "Winograd: sizes")
        let r = transform.r, a2 = 16
        let h = input.height, w = input.width, batch = input.batch
        let oh = h + 2 * pad - r + 1, ow = w + 2 * pad - r + 1
        let th = (oh + 1) / 2, tw = (ow + 1) / 2
        let tiles = batch * th * tw
        let cin = inChannels, cout = outChannels
        let vCount = a2 * cin * tiles, mCount = a2 * cout * tiles
        if scratch.count < vCount + mCount {
            scratch = [Float](unsafeUninitializedCapacity: vCount + mCount) { _, filled in filled = vCount + mCount }
        }
        var output = FeatureMap(channels: cout, batch: batch, height: oh, width: ow, uninitialized: ())
        let status = _KernelStatus()
        scratch.withUnsafeMutableBufferPointer { s in
            let v = s.baseAddress!, m = s.baseAddress! + vCount
            input.data.withUnsafeBufferPointer { x in
                // Input transform, (channel, image) planes split over the cores.
                let job = tp_winograd_input_job(x: x.baseAddress!, channels: Int32(cin), batch: Int32(batch),
                                                height: Int32(h), width: Int32(w), pad: Int32(pad),
                                                tile_rows: Int32(th), tile_cols: Int32(tw), v: v, tiles: tiles)
                let planes = cin * batch
                let chunks = parallel && vCount >= 1 << 16 ? min(planes, 8) : 1
                withUnsafePointer(to: job) { job in
                    let address = UInt(bitPattern: job)
                    DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
                        let job = UnsafePointer<tp_winograd_input_job>(bitPattern: address)!
                        status.record(tp_winograd_input(job, Int32(chunk * planes / chunks), Int32((chunk + 1) * planes / chunks)))
                    }
                }
            }
            u.withUnsafeBufferPointer { uw in
                for xi in 0..<a2 {
                    sgemm(m: cout, n: tiles, k: cin, a: uw.baseAddress! + xi * cout * cin, lda: cin,
                          b: v + xi * cin * tiles, ldb: tiles, c: m + xi * cout * tiles, ldc: tiles)
                }
            }
            // Output transform, bias and ReLU, output channels split over the cores.
            output.data.withUnsafeMutableBufferPointer { out in
                bias.withUnsafeBufferPointer { b in
                    let job = tp_winograd_output_job(m: m, bias: b.baseAddress!, channels: Int32(cout), batch: Int32(batch),
                                                     out_height: Int32(oh), out_width: Int32(ow),
                                                     tile_rows: Int32(th), tile_cols: Int32(tw), relu: relu ? 1 : 0,
                                                     tiles: tiles, out: out.baseAddress!)
                    let chunks = parallel && mCount >= 1 << 16 ? min(cout, 8) : 1
                    withUnsafePointer(to: job) { job in
                        let address = UInt(bitPattern: job)
                        DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
                            let job = UnsafePointer<tp_winograd_output_job>(bitPattern: address)!
                            status.record(tp_winograd_output(job, Int32(chunk * cout / chunks), Int32((chunk + 1) * cout / chunks)))
                        }
                    }
                }
            }
        }
        // The sizes are derived above and a few kilobytes of scratch per call: a failure here is
        // a bug or an exhausted machine, not bad input.
        precondition(!status.failed, "Winograd: transform kernel failed (\(status.code))")
        return output
    }
}
