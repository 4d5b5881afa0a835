import Foundation
import Measurement
import Media
import Metrics

extension SyncScorer {
    /// Fits FaceSync-CCA on the (in-sync) clips of a probe-set manifest, at their own size.
    public static func fitFaceSync(manifest: URL, components: Int = 8, regularisation: Double = 0.1) throws -> FaceSyncModel {
        let set = try ProbeSet.load(manifest)
        var clips: [FaceSyncClip] = []
        for c in set.clips where !c.isDubbed {
            let info = try VideoReader(path: c.video).info
            let data = try ClipData.load(c, width: info.width, height: info.height, gtVideo: nil)
            clips.append(FaceSyncClip(name: c.id, frames: data.frames, audio: data.audio, mouth: data.regions.mouthBox))
        }
        return try FaceSyncModel.fit(clips: clips, components: components, regularisation: regularisation)
    }
}
