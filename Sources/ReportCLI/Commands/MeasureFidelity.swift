import ArgumentParser
import Foundation
import Media
import Metrics

/// `trajprobe measure fidelity`: reference fidelity of any video, per frame and per region.
struct MeasureFidelity: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fidelity",
        abstract: "Pixel MSE, PSNR, SSIM, LPIPS and mouth sharpness of a video against its reference, per region.",
        discussion: ExitStatus.discussion("""
            Both videos are decoded to 8-bit RGB and scaled to [0, 1]. Regions come from a mask \
            image (LatentSync's mask.png: white = upper face, black = mouth; resized to the frame \
            nearest-neighbour) or from a mouth box; without either only the full frame is measured. \
            SSIM is scikit-image's structural_similarity(gaussian_weights=True, sigma=1.5, \
            use_sample_covariance=False, data_range=1, channel_axis=-1) (--ssim uniform7: its 7x7 \
            default); sharpness is OpenCV's Laplacian variance of the grey mouth crop (8-bit). \
            LPIPS (given --lpips WEIGHTS, converted once by tools/convert_lpips.py) is the lpips \
            package's v0.1 AlexNet distance on the full frame and on the mouth box padded by 4 px; \
            AlexNet needs at least 31x31 px. \
            PSNR of a frame identical to its reference is infinite: null in --json. \
            If the two videos differ in frame count, the shorter count is measured and a warning \
            is printed.

              trajprobe measure fidelity --reference ref.mp4 pred.mp4 --mask mask.png
              trajprobe measure fidelity --reference ref.mp4 pred.mp4 --box 160,300,192,128
              trajprobe measure fidelity --reference ref.mp4 pred.mp4 --mask mask.png \\
                  --lpips alex.safetensors --json
            """))

    @Option(help: ArgumentHelp("The reference video.", valueName: "REF")) var reference: String
    @Argument(help: ArgumentHelp("The video to score.", valueName: "VIDEO")) var video: String
    @Option(help: ArgumentHelp("Mouth mask image (PNG, black = mouth).", valueName: "mask.png")) var mask: String?
    @Option(help: ArgumentHelp("Mouth box instead of a mask.", valueName: "x,y,w,h")) var box: String?
    @Option(help: ArgumentHelp("SSIM window: gaussian (sigma 1.5) or uniform7.", valueName: "window")) var ssim = "gaussian"
    @Option(help: ArgumentHelp("LPIPS-AlexNet weights (safetensors from tools/convert_lpips.py): adds lpips on the full frame and on the mouth box padded by 4 px.", valueName: "file")) var lpips: String?
    @OptionGroup var jsonOutput: OutputOptions

    func validate() throws {
        if mask != nil && box != nil { throw ValidationError("give either --mask or --box, not both") }
        if let box, Box(parsing: box) == nil { throw ValidationError("--box must be x,y,w,h with positive w and h, got '\(box)'") }
        guard ["gaussian", "uniform7"].contains(ssim) else { throw ValidationError("--ssim must be gaussian or uniform7") }
    }

    func run() async throws {
        let json = jsonOutput.json
        var ref = try VideoReader.frames(of: reference)
        var pred = try VideoReader.frames(of: video)
        if ref.count != pred.count {
            FileHandle.standardError.write(Data("warning: \(reference) has \(ref.count) frames, \(video) has \(pred.count); measuring the first \(min(ref.count, pred.count))\n".utf8))
            let n = min(ref.count, pred.count)
            ref = Array(ref.prefix(n)); pred = Array(pred.prefix(n))
        }
        guard let first = ref.first else { throw MetricsError.emptyInput(source: reference) }
        var regions: RegionMask?
        if let mask { regions = try RegionMask(maskPath: mask, width: first.width, height: first.height) }
        if let box { regions = try RegionMask(box: Box(parsing: box)!, width: first.width, height: first.height) }
        let measurer = FidelityMeasurer(ssim: ssim == "gaussian" ? .standard : .uniform7, regions: regions)
        let report = try measurer.measure(reference: ref, prediction: pred, source: video)
        // The reference's own sharpness: the ceiling a report draws (the GT row).
        let refSharpness = try ref.map { f throws(MetricsError) in
            try Sharpness.laplacianVariance(f, box: regions?.mouthBox, source: reference)
        }
        let refSharpnessMean = refSharpness.reduce(0, +) / Double(refSharpness.count)
        let sharpnessRegion = regions == nil ? Region.full.rawValue : Region.mouth.rawValue
        // LPIPS as the lpips package computes it (inputs mapped to [-1, 1]), full frame and mouth box.
        var lpipsValues: [String: [Double]] = [:]
        if let lpips {
            let net = try LPIPS(weights: URL(fileURLWithPath: lpips))
            let pairs = zip(ref, pred).map { ($0.image(), $1.image()) }
            lpipsValues[Region.full.rawValue] = try net.distances(pairs).map(Double.init)
            if let box = regions?.mouthBox {
                let crop = try LPIPS.mouthCrop(box, width: first.width, height: first.height)
                if LPIPS.accepts(crop) {
                    lpipsValues[Region.mouth.rawValue] = try net.distances(pairs, box: box, padding: LPIPS.mouthPadding).map(Double.init)
                } else {
                    FileHandle.standardError.write(Data("warning: lpips on the full frame only: the mouth box padded by \(LPIPS.mouthPadding) px is \(crop.width)x\(crop.height) px, under LPIPS-AlexNet's \(LPIPS.minimumSide)x\(LPIPS.minimumSide)\n".utf8))
                }
            }
        }

        if json {
            var metrics: [String: Any] = [:]
            for (metric, region) in report.measured {
                var byRegion = metrics[metric] as? [String: Any] ?? [:]
                byRegion[region.rawValue] = [
                    "mean": finite(report.mean(metric, region)!),
                    "per_frame": report.perFrame(metric, region)!.map(finite),
                ]
                metrics[metric] = byRegion
            }
            if !lpipsValues.isEmpty {
                metrics["lpips"] = lpipsValues.mapValues { v in ["mean": v.reduce(0, +) / Double(v.count), "per_frame": v] as [String: Any] }
            }
            let object: [String: Any] = [
                "reference": reference, "video": video, "frames": report.frames,
                "regions": mask.map { "mask \($0)" } ?? box.map { "box \($0)" } ?? "full frame only",
                "ssim_window": ssim, "metrics": metrics,
                "reference_sharpness": ["region": sharpnessRegion, "mean": refSharpnessMean, "per_frame": refSharpness],
            ]
            JSONOutput.print(object: object)
        } else {
            print("\(video) vs \(reference): \(report.frames) frames, SSIM \(ssim)")
            print("metric      region        mean")
            for (metric, region) in report.measured {
                let m = report.mean(metric, region)!
                print(metric.padding(toLength: 12, withPad: " ", startingAt: 0)
                      + region.rawValue.padding(toLength: 12, withPad: " ", startingAt: 0)
                      + String(format: "%12.6f", m))
            }
            for region in lpipsValues.keys.sorted() {
                let v = lpipsValues[region]!
                print("lpips".padding(toLength: 12, withPad: " ", startingAt: 0) + region.padding(toLength: 12, withPad: " ", startingAt: 0)
                      + String(format: "%12.6f", v.reduce(0, +) / Double(v.count)))
            }
            print("reference sharpness (\(sharpnessRegion)): " + String(format: "%.6f", refSharpnessMean))
        }
    }

    private func finite(_ v: Double) -> Any { v.isFinite ? v : NSNull() }
}
