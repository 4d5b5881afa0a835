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
struct _SSIMRowKernel: @unchecked Sendable {
    let a: UnsafePointer<Float>, b: UnsafePointer<Float>, taps: UnsafePointer<Double>
    let radius: Int, width: Int, height: Int, channels: Int
    let covNorm: Double, c1: Double, c2: Double, pad: Int
    let mouth: UnsafePointer<UInt8>?
    let rowSums: UnsafeMutablePointer<Double>
    let map: UnsafeMutablePointer<Float>?

    func rows(_ range: Range<Int>) {
        let c = channels, w = width, r = radius, nt = 2 * r + 1
        let rowLen = w * c
        let padded = (w + 2 * r) * c
        let off = r * c
        // Five padded vertical accumulators, then five horizontal outputs, in one allocation.
        let scratch = UnsafeMutablePointer<Double>.allocate(capacity: 5 * padded + 5 * rowLen)
        defer { scratch.deallocate() }
        let vx = scratch, vy = scratch + padded, vxx = scratch + 2 * padded, vyy = scratch + 3 * padded, vxy = scratch + 4 * padded
        let hbase = scratch + 5 * padded
        let hx = hbase, hy = hbase + rowLen, hxx = hbase + 2 * rowLen, hyy = hbase + 3 * rowLen, hxy = hbase + 4 * rowLen
        let colLo = pad * c, colHi = (w - pad) * c
        let vertical = [vx, vy, vxx, vyy, vxy]
        for y in range {
            // Vertical pass.
            do {
                let src = reflectIndex(y - r, height) * rowLen
                let t = taps[0]
                for i in 0..<rowLen {
                    let x = Double(a[src + i]), z = Double(b[src + i])
                    vx[off + i] = t * x; vy[off + i] = t * z
                    vxx[off + i] = t * (x * x); vyy[off + i] = t * (z * z); vxy[off + i] = t * (x * z)
                }
            }
            for k in 1..<nt {
                let src = reflectIndex(y + k - r, height) * rowLen
                let t = taps[k]
                for i in 0..<rowLen {
                    let x = Double(a[src + i]), z = Double(b[src + i])
                    vx[off + i] += t * x; vy[off + i] += t * z
                    vxx[off + i] += t * (x * x); vyy[off + i] += t * (z * z); vxy[off + i] += t * (x * z)
                }
            }
            // Reflect-pad the row ends (pixel granularity).
            for p in 0..<r {
                let left = reflectIndex(p - r, w), right = reflectIndex(w + p, w)
                for ch in 0..<c {
                    for v in vertical {
                        v[p * c + ch] = v[off + left * c + ch]
                        v[off + (w + p) * c + ch] = v[off + right * c + ch]
                    }
                }
            }
            // Horizontal pass.
            do {
                let t = taps[0]
                for i in 0..<rowLen {
                    hx[i] = t * vx[i]; hy[i] = t * vy[i]; hxx[i] = t * vxx[i]; hyy[i] = t * vyy[i]; hxy[i] = t * vxy[i]
                }
            }
            for k in 1..<nt {
                let t = taps[k], s = k * c
                for i in 0..<rowLen {
                    hx[i] += t * vx[s + i]; hy[i] += t * vy[s + i]; hxx[i] += t * vxx[s + i]
                    hyy[i] += t * vyy[s + i]; hxy[i] += t * vxy[s + i]
                }
            }
            // The map, in scikit-image's order of operations; hx is reused to hold S.
            for i in 0..<rowLen {
                let ux = hx[i], uy = hy[i]
                let sx = covNorm * (hxx[i] - ux * ux)
                let sy = covNorm * (hyy[i] - uy * uy)
                let sxy = covNorm * (hxy[i] - ux * uy)
                let a1 = 2 * ux * uy + c1, a2 = 2 * sxy + c2
                let b1 = ux * ux + uy * uy + c1, b2 = sx + sy + c2
                hx[i] = (a1 * a2) / (b1 * b2)
            }
            var crop = 0.0, mouthSum = 0.0, upperSum = 0.0
            if y >= pad && y < height - pad {
                for i in colLo..<colHi { crop += hx[i] }
            }
            if let mouth {
                for x in 0..<w {
                    var s = 0.0
                    for ch in 0..<c { s += hx[x * c + ch] }
                    if mouth[y * w + x] != 0 { mouthSum += s } else { upperSum += s }
                }
            }
            if let map {
                let inv = 1 / Double(c)
                for x in 0..<w {
                    var s = 0.0
                    for ch in 0..<c { s += hx[x * c + ch] }
                    map[y * w + x] = Float(s * inv)
                }
            }
            rowSums[3 * y] = crop; rowSums[3 * y + 1] = mouthSum; rowSums[3 * y + 2] = upperSum
        }
    }
}
