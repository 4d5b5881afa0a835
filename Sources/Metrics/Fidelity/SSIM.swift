import Dispatch
import Foundation
import Media

/// Structural similarity exactly as scikit-image 0.26 computes it.
///
/// `SSIM.standard` is `structural_similarity(gaussian_weights=True, sigma=1.5,
/// use_sample_covariance=False, data_range=1, channel_axis=-1, full=True)`: an 11-tap Gaussian
/// (radius `Int(3.5 σ + 0.5)`, weights normalised to sum 1, as `scipy.ndimage.gaussian_filter`
/// with `truncate=3.5`), borders by `mode='reflect'` (half-sample symmetric: `d c b a | a b c d`),
/// population covariances, and the full-image value the mean of the map over the crop that drops
/// `(win_size - 1) / 2` pixels at every edge, per channel, then averaged over channels.
/// `SSIM.uniform7` is the library default `structural_similarity(data_range=1, channel_axis=-1)`:
/// a 7x7 box filter (`uniform_filter`, also `reflect`) with sample covariances (N/(N-1)).
///
/// Filtering and the map run in `Double` (inputs are `Float` in [0, 1]) so that the values agree
/// with scikit-image on float64 inputs to about 1e-12; a region's value is the map averaged over
/// its pixels (and channels), the `full` region's is scikit-image's cropped mean.
public struct SSIM: Sendable, Equatable {
    public enum Window: Sendable, Equatable {
        case gaussian(sigma: Double)
        /// An odd box size.
        case uniform(size: Int)
    }

    public var window: Window
    public var dataRange: Double
    public var useSampleCovariance: Bool
    public var k1: Double
    public var k2: Double

    public init(window: Window, dataRange: Double = 1, useSampleCovariance: Bool, k1: Double = 0.01, k2: Double = 0.03) {
        self.window = window
        self.dataRange = dataRange
        self.useSampleCovariance = useSampleCovariance
        self.k1 = k1
        self.k2 = k2
    }

    /// Wang et al. 2004 as scikit-image reproduces it (the DESIGN.md metric).
    public static let standard = SSIM(window: .gaussian(sigma: 1.5), dataRange: 1, useSampleCovariance: false)
    /// scikit-image's defaults: 7x7 uniform window, sample covariance.
    public static let uniform7 = SSIM(window: .uniform(size: 7), dataRange: 1, useSampleCovariance: true)

    public struct Result: Sendable, Equatable {
        /// Per region: `full` is scikit-image's scalar; `mouth` and `upper_face` (when a mask was
        /// given) are the map averaged over the region's pixels and the channels.
        public var regions: [Region: Double]
        /// The map averaged over channels, row-major `width * height`, when requested.
        public var map: [Float]?
    }

    /// Radius and normalised taps, as scipy builds them.
    func kernel() throws(MetricsError) -> (radius: Int, taps: [Double]) {
        switch window {
        case .gaussian(let sigma):
            guard sigma > 0, sigma.isFinite else { throw .invalidArgument(source: "SSIM", detail: "sigma must be positive") }
            let r = Int(3.5 * sigma + 0.5)
            let s2 = sigma * sigma
            var taps = (-r...r).map { x in exp(-0.5 / s2 * Double(x * x)) }
            let total = taps.reduce(0, +)
            taps = taps.map { $0 / total }
            return (r, taps)
        case .uniform(let size):
            guard size > 0, size % 2 == 1 else { throw .invalidArgument(source: "SSIM", detail: "window size \(size) must be odd") }
            return (size / 2, [Double](repeating: 1 / Double(size), count: size))
        }
    }

    /// SSIM of two images of the same shape (any channel count: 1 for grey, 3 for RGB).
    public func compare(_ a: Image, _ b: Image, regions mask: RegionMask? = nil, keepMap: Bool = false,
                        parallel: Bool = true, source: String = "frame") throws(MetricsError) -> Result {
        guard a.width == b.width, a.height == b.height, a.channels == b.channels else {
            throw .sizeMismatch(source: source, detail: "\(a.width)x\(a.height)x\(a.channels) vs \(b.width)x\(b.height)x\(b.channels)")
        }
        guard !a.data.isEmpty else { throw .emptyInput(source: source) }
        if let mask { try mask.check(width: a.width, height: a.height, source: source) }
        let (radius, taps) = try kernel()
        let winSize = 2 * radius + 1
        guard a.width >= winSize, a.height >= winSize else {
            throw .tooSmall(source: source, detail: "\(a.width)x\(a.height) is smaller than the \(winSize)x\(winSize) window")
        }
        try a.data.withUnsafeBufferPointer { p throws(MetricsError) in try checkFinite(p, source: "\(source) (first image)") }
        try b.data.withUnsafeBufferPointer { p throws(MetricsError) in try checkFinite(p, source: "\(source) (second image)") }

        let w = a.width, h = a.height, c = a.channels
        let np = Double(winSize * winSize)
        let covNorm = useSampleCovariance ? np / (np - 1) : 1
        let c1 = (k1 * dataRange) * (k1 * dataRange)
        let c2 = (k2 * dataRange) * (k2 * dataRange)
        let pad = (winSize - 1) / 2
        // Per row: [cropSum, mouthSum, upperSum].
        var rowSums = [Double](repeating: 0, count: 3 * h)
        var map: [Float] = keepMap ? [Float](repeating: 0, count: w * h) : []
        let mouth = mask?.mouth ?? []

        a.data.withUnsafeBufferPointer { pa in
        b.data.withUnsafeBufferPointer { pb in
        taps.withUnsafeBufferPointer { pt in
        mouth.withUnsafeBufferPointer { pm in
        rowSums.withUnsafeMutableBufferPointer { ps in
        map.withUnsafeMutableBufferPointer { pmap in
            let kernel = _SSIMRowKernel(a: pa.baseAddress!, b: pb.baseAddress!, taps: pt.baseAddress!, radius: radius,
                                        width: w, height: h, channels: c, covNorm: covNorm, c1: c1, c2: c2, pad: pad,
                                        mouth: mask == nil ? nil : pm.baseAddress, rowSums: ps.baseAddress!,
                                        map: keepMap ? pmap.baseAddress : nil)
            let chunks = parallel ? min(h, max(1, ProcessInfo.processInfo.activeProcessorCount * 4)) : 1
            let perChunk = (h + chunks - 1) / chunks
            let run = { @Sendable (chunk: Int) in
                let lo = chunk * perChunk, hi = min(h, lo + perChunk)
                if lo < hi { kernel.rows(lo..<hi) }
            }
            if chunks == 1 { run(0) } else { DispatchQueue.concurrentPerform(iterations: chunks, execute: run) }
        }}}}}}

        var crop = 0.0, mouthSum = 0.0, upperSum = 0.0
        for y in 0..<h {
            crop += rowSums[3 * y]; mouthSum += rowSums[3 * y + 1]; upperSum += rowSums[3 * y + 2]
        }
        var regions: [Region: Double] = [.full: crop / Double((h - 2 * pad) * (w - 2 * pad) * c)]
        if let mask {
            regions[.mouth] = mouthSum / Double(mask.mouthCount * c)
            regions[.upperFace] = upperSum / Double(mask.upperCount * c)
        }
        return Result(regions: regions, map: keepMap ? map : nil)
    }
}

/// scipy.ndimage `mode='reflect'` index: half-sample symmetric, periodic with period 2n.
@inline(__always)
func reflectIndex(_ i: Int, _ n: Int) -> Int {
    var m = i % (2 * n)
    if m < 0 { m += 2 * n }
    return m < n ? m : 2 * n - 1 - m
}

/// One worker's view of an SSIM computation: filters rows `lo..<hi` (vertical pass straight from
/// the inputs, products on the fly, then the horizontal pass on a reflect-padded row) and reduces
/// each row's map to three sums. Pointers are only read, except the disjoint rows written.
///
/// Only four fields are filtered: `x`, `y`, `x² + y²` and `xy`, because the map needs the
/// variances only as their sum `vx + vy`. Taps are symmetric, so each pair of rows at distance d
/// shares one multiply; blocks of four values run as `SIMD4<Double>`.
struct _SSIMRowKernel: @unchecked Sendable {
    let a: UnsafePointer<Float>, b: UnsafePointer<Float>, taps: UnsafePointer<Double>
    let radius: Int, width: Int, height: Int, channels: Int
    let covNorm: Double, c1: Double, c2: Double, pad: Int
    let mouth: UnsafePointer<UInt8>?
    let rowSums: UnsafeMutablePointer<Double>
    let map: UnsafeMutablePointer<Float>?

    typealias V = SIMD4<Double>

    @inline(__always)
    static func load(_ p: UnsafePointer<Float>) -> V {
        V(UnsafeRawPointer(p).loadUnaligned(as: SIMD4<Float>.self))
    }

    @inline(__always)
    static func load(_ p: UnsafePointer<Double>) -> V {
        UnsafeRawPointer(p).loadUnaligned(as: V.self)
    }

    @inline(__always)
    static func store(_ v: V, _ p: UnsafeMutablePointer<Double>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: V.self)
    }

    func rows(_ range: Range<Int>) {
        let c = channels, w = width, r = radius
        let rowLen = w * c
        let off = r * c
        let padded = (w + 2 * r) * c + 8
        let blocks = rowLen / 4 * 4
        // Four padded vertical fields and the map row, with slack for whole SIMD blocks.
        let scratch = UnsafeMutablePointer<Double>.allocate(capacity: 4 * padded + rowLen + 8)
        defer { scratch.deallocate() }
        scratch.initialize(repeating: 0, count: 4 * padded + rowLen + 8)
        let fx = scratch, fy = scratch + padded, fq = scratch + 2 * padded, fxy = scratch + 3 * padded
        let sRow = scratch + 4 * padded
        let fields = [fx, fy, fq, fxy]
        var top = [Int](repeating: 0, count: r + 1), bottom = [Int](repeating: 0, count: r + 1)
        let colLo = pad * c, colHi = (w - pad) * c
        let w0 = taps[r]
        for y in range {
            for d in 0...r {
                top[d] = reflectIndex(y - d, height) * rowLen
                bottom[d] = reflectIndex(y + d, height) * rowLen
            }
            // Vertical pass, SIMD blocks then a scalar tail.
            var i = 0
            while i < blocks {
                let x0: V = Self.load(a + top[0] + i), y0: V = Self.load(b + top[0] + i)
                let q0: V = x0 * x0 + y0 * y0
                var sx: V = w0 * x0, sy: V = w0 * y0
                var sq: V = w0 * q0, sxy: V = w0 * (x0 * y0)
                for d in 1..<(r + 1) {
                    let t = taps[r + d]
                    let xt: V = Self.load(a + top[d] + i), yt: V = Self.load(b + top[d] + i)
                    let xb: V = Self.load(a + bottom[d] + i), yb: V = Self.load(b + bottom[d] + i)
                    let px: V = xt + xb, py: V = yt + yb
                    let qt: V = xt * xt + yt * yt
                    let qb: V = xb * xb + yb * yb
                    let pxy: V = xt * yt + xb * yb
                    sx += t * px; sy += t * py
                    sq += t * (qt + qb)
                    sxy += t * pxy
                }
                Self.store(sx, fx + off + i); Self.store(sy, fy + off + i)
                Self.store(sq, fq + off + i); Self.store(sxy, fxy + off + i)
                i += 4
            }
            while i < rowLen {
                let x0 = Double(a[top[0] + i]), y0 = Double(b[top[0] + i])
                var sx = w0 * x0, sy = w0 * y0, sq = w0 * (x0 * x0 + y0 * y0), sxy = w0 * (x0 * y0)
                for d in 1..<(r + 1) {
                    let t = taps[r + d]
                    let xt = Double(a[top[d] + i]), yt = Double(b[top[d] + i])
                    let xb = Double(a[bottom[d] + i]), yb = Double(b[bottom[d] + i])
                    sx += t * (xt + xb); sy += t * (yt + yb)
                    sq += t * ((xt * xt + yt * yt) + (xb * xb + yb * yb))
                    sxy += t * (xt * yt + xb * yb)
                }
                fx[off + i] = sx; fy[off + i] = sy; fq[off + i] = sq; fxy[off + i] = sxy
                i += 1
            }
            // Reflect-pad the row ends (pixel granularity).
            for p in 0..<r {
                let left = reflectIndex(p - r, w), right = reflectIndex(w + p, w)
                for f in fields {
                    for ch in 0..<c {
                        f[p * c + ch] = f[off + left * c + ch]
                        f[off + (w + p) * c + ch] = f[off + right * c + ch]
                    }
                }
            }
            // Horizontal pass (the padded fields have slack, so whole blocks are safe to read).
            i = 0
            while i < rowLen {
                let base = off + i
                var sx: V = w0 * Self.load(fx + base), sy: V = w0 * Self.load(fy + base)
                var sq: V = w0 * Self.load(fq + base), sxy: V = w0 * Self.load(fxy + base)
                for d in 1..<(r + 1) {
                    let t = taps[r + d], l = base - d * c, h = base + d * c
                    let px: V = Self.load(fx + l) + Self.load(fx + h)
                    let py: V = Self.load(fy + l) + Self.load(fy + h)
                    let pq: V = Self.load(fq + l) + Self.load(fq + h)
                    let pxy: V = Self.load(fxy + l) + Self.load(fxy + h)
                    sx += t * px; sy += t * py; sq += t * pq; sxy += t * pxy
                }
                // The map, in scikit-image's order of operations (vx + vy as one term).
                let ux: V = sx, uy: V = sy
                let uxx: V = ux * ux, uyy: V = uy * uy, uxy: V = ux * uy
                let vsum: V = covNorm * (sq - uxx - uyy)
                let vxy: V = covNorm * (sxy - uxy)
                let a1: V = 2 * uxy + c1, a2: V = 2 * vxy + c2
                let b1: V = uxx + uyy + c1, b2: V = vsum + c2
                let num: V = a1 * a2, den: V = b1 * b2
                Self.store(num / den, sRow + i)
                i += 4
            }
            var crop = 0.0, mouthSum = 0.0, upperSum = 0.0
            if y >= pad && y < height - pad {
                for i in colLo..<colHi { crop += sRow[i] }
            }
            if let mouth {
                for x in 0..<w {
                    var s = 0.0
                    for ch in 0..<c { s += sRow[x * c + ch] }
                    if mouth[y * w + x] != 0 { mouthSum += s } else { upperSum += s }
                }
            }
            if let map {
                let inv = 1 / Double(c)
                for x in 0..<w {
                    var s = 0.0
                    for ch in 0..<c { s += sRow[x * c + ch] }
                    map[y * w + x] = Float(s * inv)
                }
            }
            rowSums[3 * y] = crop; rowSums[3 * y + 1] = mouthSum; rowSums[3 * y + 2] = upperSum
        }
    }
}
