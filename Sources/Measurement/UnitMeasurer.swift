import Foundation
import Media
import Metrics
import Store

/// Turns one prediction into the unit's stored numbers: fidelity per region against the
/// reference, sync of the predicted clip against the driving audio, spatial maps.
package struct UnitMeasurer: Sendable {
    /// Every metric a unit can store, in the order studies list them.
    package static let allMetrics = [MetricName.mse, MetricName.psnr, MetricName.ssim, MetricName.lpips, MetricName.sharpness,
                                     MetricName.syncC, MetricName.syncD, MetricName.syncOffset]

    /// The sync model predictions are scored with.
    package var sync: ClipSyncModel
    /// The metrics the study stores.
    package var metrics: Set<String>
    /// LPIPS-AlexNet, when the study gives its weights (metric `lpips`).
    package var lpips: LPIPS? = nil

    /// A measurer for `metrics`, scoring sync with `sync` and LPIPS with `lpips` when given.
    package init(sync: ClipSyncModel, metrics: Set<String>, lpips: LPIPS? = nil) {
        self.sync = sync; self.metrics = metrics; self.lpips = lpips
    }

    /// `frames` are the decoded predictions `[B, H*W*3]`, unclipped.
    package func measure(_ output: ProbeOutput, frames: Tensor, clip: ClipData, key: UnitKey) throws -> UnitResult {
        let w = clip.frames[0].width, h = clip.frames[0].height
        let size = w * h * 3
        var images: [Image] = [], quantised: [Frame] = []
        images.reserveCapacity(frames.rows)
        for r in 0..<frames.rows {
            let row = frames.data[(r * size)..<((r + 1) * size)].map { min(1, max(0, $0)) }
            images.append(Image(width: w, height: h, channels: 3, data: row))
            quantised.append(Frame(width: w, height: h, rgb: row.map { UInt8(($0 * 255).rounded()) }, index: r))
        }
        var values: [MeasurementValue] = []
        let reference = clip.frames.map { $0.image() }
        let fidelity = try FidelityMeasurer(regions: clip.regions)
            .measure(reference: reference, prediction: images, source: clip.id)
        for (metric, region) in fidelity.measured where metrics.contains(metric) {
            if let v = fidelity.mean(metric, region) { values.append(MeasurementValue(metric: metric, region: region.rawValue, value: v)) }
        }
        if metrics.contains(MetricName.lpips), let lpips,
           let regions = LPIPS.regions(width: w, height: h, mouth: clip.regions.mouthBox) {
            // Mean over frames, as the fidelity metrics are stored.
            let pairs = Array(zip(reference, images))
            for region in regions {
                let d = region == .full ? try lpips.distances(pairs) : try lpips.distances(pairs, box: clip.regions.mouthBox, padding: LPIPS.mouthPadding)
                values.append(MeasurementValue(metric: MetricName.lpips, region: region.rawValue,
                                               value: d.reduce(0) { $0 + Double($1) } / Double(d.count)))
            }
        }
        var maps: [MapBlob] = []
        if metrics.contains(MetricName.syncC) || metrics.contains(MetricName.syncD) {
            let sync = try self.sync.score(frames: quantised, audio: clip.audio, mouth: clip.regions.mouthBox, source: clip.id)
            values.append(MeasurementValue(metric: MetricName.syncC, region: RegionName.face, value: sync.lseC))
            values.append(MeasurementValue(metric: MetricName.syncD, region: RegionName.face, value: sync.lseD))
            values.append(MeasurementValue(metric: MetricName.syncOffset, region: RegionName.face, value: Double(sync.offsetFrames)))
            maps.append(MapBlob(name: MapName.syncSeries, shape: [sync.windowConfidence.count],
                                values: sync.windowConfidence.map { Float($0 ?? .nan) }))
        }
        if let spatial = output.spatial {
            for region in Region.allCases {
                let mask = region == .full ? [Float](repeating: 1, count: w * h)
                    : clip.regions.mouth.map { (($0 != 0) == (region == .mouth)) ? 1 : 0 }
                values.append(MeasurementValue(metric: "cfg_delta", region: region.rawValue,
                                               value: try SpatialMaps.regionMean(spatial.difference, mask: mask, channels: 3)))
                values.append(MeasurementValue(metric: "cfg_delta_floor", region: region.rawValue,
                                               value: try SpatialMaps.regionMean(spatial.floor, mask: mask, channels: 3)))
            }
            maps.append(MapBlob(name: MapName.spatialDifference, shape: [h, w], values: UnitMeasurer.pixelMean(spatial.difference, pixels: w * h)))
            maps.append(MapBlob(name: MapName.spatialFloor, shape: [h, w], values: UnitMeasurer.pixelMean(spatial.floor, pixels: w * h)))
        }
        return UnitResult(key: key, measurements: values, maps: maps)
    }

    /// Mean over frames and channels, per pixel.
    package static func pixelMean(_ t: Tensor, pixels: Int) -> [Float] {
        var out = [Float](repeating: 0, count: pixels)
        let channels = t.rowSize / pixels
        for r in 0..<t.rows {
            for p in 0..<pixels {
                var s: Float = 0
                for c in 0..<channels { s += t.data[r * t.rowSize + p * channels + c] }
                out[p] += s / Float(channels)
            }
        }
        return out.map { $0 / Float(t.rows) }
    }
}
