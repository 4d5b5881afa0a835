import Foundation
import Metrics

extension AnalyticTeacher {
    /// Writes everything the teacher computes with (bank states in float64, standardised and
    /// noised audio features, the working space's mean and basis, identity ranges, pixel frames
    /// for the masked-reference prior, every knob) to a safetensors file.
    ///
    /// `tools/teacher_server/analytic_model.py` reads it and serves the same posterior mean over
    /// the Open Inference Protocol, so a probe through ``RemoteTeacher`` can be checked number for
    /// number against this in-process teacher: the remote path's self-test.
    public func exportState(to url: URL, frameShape: [Int]) throws {
        precondition(frameShape.reduce(1, *) == space.frameSize, "frame shape \(frameShape) vs frame size \(space.frameSize)")
        let k = space.dimension, n = bankCount
        let ids = identities
        var starts: [Int64] = [], ends: [Int64] = []
        for id in ids {
            let r = identityRanges[id]!
            starts.append(Int64(r.lowerBound))
            ends.append(Int64(r.upperBound))
        }
        var tensors: [(name: String, shape: [Int], values: SafeTensors.Values)] = [
            ("bank_states", [n, k], .f64(states64)),
            ("bank_features", [n, featureCount], .f32(features)),
            ("feature_mean", [featureCount], .f64(featureMean)),
            ("feature_std", [featureCount], .f64(featureStd)),
            ("space_mean", [space.frameSize], .f32(space.mean)),
            ("identity_start", [ids.count], .i64(starts)),
            ("identity_end", [ids.count], .i64(ends)),
        ]
        if case .pca(let c) = space.kind { tensors.append(("space_basis", [space.frameSize, c], .f32(space.basis))) }
        if !pixelFrames.isEmpty { tensors.append(("bank_pixels", [n, space.frameSize], .f32(pixelFrames))) }
        var meta: [String: String] = [
            "format": "trajprobe-analytic-teacher-1",
            "name": name,
            "kappa": "\(configuration.kappa)",
            "audio_bandwidth": "\(configuration.audioBandwidth)",
            "drop_mode": configuration.dropMode.rawValue,
            "precision": configuration.precision.rawValue,
            "float32_logit_tolerance": "\(AnalyticTeacher.float32LogitTolerance)",
            "max_norm": "\(maxNorm)",
            "identities": ids.joined(separator: "\n"),
            "frame_shape": frameShape.map(String.init).joined(separator: ","),
        ]
        switch space.kind {
        case .pixels: meta["working_space"] = "pixels"
        case .pca(let c): meta["working_space"] = "pca"; meta["pca_components"] = "\(c)"
        }
        switch configuration.identityPrior {
        case .identityBank: meta["identity_prior"] = "identity"
        case .maskedReference(let h): meta["identity_prior"] = "masked_reference"; meta["reference_bandwidth"] = "\(h)"
        }
        try SafeTensors.write(mixed: tensors, metadata: meta, to: url)
    }
}
