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
    /// transformed input and the products (grown when too small).
    func apply(_ input: FeatureMap, bias: [Float], relu: Bool, scratch: inout [Float], parallel: Bool = true) -> FeatureMap {
        apply(input, bias: bias, relu: relu, scratch: &scratch, alpha: 4, parallel: parallel)
    }

    /// Lanes of tiles transformed together (`SIMD8`: two SSE registers on baseline x86_64).
    typealias Lanes = SIMD8<Float>

    /// Inlined with a constant `alpha`, so the small transform loops unroll.
    @inline(__always)
    func apply(_ input: FeatureMap, bias: [Float], relu: Bool, scratch: inout [Float], alpha: Int, parallel: Bool) -> FeatureMap {
        precondition(alpha == transform.alpha && input.channels == inChannels && bias.count == outChannels, "Winograd: sizes")
        let r = transform.r, a2 = alpha * alpha, lanes = Lanes.scalarCount
        let h = input.height, w = input.width, batch = input.batch
        let oh = h + 2 * pad - r + 1, ow = w + 2 * pad - r + 1
        let th = (oh + 1) / 2, tw = (ow + 1) / 2, tilesPerImage = th * tw
        let tiles = batch * tilesPerImage
        let cin = inChannels, cout = outChannels
        // The zero-padded plane every tile row reads from, wide enough for whole lane groups.
        let paddedW = 2 * tw + alpha, paddedH = 2 * th + alpha
        // Per tile of a plane (padded to whole lane groups): where its α x α patch starts in
        // the padded plane, and where its 2x2 outputs start in an output plane.
        let groups = (tilesPerImage + lanes - 1) / lanes * lanes
        var patchOffset = [Int](repeating: 0, count: groups), outOffset = patchOffset
        for tile in 0..<tilesPerImage {
            let ty = tile / tw, tx = tile % tw
            patchOffset[tile] = 2 * ty * paddedW + 2 * tx
            outOffset[tile] = 2 * ty * ow + 2 * tx
        }
        let right = (0..<tilesPerImage).map { 2 * ($0 % tw) + 1 < ow }, below = (0..<tilesPerImage).map { 2 * ($0 / tw) + 1 < oh }
        let vCount = a2 * cin * tiles, mCount = a2 * cout * tiles
        if scratch.count < vCount + mCount {
            scratch = [Float](unsafeUninitializedCapacity: vCount + mCount) { _, filled in filled = vCount + mCount }
        }
        var output = FeatureMap(channels: cout, batch: batch, height: oh, width: ow, uninitialized: ())
        let pad = self.pad
        scratch.withUnsafeMutableBufferPointer { s in
            let vAddress = UInt(bitPattern: s.baseAddress!), mAddress = UInt(bitPattern: s.baseAddress! + vCount)
            input.data.withUnsafeBufferPointer { x in
                transform.bt.withUnsafeBufferPointer { btBuffer in
                  patchOffset.withUnsafeBufferPointer { offsetBuffer in
                    let xAddress = UInt(bitPattern: x.baseAddress!), btAddress = UInt(bitPattern: btBuffer.baseAddress!)
                    let offsetAddress = UInt(bitPattern: offsetBuffer.baseAddress!)
                    // Input transform V[ξ][ci][tile] = (Bᵀ d B)_ξ, one (channel, image) plane at a
                    // time, `lanes` tiles of a tile row at once.
                    let planes = cin * batch
                    let chunks = parallel && vCount >= 1 << 16 ? min(planes, 8) : 1
                    DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
                        let v = UnsafeMutablePointer<Float>(bitPattern: vAddress)!
                        let x = UnsafePointer<Float>(bitPattern: xAddress)!
                        let bt = UnsafePointer<Float>(bitPattern: btAddress)!
                        let offsets = UnsafePointer<Int>(bitPattern: offsetAddress)!
                        withUnsafeTemporaryAllocation(of: Float.self, capacity: paddedW * paddedH) { paddedBuffer in
                        withUnsafeTemporaryAllocation(of: Lanes.self, capacity: 2 * a2) { buffer in
                            let padded = paddedBuffer.baseAddress!
                            padded.initialize(repeating: 0, count: paddedW * paddedH)
                            let d = buffer.baseAddress!, t = d + a2
                            for plane in (chunk * planes / chunks)..<((chunk + 1) * planes / chunks) {
                                let ci = plane / batch, n = plane % batch
                                let src = x + plane * h * w
                                for y in 0..<h { (padded + (y + pad) * paddedW + pad).update(from: src + y * w, count: w) }
                                // Tiles of the plane in lane groups (a group may span tile rows).
                                var t0 = 0
                                while t0 < tilesPerImage {
                                    let count = min(lanes, tilesPerImage - t0)
                                    let o = offsets + t0
                                    for a in 0..<alpha {
                                        for b in 0..<alpha {
                                            let q = padded + a * paddedW + b
                                            d[a * alpha + b] = Lanes(q[o[0]], q[o[1]], q[o[2]], q[o[3]], q[o[4]], q[o[5]], q[o[6]], q[o[7]])
                                        }
                                    }
                                    for i in 0..<alpha {
                                        for j in 0..<alpha {
                                            var acc = Lanes()
                                            for k in 0..<alpha { acc += bt[i * alpha + k] * d[k * alpha + j] }
                                            t[i * alpha + j] = acc
                                        }
                                    }
                                    let tile = n * tilesPerImage + t0
                                    for i in 0..<alpha {
                                        for j in 0..<alpha {
                                            var acc = Lanes()
                                            for k in 0..<alpha { acc += t[i * alpha + k] * bt[j * alpha + k] }
                                            let dst = v + ((i * alpha + j) * cin + ci) * tiles + tile
                                            if count == lanes {
                                                UnsafeMutableRawPointer(dst).storeBytes(of: acc, as: Lanes.self)
                                            } else {
                                                for l in 0..<count { dst[l] = acc[l] }
                                            }
                                        }
                                    }
                                    t0 += lanes
                                }
                            }
                        }
                        }
                    }
                  }
                }
            }
            let v = s.baseAddress!, m = s.baseAddress! + vCount
            u.withUnsafeBufferPointer { uw in
                for xi in 0..<a2 {
                    sgemm(m: cout, n: tiles, k: cin, a: uw.baseAddress! + xi * cout * cin, lda: cin,
                          b: v + xi * cin * tiles, ldb: tiles, c: m + xi * cout * tiles, ldc: tiles)
                }
            }
            // Output transform Aᵀ m A, bias, ReLU, cropped to the output size; `lanes`
            // consecutive tiles at once.
            output.data.withUnsafeMutableBufferPointer { out in
                bias.withUnsafeBufferPointer { biasBuffer in
                    transform.at.withUnsafeBufferPointer { atBuffer in
                      outOffset.withUnsafeBufferPointer { outOffsetBuffer in
                      right.withUnsafeBufferPointer { rightBuffer in
                      below.withUnsafeBufferPointer { belowBuffer in
                        let outOffsetAddress = UInt(bitPattern: outOffsetBuffer.baseAddress!)
                        let rightAddress = UInt(bitPattern: rightBuffer.baseAddress!), belowAddress = UInt(bitPattern: belowBuffer.baseAddress!)
                        let outAddress = UInt(bitPattern: out.baseAddress!), biasAddress = UInt(bitPattern: biasBuffer.baseAddress!)
                        let atAddress = UInt(bitPattern: atBuffer.baseAddress!)
                        let chunks = parallel && mCount >= 1 << 16 ? min(cout, 8) : 1
                        DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
                            let m = UnsafePointer<Float>(bitPattern: mAddress)!
                            let out = UnsafeMutablePointer<Float>(bitPattern: outAddress)!
                            let bias = UnsafePointer<Float>(bitPattern: biasAddress)!
                            let at = UnsafePointer<Float>(bitPattern: atAddress)!
                            let outOffset = UnsafePointer<Int>(bitPattern: outOffsetAddress)!
                            let rightOK = UnsafePointer<Bool>(bitPattern: rightAddress)!, belowOK = UnsafePointer<Bool>(bitPattern: belowAddress)!
                            withUnsafeTemporaryAllocation(of: Lanes.self, capacity: a2 + 2 * alpha) { buffer in
                                let p = buffer.baseAddress!, t = p + a2
                                for co in (chunk * cout / chunks)..<((chunk + 1) * cout / chunks) {
                                    let beta = Lanes(repeating: bias[co])
                                    var tile0 = 0
                                    while tile0 < tiles {
                                        let count = min(lanes, tiles - tile0)
                                        for xi in 0..<a2 {
                                            let src = m + (xi * cout + co) * tiles + tile0
                                            if count == lanes {
                                                p[xi] = UnsafeRawPointer(src).loadUnaligned(as: Lanes.self)
                                            } else {
                                                var lane = Lanes()
                                                for l in 0..<count { lane[l] = src[l] }
                                                p[xi] = lane
                                            }
                                        }
                                        for i in 0..<2 {
                                            for j in 0..<alpha {
                                                var acc = Lanes()
                                                for k in 0..<alpha { acc += at[i * alpha + k] * p[k * alpha + j] }
                                                t[i * alpha + j] = acc
                                            }
                                        }
                                        var y = (Lanes(), Lanes(), Lanes(), Lanes())
                                        for i in 0..<2 {
                                            for j in 0..<2 {
                                                var acc = beta
                                                for k in 0..<alpha { acc += t[i * alpha + k] * at[j * alpha + k] }
                                                if relu { acc.replace(with: 0, where: acc .< 0) }
                                                switch i * 2 + j {
                                                case 0: y.0 = acc
                                                case 1: y.1 = acc
                                                case 2: y.2 = acc
                                                default: y.3 = acc
                                                }
                                            }
                                        }
                                        for l in 0..<count {
                                            let tile = tile0 + l
                                            let n = tile / tilesPerImage, inPlane = tile - n * tilesPerImage
                                            let dst = out + (co * batch + n) * oh * ow + outOffset[inPlane]
                                            dst[0] = y.0[l]
                                            if rightOK[inPlane] { dst[1] = y.1[l] }
                                            if belowOK[inPlane] {
                                                dst[ow] = y.2[l]
                                                if rightOK[inPlane] { dst[ow + 1] = y.3[l] }
                                            }
                                        }
                                        tile0 += lanes
                                    }
                                }
                            }
                        }
                      }
                      }
                      }
                    }
                }
            }
        }
        return output
    }
}
