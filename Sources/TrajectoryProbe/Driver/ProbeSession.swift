import CBLAS
import Digest
import Foundation
import Logging
import Measurement
import Media
import Metrics
import Store
import Support

/// A study opened for probing: its clips decoded, its teacher built, its sync model fitted and its
/// database open. `trajprobe probe` runs the study's own plan through it once; `trajprobe search`
/// keeps one open across rounds and runs new student-schedule arms on chosen (clip, seed) pairs.
final class ProbeSession: @unchecked Sendable {
    /// One (clip, seed) pair's units.
    struct Work: Sendable {
        var clip: ClipData
        var seed: Int
        var units: [ProbeUnit]
    }

    let config: ProbeStudyFile
    let plan: ProbePlan
    let schedule: ShiftedSchedule
    let store: StudyStore
    let backend: ProbeBackend
    let measurer: UnitMeasurer
    let probes: [ClipData]
    let clipIDs: [String: ClipID]
    let syncModelPath: String
    let lanes: Int

    private init(config: ProbeStudyFile, plan: ProbePlan, schedule: ShiftedSchedule, store: StudyStore, backend: ProbeBackend,
                 measurer: UnitMeasurer, probes: [ClipData], clipIDs: [String: ClipID], syncModelPath: String, lanes: Int) {
        self.config = config; self.plan = plan; self.schedule = schedule; self.store = store; self.backend = backend
        self.measurer = measurer; self.probes = probes; self.clipIDs = clipIDs; self.syncModelPath = syncModelPath; self.lanes = lanes
    }

    /// Everything a probe needs before its first unit. `create` false: the study must already be
    /// in the database under exactly this configuration (a search adds arms to a probed study,
    /// it never starts one); its FaceSync-CCA model file is reused when it is the one recorded.
    static func open(driver given: ProbeDriver, options: ProbeRunOptions, status: Status, logger: Logger,
                     create: Bool) async throws -> ProbeSession {
        var config = given.config
        if config.teacher.kind == .imported, let student = config.arms.first(where: { $0.family == .studentSchedule }) {
            throw DriverError.studentScheduleNeedsTeacher(source: config.file, arm: student.label)
        }
        guard config.teacher.kind != .imported else {
            throw DriverError.unsupportedTeacher(kind: "imported", hint: "measure imported prediction videos with `trajprobe import videos`")
        }
        // The database first: nothing is written anywhere (the FaceSync model goes next to it)
        // for a path the run could not use.
        if create { try StudyStore.checkUsableForWriting(options.database) }
        var lpips: LPIPS?
        if config.metrics.contains(MetricName.lpips) {
            guard let weights = config.lpips.weights else {
                throw DriverError.missingWeights(metric: MetricName.lpips, hint: ProbeStudyFile.lpipsNeedsWeights)
            }
            lpips = try LPIPS(weights: URL(fileURLWithPath: weights))
        }
        // A search opens an existing study: check it is there before any decoding, and take the
        // arms, steps and seeds it was probed with (`probe --arm/--steps/--seeds` may have replaced
        // the file's); everything else must match the file.
        let existing: StudyStore? = create ? nil : try StudyStore.open(at: options.database, study: options.studyName)
        if let existing { try config.adopt(recorded: existing.config.parameters) }
        let driver = ProbeDriver(config: config)

        try driver.checkMemory()
        let (bankClips, probes, heldOut) = try await driver.loadClips()
        if lpips != nil {
            for p in probes { try UnitMeasurer.checkLPIPSSize(p, logger: logger) }
        }
        status.set(phase: config.teacher.kind == .remote ? "connecting to the teacher" : "building the teacher")
        let backend = try ProbeDriver.backend(config: config, bankClips: bankClips, probes: probes, heldOut: heldOut)

        // The sync model: SyncNet-v2 when the config gives weights, else FaceSync-CCA fitted on the
        // bank (in-sync clips) at the same resolution.
        let syncModel: ClipSyncModel, syncModelPath: String, syncSHA: String
        var faceSyncFile: Data?
        if config.sync.model == .syncNetV2, let weights = config.sync.weights {
            let net = try SyncNet(weights: URL(fileURLWithPath: weights))
            // The preset was checked against the list when the study file was read.
            let preset = try config.sync.preset.map { name in
                guard let p = SyncPreset.named(name) else {
                    throw ProbeError.invalidValue(file: config.file, key: "sync.preset", problem: "'\(name)' is not a preset")
                }
                return p
            } ?? .syncnetPython
            guard preset.roundTrip == nil else { throw DriverError.presetNeedsVideoFiles(file: config.file, preset: preset.name) }
            syncModel = .syncNet(net, preset)
            syncModelPath = weights
            syncSHA = net.weightsSHA256()
        } else {
            guard !bankClips.isEmpty else { throw DriverError.syncModelNeedsBank(file: config.file) }
            syncModelPath = options.database.path + ".facesync.json"
            if let existing, let recorded = existing.config.syncWeightsSHA256,
               (try? fileSHA256(syncModelPath)) == recorded, let saved = try? FaceSyncModel(contentsOf: syncModelPath) {
                syncModel = .faceSync(saved)
                syncSHA = recorded
            } else {
                status.set(phase: "fitting FaceSync-CCA")
                let syncClips = bankClips.filter { !heldOut.contains($0.id) }.map {
                    FaceSyncClip(name: $0.id, frames: $0.frames, audio: $0.audio, mouth: $0.regions.mouthBox)
                }
                let faceSync = try FaceSyncModel.fit(clips: syncClips)
                // Written once the database has accepted the study (a study of that name with
                // another configuration must not have its model file replaced).
                let encoded = try faceSync.encoded(source: syncModelPath)
                faceSyncFile = encoded
                syncModel = .faceSync(faceSync)
                syncSHA = SHA256Digest.hex(encoded)
            }
        }

        // The study in the database.
        let schedule = try config.schedule()
        let plan = try ProbePlan(arms: config.arms, schedule: schedule, steps: config.steps.subset)
        let studyConfig = StudyRecord(
            name: options.studyName, teacherKind: config.teacher.kind.rawValue,
            teacherIdentity: backend.identity,
            modelName: backend.modelName, dropMode: config.teacher.dropMode.rawValue,
            syncModel: syncModel.name, syncWeightsSHA256: syncSHA,
            libavVersion: MediaLibraries.version,
            parameters: driver.parameters(schedule: schedule, plan: plan, sync: syncModel, backend: backend, lpips: lpips))
        let store: StudyStore
        if let existing {
            // A study created before schema v2 recorded fewer parameters (never a CFG form, which
            // every later probe records): only those it recorded must match.
            var expected = studyConfig
            // The analytic teacher's identity was a Swift type description before the one
            // vocabulary: the same teacher under its old text is the same teacher.
            if let legacy = backend.legacyIdentity, existing.config.teacherIdentity == legacy {
                expected.teacherIdentity = legacy
            }
            if existing.config.parameters.cfgForm == nil {
                expected.parameters = studyConfig.parameters.restricted(toKnownIn: existing.config.parameters)
            }
            let differences = existing.config.differences(from: expected)
            guard differences.isEmpty else {
                throw DriverError.studyMismatch(database: options.database.path, study: options.studyName, differences: differences)
            }
            store = existing
        } else {
            store = try StudyStore.openOrCreate(at: options.database, config: studyConfig)
        }
        if let faceSyncFile {
            do { try AtomicFile.write(faceSyncFile, to: syncModelPath) } catch {
                throw MetricsError.modelFile(source: syncModelPath, detail: error.detail)
            }
        }
        var clipIDs: [String: ClipID] = [:]
        for p in probes { clipIDs[p.id] = try store.registerClip(p.spec) }

        // (clip, seed) pairs run concurrently; a remote teacher's lanes mostly wait on the
        // network: as many as requests may be in flight.
        let lanes = options.concurrency > 0 ? options.concurrency
            : config.teacher.kind == .remote ? config.teacher.concurrency : ProcessInfo.processInfo.activeProcessorCount
        let measurer = UnitMeasurer(sync: syncModel, metrics: Set(config.metrics), lpips: lpips)
        return ProbeSession(config: config, plan: plan, schedule: schedule, store: store, backend: backend, measurer: measurer,
                            probes: probes, clipIDs: clipIDs, syncModelPath: syncModelPath, lanes: lanes)
    }

    /// Registers arms (the same id on repeats), returning their ids.
    func register(arms: [ArmSpec]) throws -> [ArmSpec: ArmID] {
        var ids: [ArmSpec: ArmID] = [:]
        for a in arms { ids[a] = try store.registerArm(a, isBaseline: UnitMeasurer.isBaseline(a)) }
        return ids
    }

    /// Runs `work` with `plan`'s teacher passes, `lanes` (clip, seed) pairs at a time, writing
    /// each unit in one transaction. A teacher fault fails the rest of its (clip, seed) pair and
    /// the run goes on; a database error stops it. Returns the teacher passes, the failure lines
    /// and the units another process had stored with the same values before this one wrote them.
    func execute(plan: ProbePlan, work: [Work], armIDs: [ArmSpec: ArmID], status: Status) async throws -> (passes: Int, failures: [String], storedByOthers: Int) {
        // The teacher's products are small (a clip's frames against the bank): threads inside one
        // sgemm mostly spin; parallelism across (clip, seed) pairs is what pays.
        openblas_set_num_threads(1)
        let passes = Counter(), byOthers = Counter()
        let failures = FailureLog()
        let (store, backend, measurer, clipIDs) = (self.store, self.backend, self.measurer, self.clipIDs)
        try await withThrowingTaskGroup(of: Void.self) { group in
            var next = 0
            func launch() {
                guard next < work.count else { return }
                let item = work[next]
                next += 1
                group.addTask { try await ProbeDriver.onOwnThread {
                    let wanted = Set(item.units)
                    var written = Set<ProbeUnit>()
                    let clipID = clipIDs[item.clip.id]!
                    do {
                        guard let sub = try plan.pruned(to: item.units) else { return }
                        let probeClip = try backend.probeClip(item.clip)
                        let stats = try sub.run(teacher: backend.teacher, clip: probeClip, seed: item.seed,
                                                decode: { x throws(ProbeError) in try backend.decodeForArms(x) }) { output in
                            guard wanted.contains(output.unit) else { return }
                            let key = UnitKey(clip: clipID, arm: armIDs[output.unit.arm]!, step: output.unit.step, seed: item.seed)
                            do {
                                let frames = try backend.decode(output.x0)
                                let result = try measurer.measure(output, frames: frames, clip: item.clip, key: key)
                                if try store.writeUnit(result) == .unchanged { byOthers.add(1) }
                                written.insert(output.unit)
                                status.unit(failed: false)
                            } catch let error as StoreError {
                                throw error
                            } catch {
                                try store.markFailed(key, reason: "measure: \(error)")
                                written.insert(output.unit)
                                failures.add("\(output.unit): \(error)")
                                status.unit(failed: true)
                            }
                        }
                        passes.add(stats.teacherPasses)
                    } catch let error as StoreError {
                        throw error
                    } catch {
                        // A teacher fault: the rest of this (clip, seed) is recorded as failed, the
                        // study goes on.
                        for u in wanted.subtracting(written) {
                            try store.markFailed(UnitKey(clip: clipID, arm: armIDs[u.arm]!, step: u.step, seed: u.seed),
                                                 reason: "teacher: \(error)")
                            status.unit(failed: true)
                        }
                        failures.add("\(item.clip.id) seed \(item.seed): \(error)")
                    }
                } }
            }
            for _ in 0..<min(lanes, work.count) { launch() }
            while try await group.next() != nil { launch() }
        }
        return (passes.value, failures.lines, byOthers.value)
    }
}
