import CKernels
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
/// its pixels (and channels), the `full` region's is scikit-image's cropped mean. The rows run in
/// the C kernel `tp_ssim_rows` (AVX2/FMA when the CPU has it), in bands of rows across cores.
public struct SSIM: Sendable, Equatable {
    /// The local window the means and (co)variances are taken over.
    public enum Window: Sendable, Equatable {
        /// A Gaussian window of this standard deviation in pixels (radius `Int(3.5 σ + 0.5)`, as scikit-image).
        case gaussian(sigma: Double)
        /// An odd box size.
        case uniform(size: Int)
    }

    /// Local statistics window.
    public var window: Window
    /// Range of the pixel values (1 for images in [0, 1]); sets the stabilising constants.
    public var dataRange: Double
    /// Divide (co)variances by N - 1 (scikit-image's default) rather than N (Wang et al.'s Gaussian SSIM).
    public var useSampleCovariance: Bool
    /// Luminance constant factor: `C1 = (k1 * dataRange)²`.
    public var k1: Double
    /// Contrast constant factor: `C2 = (k2 * dataRange)²`.
    public var k2: Double

    /// Any variant; ``standard`` and ``uniform7`` are the two that reproduce published numbers.
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

    /// One comparison: the SSIM per region, and the per-pixel map when asked for.
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
        var status: Int32 = 0

        a.data.withUnsafeBufferPointer { pa in
        b.data.withUnsafeBufferPointer { pb in
        taps.withUnsafeBufferPointer { pt in
        mouth.withUnsafeBufferPointer { pm in
        rowSums.withUnsafeMutableBufferPointer { ps in
        map.withUnsafeMutableBufferPointer { pmap in
            let job = _SSIMJob(job: tp_ssim_job(
                a: pa.baseAddress!, b: pb.baseAddress!, taps: pt.baseAddress!,
                width: Int32(w), height: Int32(h), channels: Int32(c), radius: Int32(radius), pad: Int32(pad),
                cov_norm: covNorm, c1: c1, c2: c2,
                mouth: mask == nil ? nil : pm.baseAddress, row_sums: ps.baseAddress!,
                map: keepMap ? pmap.baseAddress : nil))
            // Bands of rows; each band also filters the 2 * radius rows around it, so few bands.
            let bands = parallel ? min(max(1, h / 64), ProcessInfo.processInfo.activeProcessorCount * 2) : 1
            let perBand = (h + bands - 1) / bands
            let worst = _KernelStatus()
            let run = { @Sendable (band: Int) in
                let lo = band * perBand, hi = min(h, lo + perBand)
                if lo < hi { worst.record(job.rows(lo..<hi)) }
            }
            if bands == 1 { run(0) } else { DispatchQueue.concurrentPerform(iterations: bands, execute: run) }
            status = worst.code
        }}}}}}
        if status == 1 {
            // The kernel saw a NaN or an infinity while forming its products: name the first one.
            try a.data.withUnsafeBufferPointer { p throws(MetricsError) in try checkFinite(p, source: "\(source) (first image)") }
            try b.data.withUnsafeBufferPointer { p throws(MetricsError) in try checkFinite(p, source: "\(source) (second image)") }
        }
        if status != 0 { throw .invalidArgument(source: source, detail: "SSIM kernel failed (status \(status))") }

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

/// The C kernel's job: pointers only read, except the disjoint rows each band writes.
struct _SSIMJob: @unchecked Sendable {
    var job: tp_ssim_job

    func rows(_ range: Range<Int>) -> Int32 {
        withUnsafePointer(to: job) { tp_ssim_rows($0, Int32(range.lowerBound), Int32(range.upperBound)) }
    }
}
