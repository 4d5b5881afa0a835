import Foundation
import Media

/// Mouth sharpness: the variance of the Laplacian of the grey crop, as
/// `cv2.Laplacian(cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY), cv2.CV_64F).var()` computes it on 8-bit
/// frames (the way published sharpness numbers are made).
///
/// Grey is OpenCV's 8-bit `RGB2GRAY`: fixed point `(9798 R + 19235 G + 3735 B + 16384) >> 15`
/// (0.299, 0.587, 0.114 in Q15, rounded), checked against OpenCV on all 2^24 colours by the
/// fixture script. Float images in [0, 1] are first quantised to 8 bits as a video writer would
/// (`round(x * 255)`, clamped). The Laplacian is `ksize=1`: kernel `[0 1 0; 1 -4 1; 0 1 0]` with
/// `BORDER_REFLECT_101` (`c b | a b c | b a`); its values are exact integers, and the variance is
/// the population variance (`numpy.var`) computed in two passes in `Double`.
public enum Sharpness {
    /// Sharpness of the `box` crop of an 8-bit RGB frame.
    public static func laplacianVariance(_ frame: Frame, box: Box? = nil, source: String = "frame") throws(MetricsError) -> Double {
        let box = box ?? Box(x: 0, y: 0, width: frame.width, height: frame.height)
        guard box.fits(width: frame.width, height: frame.height) else {
            throw .boxOutsideFrame(source: source, box: box.description, width: frame.width, height: frame.height)
        }
        var grey = [Int32](repeating: 0, count: box.width * box.height)
        frame.rgb.withUnsafeBufferPointer { p in
            for y in 0..<box.height {
                for x in 0..<box.width {
                    let i = ((box.y + y) * frame.width + box.x + x) * 3
                    grey[y * box.width + x] = Self.grey(p[i], p[i + 1], p[i + 2])
                }
            }
        }
        return laplacianVariance(grey: grey, width: box.width, height: box.height)
    }

    /// Sharpness of the `box` crop of a float RGB image in [0, 1] (quantised to 8 bits first).
    public static func laplacianVariance(_ image: Image, box: Box? = nil, source: String = "frame") throws(MetricsError) -> Double {
        guard image.channels == 3 else {
            throw .invalidArgument(source: source, detail: "sharpness needs an RGB image, got \(image.channels) channels")
        }
        try image.data.withUnsafeBufferPointer { p throws(MetricsError) in try checkFinite(p, source: source) }
        return try laplacianVariance(quantise(image), box: box, source: source)
    }

    /// An image in [0, 1] as the 8-bit frame a video writer would store.
    public static func quantise(_ image: Image) -> Frame {
        let bytes = image.data.map { v -> UInt8 in UInt8(max(0, min(255, (v * 255).rounded()))) }
        return Frame(width: image.width, height: image.height, rgb: bytes)
    }

    /// OpenCV's 8-bit RGB→grey.
    @inline(__always)
    public static func grey(_ r: UInt8, _ g: UInt8, _ b: UInt8) -> Int32 {
        (9798 * Int32(r) + 19235 * Int32(g) + 3735 * Int32(b) + 16384) >> 15
    }

    /// Variance of the 4-neighbour Laplacian with BORDER_REFLECT_101 of an integer grey image.
    public static func laplacianVariance(grey: [Int32], width: Int, height: Int) -> Double {
        precondition(grey.count == width * height && width > 0 && height > 0)
        // BORDER_REFLECT_101 of a one-pixel image degenerates to the pixel itself (OpenCV does so).
        @inline(__always) func r101(_ i: Int, _ n: Int) -> Int {
            if n == 1 { return 0 }
            if i < 0 { return -i }
            if i >= n { return 2 * n - 2 - i }
            return i
        }
        var lap = [Double](repeating: 0, count: width * height)
        var sum = 0.0
        grey.withUnsafeBufferPointer { g in
            for y in 0..<height {
                let up = r101(y - 1, height) * width, down = r101(y + 1, height) * width, row = y * width
                for x in 0..<width {
                    let l = r101(x - 1, width), r = r101(x + 1, width)
                    let v = g[up + x] + g[down + x] + g[row + l] + g[row + r] - 4 * g[row + x]
                    lap[row + x] = Double(v)
                    sum += Double(v)
                }
            }
        }
        let mean = sum / Double(lap.count)
        var ss = 0.0
        for v in lap { ss += (v - mean) * (v - mean) }
        return ss / Double(lap.count)
    }
}
