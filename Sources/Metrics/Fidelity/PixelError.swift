import Foundation
import Media

/// Pixel mean squared error and PSNR of frames in [0, 1], per region.
///
/// MSE is the mean over the region's pixels and all channels of `(a - b)^2`, accumulated in
/// `Double`; PSNR is `10 log10(1 / MSE)` (data range 1), as
/// `skimage.metrics.peak_signal_noise_ratio(data_range=1)` on the full frame. Identical frames give
/// MSE 0 and PSNR `+infinity`, as scikit-image does; callers that store PSNR decide how to cap it.
public enum PixelError {
    /// MSE per region (only `full` without a mask).
    public static func mse(_ a: Image, _ b: Image, regions mask: RegionMask? = nil, source: String = "frame") throws(MetricsError) -> [Region: Double] {
        guard a.width == b.width, a.height == b.height, a.channels == b.channels else {
            throw .sizeMismatch(source: source, detail: "\(a.width)x\(a.height)x\(a.channels) vs \(b.width)x\(b.height)x\(b.channels)")
        }
        guard !a.data.isEmpty else { throw .emptyInput(source: source) }
        if let mask { try mask.check(width: a.width, height: a.height, source: source) }
        try a.data.withUnsafeBufferPointer { p throws(MetricsError) in try checkFinite(p, source: "\(source) (first image)") }
        try b.data.withUnsafeBufferPointer { p throws(MetricsError) in try checkFinite(p, source: "\(source) (second image)") }
        let c = a.channels, n = a.width * a.height
        var mouthSum = 0.0, upperSum = 0.0
        a.data.withUnsafeBufferPointer { pa in
            b.data.withUnsafeBufferPointer { pb in
                if let mask {
                    mask.mouth.withUnsafeBufferPointer { pm in
                        for p in 0..<n {
                            var s = 0.0
                            for ch in 0..<c {
                                let d = Double(pa[p * c + ch]) - Double(pb[p * c + ch])
                                s += d * d
                            }
                            if pm[p] != 0 { mouthSum += s } else { upperSum += s }
                        }
                    }
                } else {
                    for i in 0..<(n * c) {
                        let d = Double(pa[i]) - Double(pb[i])
                        upperSum += d * d
                    }
                }
            }
        }
        var out: [Region: Double] = [.full: (mouthSum + upperSum) / Double(n * c)]
        if let mask {
            out[.mouth] = mouthSum / Double(mask.mouthCount * c)
            out[.upperFace] = upperSum / Double(mask.upperCount * c)
        }
        return out
    }

    /// PSNR in dB for data range 1.
    public static func psnr(mse: Double) -> Double {
        10 * log10(1 / mse)
    }
}
