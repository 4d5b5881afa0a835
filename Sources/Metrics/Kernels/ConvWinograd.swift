import CKernels
import Dispatch

/// Winograd minimal filtering `F(2x2, r x r)` (Lavin & Gray 2016) for stride-1 3x3 and 5x5
/// convolutions: each 2x2 output tile costs `(r + 1)²` multiplications per channel pair instead
/// of `4 r²` (16 for 36, 36 for 100), the products being `(r + 1)²` independent sgemms
/// `U_ξ[Cout x Cin] * V_ξ[Cin x T]` over all tiles `T` of the batch.
///
/// The transforms come from the Toom–Cook construction, computed in Double: on the points
/// `0, ±1` and infinity for 3x3 (Lavin's matrices), on `0, ±1, ±1/2` and infinity for 5x5.
/// Input-transform rows are scaled so that every entry is exact in binary (±1 for 3x3; 1/4,
/// 5/4, 1/2, 1 for 5x5); the filter transform absorbs the scales. The C kernels (CKernels'
/// winograd.c) apply these matrices written out as sums.
///
/// Float error: 3x3 stays within the im2col path's tolerances. 5x5 rounds about 3x more than
/// im2col at the layer (LPIPS's conv2 on its own features: 3.5e-5 against 1.0e-5 absolute, outputs
/// up to 15) but moves LPIPS distances by under 2e-8, far inside the 1e-4 trajprobe promises
/// against the `lpips` package; it halves the FLOPs of LPIPS's largest layer.
struct WinogradTransform: Sendable {
    /// Kernel side `r`; tiles are `alpha = r + 1` wide and yield 2x2 outputs.
    let r: Int
    let alpha: Int
    /// `alpha x r` in Double, applied to each filter as `G g Gᵀ` once at load time. `Bᵀ` and `Aᵀ`
    /// are derived here only to scale `G`: winograd.c applies them written out as sums.
    let g: [Double]

    init(r: Int) {
        precondition(r == 3 || r == 5, "Winograd: kernel \(r) unsupported")
        let points: [Double] = r == 3 ? [0, 1, -1] : [0, 1, -1, 0.5, -0.5]

        let alpha = r + 1
        // Row j evaluates a polynomial at points[j]; the last row (infinity) takes its leading
        // coefficient.
        func vandermonde(columns: Int) -> [Double] {
            var v = [Double](repeating: 0, count: alpha * columns)
            for j in 0..<(alpha - 1) { for k in 0..<columns { v[j * columns + k] = Self.pow(points[j], k) } }
            v[(alpha - 1) * columns + columns - 1] = 1
            return v
        }
        // Correlation y = V_hᵀ [(V_g g) ⊙ (V⁻ᵀ d)]: Aᵀ = V_hᵀ (2 outputs), G = V_g, Bᵀ = V⁻ᵀ.
        var g = vandermonde(columns: r)
        let vInverse = Self.inverse(vandermonde(columns: alpha), n: alpha)
        // Row j of Bᵀ is column j of V⁻¹. Scales that make its entries exact in binary (as
        // winograd.c writes them): 3x3 rows to a largest entry of 1; 5x5 rows by hand, thirds
        // and fifths cleared. G's rows take the inverse scales.
        let fiveByFive = [0.25, 1.5, 1.5, 0.375, 0.375, 1]
        for j in 0..<alpha {
            let scale = r == 3 ? 1 / (0..<alpha).map { abs(vInverse[$0 * alpha + j]) }.max()! : fiveByFive[j]
            for k in 0..<r { g[j * r + k] /= scale }
        }
        self.r = r
        self.alpha = alpha
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
        precondition(input.channels == inChannels && bias.count == outChannels, "Winograd: sizes")
        let r = transform.r, a2 = transform.alpha * transform.alpha
        let h = input.height, w = input.width, batch = input.batch
        let oh = h + 2 * pad - r + 1, ow = w + 2 * pad - r + 1
        let th = (oh + 1) / 2, tw = (ow + 1) / 2, tilesPerImage = th * tw
        let cin = inChannels, cout = outChannels
        // Serial callers (one batch per core) whose V and M outgrow the cache transform a run of
        // images at a time, so V and M stay in cache between the transforms and the products;
        // threaded callers take the whole batch at once.
        let perImage = a2 * (cin + cout) * tilesPerImage
        let chunk = parallel || batch * perImage <= Self.onePassBudget ? batch : max(1, min(batch, Self.serialBudget / perImage))
        let chunkTiles = chunk * tilesPerImage
        let vCount = a2 * cin * chunkTiles, mCount = a2 * cout * chunkTiles
        // Eight floats past M: the output transform loads whole vectors of tiles.
        let scratchCount = vCount + mCount + 8
        if scratch.count < scratchCount {
            scratch = [Float](unsafeUninitializedCapacity: scratchCount) { _, filled in filled = scratchCount }
        }
        var output = FeatureMap(channels: cout, batch: batch, height: oh, width: ow, uninitialized: ())
        let status = _KernelStatus()
        scratch.withUnsafeMutableBufferPointer { s in
            input.data.withUnsafeBufferPointer { x in
                output.data.withUnsafeMutableBufferPointer { out in
                    for n0 in stride(from: 0, to: batch, by: chunk) {
                        run(images: n0..<min(batch, n0 + chunk), of: batch, x: x.baseAddress!, out: out.baseAddress!,
                            v: s.baseAddress!, m: s.baseAddress! + vCount, bias: bias, relu: relu,
                            sizes: (h, w, oh, ow, th, tw), parallel: parallel, status: status)
                    }
                }
            }
        }
        // The sizes are derived above and a few kilobytes of scratch per call: a failure here is
        // a bug or an exhausted machine, not bad input.
        precondition(!status.failed, "Winograd: transform kernel failed (\(status.code))")
        return output
    }

    /// Floats of V and M (both whole batches) a serial call transforms in one pass: 16 MB, a
    /// core's share of the L3. LPIPS's conv3-5 fit (under 4 M floats for 25 mouth crops); packing
    /// their weights (up to 6 MB) again for smaller runs costs more than the cache saves.
    static let onePassBudget = 1 << 22
    /// Floats of V and M per run of images when the whole batch does not fit: 2 MB. LPIPS's
    /// conv2 (40 MB of M for 25 crops) then runs image by image: 0.14 core-seconds on 100 crop
    /// pairs against 0.25 in runs of 3 and 0.30 in one pass.
    static let serialBudget = 1 << 19

    /// Input transform, the α² products and the output transform of `images` (a run of the
    /// batch of `batch` images).
    private func run(images: Range<Int>, of batch: Int, x: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>,
                     v: UnsafeMutablePointer<Float>, m: UnsafeMutablePointer<Float>, bias: [Float], relu: Bool,
                     sizes: (h: Int, w: Int, oh: Int, ow: Int, th: Int, tw: Int), parallel: Bool, status: _KernelStatus) {
        let r = transform.r, a2 = transform.alpha * transform.alpha
        let cin = inChannels, cout = outChannels, count = images.count
        let tiles = count * sizes.th * sizes.tw
        // Input transform, (channel, image) planes split over the cores.
        let inputJob = tp_winograd_input_job(kernel: Int32(r), x: x + images.lowerBound * sizes.h * sizes.w,
                                             channels: Int32(cin), batch: Int32(count), channel_stride: Int32(batch),
                                             height: Int32(sizes.h), width: Int32(sizes.w), pad: Int32(pad),
                                             tile_rows: Int32(sizes.th), tile_cols: Int32(sizes.tw), v: v, tiles: tiles)
        let planes = cin * count
        Self.split(inputJob, count: planes, chunks: parallel && a2 * cin * tiles >= 1 << 16 ? min(planes, 8) : 1,
                   status: status) { tp_winograd_input($0, $1, $2) }
        u.withUnsafeBufferPointer { uw in
            // V and M hold each channel's α² planes together (`C x α² x T`): the ξ-th
            // product reads and writes every α²-th plane.
            for xi in 0..<a2 {
                sgemm(m: cout, n: tiles, k: cin, a: uw.baseAddress! + xi * cout * cin, lda: cin,
                      b: v + xi * tiles, ldb: a2 * tiles, c: m + xi * tiles, ldc: a2 * tiles)
            }
        }
        // Output transform, bias and ReLU, output channels split over the cores.
        bias.withUnsafeBufferPointer { b in
            let outputJob = tp_winograd_output_job(kernel: Int32(r), m: m, bias: b.baseAddress!, channels: Int32(cout),
                                                   batch: Int32(count), channel_stride: Int32(batch),
                                                   out_height: Int32(sizes.oh), out_width: Int32(sizes.ow),
                                                   tile_rows: Int32(sizes.th), tile_cols: Int32(sizes.tw), relu: relu ? 1 : 0,
                                                   tiles: tiles, out: out + images.lowerBound * sizes.oh * sizes.ow)
            Self.split(outputJob, count: cout, chunks: parallel && a2 * cout * tiles >= 1 << 16 ? min(cout, 8) : 1,
                       status: status) { tp_winograd_output($0, $1, $2) }
        }
    }

    /// Runs a transform kernel over `0..<count` (planes or channels) cut into `chunks` ranges,
    /// side by side on the cores, recording each call's status.
    private static func split<Job>(_ job: Job, count: Int, chunks: Int, status: _KernelStatus,
                                   _ kernel: @escaping @Sendable (UnsafePointer<Job>, Int32, Int32) -> Int32) {
        withUnsafePointer(to: job) { job in
            let address = UInt(bitPattern: job)
            DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
                let job = UnsafePointer<Job>(bitPattern: address)!
                status.record(kernel(job, Int32(chunk * count / chunks), Int32((chunk + 1) * count / chunks)))
            }
        }
    }
}
