import Dispatch
import Foundation
import Media

/// Per-frame and per-clip fidelity of a prediction against its reference, on every region:
/// `mse`, `psnr`, `ssim` per region, and `sharpness` of the prediction on the mouth crop (the
/// mask's bounding box) and the full frame. Frames run in parallel; each frame's SSIM runs
/// serially inside its worker.
public struct FidelityMeasurer: Sendable {
    /// The SSIM variant applied to every frame pair.
    public var ssim: SSIM
    /// Mouth/upper-face split; nil measures the full frame only.
    public var regions: RegionMask?

    /// Defaults to ``SSIM/standard`` on full frames; pass a mask to get per-region values.
    public init(ssim: SSIM = .standard, regions: RegionMask? = nil) {
        self.ssim = ssim
        self.regions = regions
    }

    /// Metric names in the order of a ``FidelityReport``'s slots (Store's `MetricName` strings).
    public static let metrics = ["mse", "psnr", "ssim", "sharpness"]

    /// Measures `prediction[i]` against `reference[i]` for every i (same count and size).
    public func measure(reference: [Image], prediction: [Image], source: String = "clip") throws(MetricsError) -> FidelityReport {
        guard !reference.isEmpty else { throw .emptyInput(source: "\(source) reference") }
        guard reference.count == prediction.count else {
            throw .sizeMismatch(source: source, detail: "\(reference.count) reference frames vs \(prediction.count) predicted frames")
        }
        for i in 0..<reference.count {
            let r = reference[i], p = prediction[i]
            guard r.width == p.width, r.height == p.height, r.channels == p.channels,
                  r.width == reference[0].width, r.height == reference[0].height else {
                throw .sizeMismatch(source: "\(source) frame \(i)", detail: "\(r.width)x\(r.height)x\(r.channels) vs \(p.width)x\(p.height)x\(p.channels)")
            }
            try r.data.withUnsafeBufferPointer { b throws(MetricsError) in try checkFinite(b, source: "\(source) reference frame \(i)") }
            try p.data.withUnsafeBufferPointer { b throws(MetricsError) in try checkFinite(b, source: "\(source) predicted frame \(i)") }
        }
        if let regions { try regions.check(width: reference[0].width, height: reference[0].height, source: source) }
        return try run(count: reference.count, source: source, reference: { reference[$0] }, prediction: { prediction[$0] })
    }

    /// Same, on 8-bit frames (decoded videos), scaled to [0, 1] as `Frame.image()` does, one
    /// frame at a time inside the workers (a clip never exists as floats all at once).
    public func measure(reference: [Frame], prediction: [Frame], source: String = "clip") throws(MetricsError) -> FidelityReport {
        guard !reference.isEmpty else { throw .emptyInput(source: "\(source) reference") }
        guard reference.count == prediction.count else {
            throw .sizeMismatch(source: source, detail: "\(reference.count) reference frames vs \(prediction.count) predicted frames")
        }
        for i in 0..<reference.count {
            let r = reference[i], p = prediction[i]
            guard r.width == p.width, r.height == p.height, r.width == reference[0].width, r.height == reference[0].height else {
                throw .sizeMismatch(source: "\(source) frame \(i)", detail: "\(r.width)x\(r.height) vs \(p.width)x\(p.height)")
            }
        }
        if let regions { try regions.check(width: reference[0].width, height: reference[0].height, source: source) }
        return try run(count: reference.count, source: source,
                       reference: { reference[$0].image() }, prediction: { prediction[$0].image() })
    }

    private func run(count n: Int, source: String, reference: @escaping @Sendable (Int) -> Image,
                     prediction: @escaping @Sendable (Int) -> Image) throws(MetricsError) -> FidelityReport {
        let slots = FidelityReport.slotCount
        var values = [Double](repeating: .nan, count: n * slots)
        var errors = [MetricsError?](repeating: nil, count: n)
        let measurer = self
        values.withUnsafeMutableBufferPointer { pv in
            errors.withUnsafeMutableBufferPointer { pe in
                let sink = _FrameSink(values: pv.baseAddress!, errors: pe.baseAddress!)
                DispatchQueue.concurrentPerform(iterations: n) { @Sendable i in
                    do throws(MetricsError) {
                        let row = try measurer.frame(reference: reference(i), prediction: prediction(i), source: "\(source) frame \(i)")
                        for s in 0..<slots { sink.values[i * slots + s] = row[s] }
                    } catch {
                        sink.errors[i] = error
                    }
                }
            }
        }
        if let first = errors.compactMap({ $0 }).first { throw first }
        return FidelityReport(frames: n, hasRegions: regions != nil, values: values)
    }

    /// One frame's slots (see ``FidelityReport/slot(_:_:)``).
    func frame(reference: Image, prediction: Image, source: String) throws(MetricsError) -> [Double] {
        var row = [Double](repeating: .nan, count: FidelityReport.slotCount)
        let mse = try PixelError.mse(reference, prediction, regions: regions, source: source)
        let s = try ssim.compare(reference, prediction, regions: regions, parallel: false, source: source)
        for region in Region.allCases {
            if let v = mse[region] {
                row[FidelityReport.slot("mse", region)!] = v
                row[FidelityReport.slot("psnr", region)!] = PixelError.psnr(mse: v)
            }
            if let v = s.regions[region] { row[FidelityReport.slot("ssim", region)!] = v }
        }
        if prediction.channels == 3 {
            if let regions {
                row[FidelityReport.slot("sharpness", .mouth)!] = try Sharpness.laplacianVariance(prediction, box: regions.mouthBox, source: source)
            }
            row[FidelityReport.slot("sharpness", .full)!] = try Sharpness.laplacianVariance(prediction, source: source)
        }
        return row
    }
}

/// Disjoint per-frame output rows of a parallel measurement.
struct _FrameSink: @unchecked Sendable {
    let values: UnsafeMutablePointer<Double>
    let errors: UnsafeMutablePointer<MetricsError?>
}

/// Fidelity of one clip: per frame and mean over frames, for each metric and region measured.
public struct FidelityReport: Sendable, Equatable {
    /// Frames measured (rows of `values`).
    public let frames: Int
    /// Whether mouth and upper-face values were measured, or only the full frame.
    public let hasRegions: Bool
    /// Row-major `[frames x slotCount]`, NaN where a (metric, region) was not measured.
    public let values: [Double]

    static let layout: [(String, Region)] = [
        ("mse", .mouth), ("mse", .upperFace), ("mse", .full),
        ("psnr", .mouth), ("psnr", .upperFace), ("psnr", .full),
        ("ssim", .mouth), ("ssim", .upperFace), ("ssim", .full),
        ("sharpness", .mouth), ("sharpness", .full),
    ]
    static let slotCount = layout.count

    static func slot(_ metric: String, _ region: Region) -> Int? {
        layout.firstIndex { $0.0 == metric && $0.1 == region }
    }

    /// The (metric, region) pairs this report holds, in a stable order.
    public var measured: [(metric: String, region: Region)] {
        Self.layout.enumerated().compactMap { i, m in
            frames > 0 && !values[i].isNaN ? (m.0, m.1) : nil
        }
    }

    /// Per-frame values of a metric on a region (nil if not measured).
    public func perFrame(_ metric: String, _ region: Region) -> [Double]? {
        guard let s = Self.slot(metric, region), frames > 0, !values[s].isNaN else { return nil }
        return (0..<frames).map { values[$0 * Self.slotCount + s] }
    }

    /// Mean over frames (for PSNR the mean of per-frame PSNR, the convention of video papers;
    /// `+infinity` if any frame is identical to its reference).
    public func mean(_ metric: String, _ region: Region) -> Double? {
        perFrame(metric, region).map { $0.reduce(0, +) / Double($0.count) }
    }
}
