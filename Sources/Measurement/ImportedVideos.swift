import Foundation
import Logging
import Media
import Metrics
import Store

/// Measures prediction videos produced with the real teacher (`ImportedLayout`) into a study:
/// the imported teacher. Every (arm, sample, step) video is scored against the sample's `gt.mp4`
/// exactly as probe predictions are (fidelity per region, sync against the driving audio), GT
/// rows hold the reference's own sync and sharpness, and each unit is one transaction, so a
/// killed import resumes.
public struct ImportedVideos: Sendable {
    // MARK: - Options

    /// What one import writes where and how it scores; everything else comes from the layout on disk.
    public struct Options: Sendable {
        /// The study database written (created when absent, resumed when present).
        public var database: URL
        /// The study's name in the database.
        public var studyName: String
        /// Directory name → arm; arms not named here are `trajectory w=<guidance_scale>` from the
        /// arm's `ode_schedule.json`.
        public var armLabels: [String: ArmSpec]
        /// Region mask for every sample (`videos/<sample>/mask.png` wins when present), or a box.
        public var mask: String?
        /// Mouth box used for every sample when no mask is given.
        public var box: Box?
        /// A fitted FaceSync-CCA model; nil fits one on the layout's GT videos (in sync by
        /// definition, but the very clips then scored: a circular score, see
        /// ``ImportedVideos/circularSyncWarning``).
        public var faceSyncModel: String?
        /// SyncNet-v2 weights (safetensors): scores with syncnet_python's network and preset.
        public var syncNetWeights: String?
        /// SyncNet preprocessing; only raw-frame presets apply, as imports score decoded frames.
        public var syncPreset: SyncPreset = .syncnetPython
        /// LPIPS-AlexNet weights (safetensors from tools/convert_lpips.py): adds lpips per region.
        public var lpipsWeights: String?
        /// Steps to import; nil takes every step the layout holds.
        public var steps: [Int]?
        /// The teacher model's name, recorded with the study so reports can say what was probed.
        public var modelName: String
        /// CFG's negative branch the videos were made with (`text+audio` or `audio`), recorded with the study.
        public var dropMode: String

        /// Options for `database`; scoring defaults to FaceSync-CCA fitted on the layout, and the model
        /// and drop mode to `imported` and `unknown` when the caller does not know them.
        public init(database: URL, studyName: String, armLabels: [String: ArmSpec] = [:], mask: String? = nil, box: Box? = nil,
                    faceSyncModel: String? = nil, steps: [Int]? = nil, modelName: String = "imported", dropMode: String = "unknown") {
            self.database = database; self.studyName = studyName; self.armLabels = armLabels; self.mask = mask; self.box = box
            self.faceSyncModel = faceSyncModel; self.steps = steps; self.modelName = modelName; self.dropMode = dropMode
        }
    }

    // MARK: - Importing

    /// The layout's root directory (`ImportedLayout`): one directory per arm.
    public let root: String
    /// An importer for the layout under `root`; nothing is read until ``run(options:progress:)``.
    public init(root: String) { self.root = root }

    /// Said when FaceSync-CCA is fitted on the GT clips being scored: the model has learnt those
    /// very clips, so their Sync-C/D (and every prediction's, measured against the same model)
    /// flatter in-sync reference content and do not measure sync in general.
    public static let circularSyncWarning = "FaceSync-CCA will be fitted on the very GT clips it scores, so the sync scores are circular "
        + "(the model has learnt these clips). Fit it on a separate bank of in-sync clips: `trajprobe facesync fit bank.yaml -o fs.json`, "
        + "then `--facesync fs.json`; or score with SyncNet-v2: `--syncnet syncnet_v2.safetensors`."

    /// Checks the whole layout, then scores and writes every unit not yet stored, one transaction each,
    /// reporting to `progress`; a unit that cannot be scored is marked failed, not thrown, so one bad video cannot stop an import.
    public func run(options: Options, progress: @escaping @Sendable (ProbeProgress) -> Void = { _ in }) throws -> ProbeSummary {
        let started = Date()
        let status = Status(phase: "checking the layout", progress: progress)
        if let student = options.armLabels.sorted(by: { $0.key < $1.key }).first(where: { $0.value.family == .studentSchedule }) {
            throw DriverError.studentScheduleNeedsTeacher(source: "\(root)/\(student.key)", arm: student.value.label)
        }
        // Refuse an incomplete layout before any decoding.
        let layout = try ImportedLayout.scan(root: root, steps: options.steps)
        guard options.mask != nil || options.box != nil
            || layout.arms.allSatisfy({ arm in arm.samples.allSatisfy { FileManager.default.fileExists(atPath: "\(arm.directory)/videos/\($0)/mask.png") } })
        else { throw DriverError.noRegions(clip: "\(root): give --mask or --box, or put mask.png next to each sample's gt.mp4") }

        let lpips = try options.lpipsWeights.map { try LPIPS(weights: URL(fileURLWithPath: $0)) }
        status.set(phase: "decoding reference videos")
        let samples = layout.arms[0].samples
        var references: [String: ClipData] = [:]
        for sample in samples {
            let gtPath = layout.arms[0].groundTruth(sample: sample)
            references[sample] = try ImportedVideos.reference(gtPath, sample: sample, mask: maskPath(layout.arms[0], sample, options), box: options.box)
            if lpips != nil { try UnitMeasurer.checkLPIPSSize(references[sample]!, logger: Logger(label: "trajprobe.import")) }
        }
        let sync: ClipSyncModel, modelPath: String
        let circular = options.syncNetWeights == nil && options.faceSyncModel == nil
        if let weights = options.syncNetWeights {
            guard options.syncPreset.roundTrip == nil else {
                throw DriverError.presetNeedsVideoFiles(file: options.database.path, preset: options.syncPreset.name)
            }
            sync = .syncNet(try SyncNet(weights: URL(fileURLWithPath: weights)), options.syncPreset)
            modelPath = weights
        } else if let path = options.faceSyncModel {
            sync = .faceSync(try FaceSyncModel(contentsOf: path))
            modelPath = path
        } else {
            status.set(phase: "fitting FaceSync-CCA on the GT videos")
            let fitted = try FaceSyncModel.fit(clips: samples.map { s in
                let r = references[s]!
                return FaceSyncClip(name: s, frames: r.frames, audio: r.audio, mouth: r.regions.mouthBox)
            })
            modelPath = options.database.path + ".facesync.json"
            try fitted.save(to: modelPath)
            sync = .faceSync(fitted)
        }

        var armSpecs: [(ImportedLayout.Arm, ArmSpec)] = []
        for arm in layout.arms {
            armSpecs.append((arm, options.armLabels[arm.name] ?? .trajectory(w: arm.schedule.guidanceScale)))
        }
        guard Set(armSpecs.map(\.1)).count == armSpecs.count else {
            throw ProbeError.invalidArm(label: armSpecs.map(\.1.label).joined(separator: ", "),
                                        problem: "two arm directories map to the same arm: name them with --arm DIR=LABEL")
        }
        let schedule = layout.arms[0].schedule
        let config = StudyRecord(
            name: options.studyName, teacherKind: "imported",
            teacherIdentity: "imported videos " + layout.arms.map { "\($0.name): \($0.schedule.tList.count) times" }.joined(separator: "; "),
            modelName: options.modelName, dropMode: options.dropMode, syncModel: sync.name,
            syncWeightsSHA256: try fileSHA256(modelPath), libavVersion: MediaLibraries.version,
            parameters: ImportedVideos.parameters(schedule: schedule, arms: armSpecs.map(\.1), steps: layout.steps, sync: sync, lpips: lpips,
                                                  faceSyncOnScoredClips: circular))
        let store = try StudyStore.openOrCreate(at: options.database, config: config)
        try store.registerSteps(layout.steps.map { (j: $0, t: $0 < schedule.tList.count ? schedule.tList[$0] : 0) })
        var clipIDs: [String: ClipID] = [:]
        for s in samples { clipIDs[s] = try store.registerClip(references[s]!.spec) }
        var armIDs: [ArmSpec: ArmID] = [:]
        for (_, spec) in armSpecs { armIDs[spec] = try store.registerArm(spec, isBaseline: UnitMeasurer.isBaseline(spec)) }
        try store.setStatus(.running)

        let finished = try store.finishedUnits()
        var todo: [(ImportedLayout.Arm, ArmSpec, String, Int)] = []
        for (arm, spec) in armSpecs { for s in samples { for j in layout.steps {
            if !finished.contains(UnitKey(clip: clipIDs[s]!, arm: armIDs[spec]!, step: j, seed: 0)) { todo.append((arm, spec, s, j)) }
        } } }
        let total = armSpecs.count * samples.count * layout.steps.count
        status.start(total: todo.count, skipped: total - todo.count, phase: "measuring")
        for s in samples {
            let values = try UnitMeasurer.gtMeasurements(references[s]!, sync: sync)
            for (_, spec) in armSpecs {
                let key = UnitKey(clip: clipIDs[s]!, arm: armIDs[spec]!, step: gtStep, seed: 0)
                if !finished.contains(key) { _ = try store.writeUnit(UnitResult(key: key, measurements: values)) }
            }
        }
        let measurer = UnitMeasurer(sync: sync, metrics: Set(UnitMeasurer.allMetrics), lpips: lpips)
        var failures: [String] = []
        for (arm, spec, sample, j) in todo {
            let key = UnitKey(clip: clipIDs[sample]!, arm: armIDs[spec]!, step: j, seed: 0)
            let path = arm.prediction(sample: sample, step: j)
            do {
                let full = references[sample]!
                let frames = try VideoReader(path: path, options: VideoDecodeOptions(targetFPS: 25, size: (full.frames[0].width, full.frames[0].height))).readAll()
                guard frames.count >= AudioFrameFeatures.minimumFrames else {
                    throw DriverError.clipTooShort(clip: path, frames: frames.count, needed: AudioFrameFeatures.minimumFrames)
                }
                // A prediction shorter than its reference is measured over the frames both have.
                let ref = frames.count < full.count ? full.prefix(frames.count) : full
                let tensor = ClipData.tensor(frames.prefix(ref.count))
                let output = ProbeOutput(unit: ProbeUnit(clip: sample, arm: spec, step: j, seed: 0), t: 0, x0: tensor, spatial: nil)
                _ = try store.writeUnit(try measurer.measure(output, frames: tensor, clip: ref, key: key))
                status.unit(failed: false)
            } catch let error as StoreError {
                throw error
            } catch {
                try store.markFailed(key, reason: "\(error)")
                failures.append("\(path): \(error)")
                status.unit(failed: true)
            }
        }
        let counts = status.snapshot
        if counts.done + counts.failed == counts.total { try store.setStatus(counts.failed == 0 ? .finished : .incomplete) }
        return ProbeSummary(database: options.database, studyName: options.studyName, written: counts.done, failed: counts.failed,
                            skipped: counts.skipped, seconds: Date().timeIntervalSince(started), teacherPasses: 0,
                            syncModelPath: modelPath, failures: failures)
    }

    // MARK: - Helpers

    func maskPath(_ arm: ImportedLayout.Arm, _ sample: String, _ options: Options) -> String? {
        let own = "\(arm.directory)/videos/\(sample)/mask.png"
        return FileManager.default.fileExists(atPath: own) ? own : options.mask
    }

    /// The GT video as the reference clip: its frames at 25 fps, its own audio as the driving audio.
    static func reference(_ path: String, sample: String, mask: String?, box: Box?) throws -> ClipData {
        let info = try VideoReader(path: path).info
        let clip = ProbeSetClip(id: sample, video: path, mask: mask, box: mask == nil ? box : nil, identity: sample)
        return try ClipData.load(clip, width: info.width, height: info.height, gtVideo: nil)
    }

    /// The study's parameters as the videos' `schedule.json` gives them (a schedule's max t is its
    /// first time); `faceSyncFit: scored_clips` records that FaceSync-CCA was fitted on the very GT
    /// clips it then scores (a circular score, which the report can say). The teacher and drop
    /// mode are the caller's (`StudyRecord`). Exactly the keys schema v1 recorded, so a study
    /// imported before schema v2 resumes (`openOrCreate` compares every parameter).
    static func parameters(schedule: ODESchedule, arms: [ArmSpec], steps: [Int], sync: ClipSyncModel, lpips: LPIPS? = nil,
                           faceSyncOnScoredClips: Bool = false) -> StudyParameters {
        var p = StudyParameters(syncModel: sync.name)
        p.numSteps = schedule.numSteps
        p.shift = schedule.shift
        p.maxT = schedule.tList.first ?? 0.999
        p.timeList = schedule.tList
        p.guidanceScale = schedule.guidanceScale
        p.probedSteps = steps
        p.arms = arms.map(\.label)
        p.syncPreset = sync.presetDescription
        p.lpipsWeightsSHA256 = lpips?.weightsSHA256()
        if faceSyncOnScoredClips { p.faceSyncFit = "scored_clips" }
        return p
    }
}
