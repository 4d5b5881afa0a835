import Digest
import Dispatch
import Foundation
import Measurement
import Media
import Metrics
import Store

/// The teacher a probe runs, with the map between frames and its states.
///
/// The analytic teacher brings its working space; a remote teacher its server's encoder and
/// decoder models (or none when it works on frames). Everything after this point of the probe is
/// the same for both, which is what makes a remote probe comparable unit for unit.
struct ProbeBackend: Sendable {
    let teacher: any Teacher
    let encode: @Sendable (Tensor) throws -> Tensor
    let decode: @Sendable (Tensor) throws -> Tensor
    let prepare: @Sendable (Conditioning) throws -> Conditioning
    /// Stored as the study's teacher identity: a resumed run must meet the same teacher.
    let identity: String
    /// The identity text earlier versions stored for the same teacher (the analytic teacher's
    /// was a Swift type description): a study they made resumes under it.
    var legacyIdentity: String? = nil
    let modelName: String
    /// The teacher's own settings, labelled, for the study's parameters.
    let settings: [StudySetting]

    /// ``decode`` with errors as the arms expect them.
    func decodeForArms(_ x: Tensor) throws(ProbeError) -> Tensor {
        do { return try decode(x) } catch let e as ProbeError { throw e } catch {
            throw .teacherFailed(teacher: teacher.name, reason: "decoding states: \(error)")
        }
    }

    /// The clip as the arms see it: its reference in the teacher's states, its conditioning.
    func probeClip(_ clip: ClipData) throws -> ProbeClip {
        let pixels = clip.pixelTensor()
        let conditioning = Conditioning(clip: clip.id, identity: clip.identity,
                                        audioFeatures: Tensor(unchecked: [clip.count, AudioFrameFeatures.count], clip.features),
                                        referenceFrames: pixels, keepMask: clip.keepMask,
                                        referenceVideoPath: clip.spec.referencePath, audioPath: clip.spec.audioPath)
        return ProbeClip(id: clip.id, reference: try encode(pixels), conditioning: try prepare(conditioning))
    }
}

extension ProbeDriver {
    static func backend(config: ProbeStudyFile, bankClips: [ClipData], probes: [ClipData], heldOut: Set<String>) throws -> ProbeBackend {
        let resolution = config.teacher.resolution
        switch config.teacher.kind {
        case .analytic:
            var bank = try FrameBank(width: resolution, height: resolution, channels: 3, featureCount: AudioFrameFeatures.count)
            for clip in bankClips {
                let pixels = clip.pixelTensor()
                for r in 0..<clip.count {
                    try bank.append(frame: Array(pixels.data[(r * pixels.rowSize)..<((r + 1) * pixels.rowSize)]),
                                    audio: Array(clip.features[(r * AudioFrameFeatures.count)..<((r + 1) * AudioFrameFeatures.count)]),
                                    identity: clip.identity, clip: clip.id)
                }
            }
            let identities = Set(bank.excluding(clips: heldOut).identities)
            for p in probes where !identities.contains(p.identity) {
                throw DriverError.bankMissingIdentity(clip: p.id, identity: p.identity)
            }
            let teacher = try AnalyticTeacher(bank: bank, heldOut: heldOut, configuration: config.teacher.analytic)
            let bankDigest = SHA256Digest.hex(bank.frames.withUnsafeBytes { Array($0) })
            return ProbeBackend(
                teacher: teacher,
                encode: { x in try teacher.space.encode(x) },
                decode: { x in try teacher.space.decode(x) },
                prepare: { c in try teacher.prepared(c) },
                identity: "analytic \(config.teacher.analytic.identityText) resolution=\(resolution) bank_frames=\(bank.count) bank_sha256=\(bankDigest)",
                legacyIdentity: "analytic \(config.teacher.analytic) resolution=\(resolution) bank_frames=\(bank.count) bank_sha256=\(bankDigest)",
                modelName: "analytic-posterior-mean",
                settings: config.teacher.analytic.studySettings + [StudySetting(label: "bank frames", value: "\(bank.count)")])
        case .remote:
            guard let options = config.teacher.remote else { throw ProbeError.missingKey(file: config.file, key: "teacher.url") }
            let teacher = try RemoteTeacher(options: options)
            let codec = try RemoteCodec(teacher: teacher, frameSize: resolution * resolution * 3)
            try teacher.check(stateShape: nil, conditioningWidth: AudioFrameFeatures.count, branches: Set(ProbePlan.branches))
            let m = teacher.metadata
            let identity = "remote url=\(options.url) model=\(options.model) platform=\(m.platform) x_t=\(teacher.stateShape ?? []) "
                + "prediction=\(teacher.predictionKind) inputs=\(m.inputs.map(\.name).joined(separator: ",")) state_space=\(m.stateSpace)"
            return ProbeBackend(
                teacher: teacher,
                encode: { x in try codec.encode(x) },
                decode: { x in try codec.decode(x) },
                prepare: { c in c },
                identity: identity, modelName: m.name,
                settings: [StudySetting(label: "endpoint", value: options.url), StudySetting(label: "model", value: options.model),
                           StudySetting(label: "transport", value: "\(options.binary ? "binary" : "json"), \(options.datatype.rawValue)")])
        case .imported:
            throw DriverError.unsupportedTeacher(kind: "imported", hint: "measure imported prediction videos with `trajprobe import videos`")
        }
    }

    /// Runs blocking work (a remote teacher waiting on the network, BLAS) on a thread of its own
    /// rather than on one of Swift concurrency's few cooperative threads, so that N lanes can
    /// have N requests in flight on a 2-core machine.
    static func onOwnThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (k: CheckedContinuation<T, Error>) in
            Thread.detachNewThread {
                do { k.resume(returning: try body()) } catch { k.resume(throwing: error) }
            }
        }
    }
}

extension ProbeDriver {
    /// Builds the study's analytic teacher exactly as ``run(options:logger:progress:)`` does (same
    /// bank, same held-out probes, same knobs) and writes its state for the reference server.
    /// Returns the bank frame count and the state dimension.
    public func exportAnalyticTeacher(to url: URL) async throws -> (bankFrames: Int, dimension: Int) {
        guard config.teacher.kind == .analytic else {
            throw DriverError.unsupportedTeacher(kind: config.teacher.kind.rawValue, hint: "only an analytic teacher can be exported")
        }
        let resolution = config.teacher.resolution
        let (bankClips, probes, heldOut) = try await loadClips()
        let backend = try ProbeDriver.backend(config: config, bankClips: bankClips, probes: probes, heldOut: heldOut)
        let teacher = backend.teacher as! AnalyticTeacher
        try teacher.exportState(to: url, frameShape: [resolution, resolution, 3])
        return (teacher.bankCount, teacher.space.dimension)
    }
}

extension AnalyticTeacher.Configuration {
    /// The configuration as labelled settings for the study's parameters (kappa 4, working space
    /// PCA 64 components…), never as a Swift type description.
    /// The configuration as `key=value` words for the stored teacher identity: every setting
    /// that changes a number, in a fixed order, readable in `trajprobe runs`.
    var identityText: String {
        let space: String
        switch workingSpace {
        case .pixels: space = "pixels"
        case .pca(let components): space = "pca\(components)"
        }
        let prior: String
        switch identityPrior {
        case .identityBank: prior = "identity_bank"
        case .maskedReference(let bandwidth): prior = "masked_reference(\(ArmSpec.format(bandwidth)))"
        }
        return ["kappa=\(ArmSpec.format(kappa))", "working_space=\(space)", "audio_bandwidth=\(ArmSpec.format(audioBandwidth))",
                "audio_feature_noise=\(ArmSpec.format(audioFeatureNoise))", "noise_seed=\(noiseSeed)",
                "drop=\(dropMode.rawValue)", "precision=\(precision.rawValue)", "identity_prior=\(prior)"].joined(separator: " ")
    }

    var studySettings: [StudySetting] {
        let space: String
        switch workingSpace {
        case .pixels: space = "pixels"
        case .pca(let components): space = "PCA, \(components) components"
        }
        let prior: String
        switch identityPrior {
        case .identityBank: prior = "identity bank"
        case .maskedReference(let bandwidth): prior = "masked reference, bandwidth \(ArmSpec.format(bandwidth))"
        }
        return [StudySetting(label: "kappa", value: ArmSpec.format(kappa)),
                StudySetting(label: "working space", value: space),
                StudySetting(label: "audio bandwidth", value: ArmSpec.format(audioBandwidth)),
                StudySetting(label: "audio feature noise", value: ArmSpec.format(audioFeatureNoise)),
                StudySetting(label: "noise seed", value: "\(noiseSeed)"),
                StudySetting(label: "precision", value: precision.rawValue),
                StudySetting(label: "identity prior", value: prior)]
    }
}
