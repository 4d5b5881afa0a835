import Logging
import Metrics
import Store

/// The study-level rules every writer of measured units shares (the probe driver, the probe
/// session, imported videos): which arms are baselines, the GT row, LPIPS's frame-size check.
extension UnitMeasurer {
    /// No-CFG arms are the baselines the report normalises against.
    package static func isBaseline(_ arm: ArmSpec) -> Bool {
        switch arm.family {
        case .trajectory, .freshNoise, .spatial: return arm.knobs["w"] == 1
        case .eulerJump: return arm.knobs["s0"] == 1 && arm.knobs["s1"] == 1
        case .scheduledCFG: return arm.knobs["w"] == 1
        case .scored: return true
        case .studentSchedule: return StudentScheduleKnobs(arm.knobs)?.guidance.allSatisfy { $0 == 1 } ?? false
        }
    }

    /// The GT row of a clip: the sync of its GT video against the driving audio (the ceiling a
    /// report draws) and the mean mouth sharpness of the GT frames.
    package static func gtMeasurements(_ clip: ClipData, sync model: ClipSyncModel) throws -> [MeasurementValue] {
        var out: [MeasurementValue] = []
        let sync = try model.score(frames: clip.gtFrames, audio: clip.audio, mouth: clip.regions.mouthBox, source: clip.id)
        out.append(MeasurementValue(metric: MetricName.syncC, region: RegionName.face, value: sync.lseC))
        out.append(MeasurementValue(metric: MetricName.syncD, region: RegionName.face, value: sync.lseD))
        out.append(MeasurementValue(metric: MetricName.syncOffset, region: RegionName.face, value: Double(sync.offsetFrames)))
        let sharp = clip.gtFrames.map { (try? Sharpness.laplacianVariance($0, box: clip.regions.mouthBox)) ?? .nan }
        out.append(MeasurementValue(metric: MetricName.sharpness, region: RegionName.mouth, value: sharp.reduce(0, +) / Double(sharp.count)))
        return out
    }

    /// Refuses frames too small for LPIPS-AlexNet; warns once per clip when only the mouth crop
    /// is (the study then holds LPIPS for the full frame only).
    package static func checkLPIPSSize(_ clip: ClipData, logger: Logger) throws {
        let w = clip.frames[0].width, h = clip.frames[0].height
        guard let regions = LPIPS.regions(width: w, height: h, mouth: clip.regions.mouthBox) else {
            throw DriverError.frameTooSmall(clip: clip.id, metric: MetricName.lpips, width: w, height: h, minimum: LPIPS.minimumSide)
        }
        if !regions.contains(.mouth) {
            let b = clip.regions.mouthBox
            logger.warning("clip '\(clip.id)': lpips on the full frame only: the mouth box padded by \(LPIPS.mouthPadding) px (\(b.width + 2 * LPIPS.mouthPadding)x\(b.height + 2 * LPIPS.mouthPadding) px at most) is under LPIPS-AlexNet's \(LPIPS.minimumSide) px")
        }
    }
}
