import Foundation
import Measurement
import Store

/// Where predictions come from.
public enum TeacherKind: String, Sendable, Codable, CaseIterable, Hashable {
    /// `analytic`: the exact posterior mean over a bank of frames; `remote`: a model behind an
    /// inference server; `imported`: prediction videos made elsewhere, measured with `trajprobe import videos`.
    case analytic, remote, imported
}

/// A study's configuration file (YAML). Every key is also a flag of `trajprobe probe`; the file
/// is read strictly: unknown keys and wrong types are errors naming the key and the file.
///
/// ```yaml
/// probe_set: probes.yaml          # or an inline `clips:` list (see ProbeSet)
/// teacher:
///   kind: analytic                # analytic | remote | imported
///   kappa: 4
///   bank: bank/                   # frames for the analytic bank
///   working_space: pixels         # pixels | pca
///   resolution: 32
///   pca_components: 64
///   audio_bandwidth: 0.7
///   audio_feature_noise: 0.3
///   precision: automatic          # automatic | float32 | float64
///   drop: audio                   # audio | text+audio (audio-only still reads as audio)
///   identity_prior: identity      # identity | masked_reference
///   reference_bandwidth: 3        # masked_reference kernel width (pixels in [0, 1])
///   url: http://gpu:8000          # remote: an Open Inference Protocol (KServe v2) server
///   model: omniavatar             # remote: the model's name on that server
///   timeout_s: 120                # remote: seconds per request before it is retried
///   retries: 4                    # remote: retries on connection errors, timeouts and 5xx
///   concurrency: 4                # remote: requests in flight at once
///   max_batch: 64                 # remote: state rows per request
///   transport: binary             # remote: binary (tensor extension) | json
///   datatype: fp32                # remote: fp32 | fp16 (latents both ways)
///   directory: runs/              # imported
///   guidance_scale: 4.5           # the teacher's CFG scale, w in the uncond form whatever guidance_form says: its arms decide window and schedule
/// steps: {num_steps: 50, shift: 5, subset: [0, 10, 20, 30, 40, 49]}
/// guidance_form: neg              # how arm scales are written: neg (w) or cond (g = w - 1)
/// arms: ["trajectory w=1", "trajectory w=4.5", "fresh_noise w=4.5", "factorial w=4.5"]
/// seeds: [0, 1]
/// metrics: [mse, psnr, ssim, lpips, sharpness, sync_c, sync_d, sync_offset]
/// sync: {model: facesync-cca, weights: null, preset: null}
/// lpips: {weights: alex.safetensors}  # from tools/convert_lpips.py; needed for metric lpips
/// ```
///
/// Without `metrics:` a study stores every metric it can: all of them, LPIPS only when
/// `lpips.weights` is given.
public struct ProbeStudyFile: Sendable, Equatable {
    /// The `teacher:` section: which teacher and its settings.
    public struct TeacherSection: Sendable, Equatable {
        /// `teacher.kind`: analytic, remote or imported.
        public var kind: TeacherKind = .analytic
        /// `teacher.kappa`: the analytic teacher's posterior sharpness κ.
        public var kappa: Double = 4
        /// `teacher.bank`: the analytic teacher's frame bank (clips manifest).
        public var bank: String?
        /// `teacher.working_space` (and `pca_components`): pixels or PCA.
        public var workingSpace: WorkingSpaceKind = .pixels
        /// `teacher.resolution`: frame side in pixels the teacher works at.
        public var resolution: Int = 32
        /// `teacher.audio_bandwidth`: the audio kernel width h.
        public var audioBandwidth: Double = 0.7
        /// `teacher.audio_feature_noise`: noise added to the bank's audio features.
        public var audioFeatureNoise: Double = 0.3
        /// `teacher.precision`: automatic, float32 or float64.
        public var precision: AnalyticTeacher.Precision = .automatic
        /// `teacher.drop`: what the negative CFG branch drops.
        public var dropMode: DropMode = .audioOnly
        /// `teacher.identity_prior` (and `reference_bandwidth`).
        public var identityPrior: AnalyticTeacher.IdentityPrior = .identityBank
        /// `teacher.url`: a remote teacher's endpoint.
        public var url: String?
        /// `teacher.model`: a remote teacher's model name.
        public var model: String?
        /// `teacher.timeout_seconds`: per-request timeout.
        public var timeoutSeconds: Double = 120
        /// `teacher.retries`: retries of a failed request.
        public var retries: Int = 4
        /// `teacher.concurrency`: requests in flight.
        public var concurrency: Int = 4
        /// `teacher.max_batch`: states per request.
        public var maxBatch: Int = 64
        /// `teacher.binary`: binary tensors rather than JSON.
        public var binaryTransport = true
        /// `teacher.datatype`: the wire datatype.
        public var datatype: WireDatatype = .fp32
        /// `teacher.directory`: imported prediction videos.
        public var directory: String?
        /// The teacher's own CFG scale w (uncond form): the scale whose arms decide the window and
        /// the schedule in the report. Nil: 4.5 when probed (OmniAvatar's), else the largest.
        public var guidanceScale: Double?

        /// How the probe reaches a remote teacher (kind remote); nil without url and model.
        public var remote: RemoteTeacherOptions? {
            guard let url, let model else { return nil }
            return RemoteTeacherOptions(url: url, model: model, timeout: timeoutSeconds, retry: RetryPolicy(retries: retries),
                                        concurrency: concurrency, maxBatch: maxBatch, binary: binaryTransport, datatype: datatype)
        }

        /// The analytic teacher's configuration these knobs describe.
        public var analytic: AnalyticTeacher.Configuration {
            AnalyticTeacher.Configuration(kappa: kappa, audioBandwidth: audioBandwidth, audioFeatureNoise: audioFeatureNoise,
                                          workingSpace: workingSpace, dropMode: dropMode, precision: precision,
                                          identityPrior: identityPrior)
        }
    }

    /// The `steps:` section: the teacher's schedule and the probed subset.
    public struct StepsSection: Sendable, Equatable {
        /// `steps.num_steps`: sampling steps N.
        public var numSteps: Int = 50
        /// `steps.shift`: the timestep shift s.
        public var shift: Double = 5
        /// `steps.max_t`: the clamp of t_0.
        public var maxT: Double = 0.999
        /// `steps.subset`: the steps probed (nil: all of 0..<N).
        public var subset: [Int]?
    }

    /// The `sync:` section: the sync model that scores Sync-C/D.
    public struct SyncSection: Sendable, Equatable {
        /// `sync.model`.
        public var model: SyncModelName = .faceSyncCCA
        /// The weights file.
        public var weights: String?
        /// `sync.preset`: SyncNet's preprocessing preset.
        public var preset: String?
    }

    /// LPIPS-AlexNet weights (safetensors made by tools/convert_lpips.py).
    public struct LPIPSSection: Sendable, Equatable {
        /// The weights file.
        public var weights: String?
    }

    /// The file read (named in errors).
    public var file: String
    /// The probe clips (`probe_set:` or `clips:`).
    public var probeSet: ProbeSet
    /// The `teacher:` section.
    public var teacher = TeacherSection()
    /// The `steps:` section.
    public var steps = StepsSection()
    /// How the file writes arm scales (`guidance_form`: `neg`, also spelt `uncond`, or `cond`).
    public var guidanceForm: CFGForm = .uncond
    /// Arms in trajprobe's own (neg-based) form, whatever `guidance_form` the file used.
    public var arms: [ArmSpec] = []
    /// `seeds`: noise seeds probed.
    public var seeds: [Int] = [0]
    /// `metrics`: metric names stored.
    public var metrics: [String] = ProbeStudyFile.defaultMetrics
    /// The `sync:` section.
    public var sync = SyncSection()
    /// The `lpips:` section.
    public var lpips = LPIPSSection()

    /// Every metric a study can store (what ``UnitMeasurer`` measures).
    public static let allMetrics = UnitMeasurer.allMetrics
    /// The metrics a study without `metrics:` stores when it has no LPIPS weights.
    public static let defaultMetrics = allMetrics.filter { $0 != MetricName.lpips }
    static let topKeys = ["probe_set", "clips", "teacher", "steps", "guidance_form", "arms", "seeds", "metrics", "sync", "lpips"]
    static let teacherKeys = ["kind", "kappa", "bank", "working_space", "resolution", "pca_components", "audio_bandwidth",
                              "audio_feature_noise", "precision", "drop", "identity_prior", "reference_bandwidth",
                              "url", "model", "timeout_s", "retries", "concurrency", "max_batch", "transport", "datatype",
                              "directory", "guidance_scale"]

    /// The schedule the steps section describes.
    public func schedule() throws(ProbeError) -> ShiftedSchedule {
        do { return try ShiftedSchedule(numSteps: steps.numSteps, shift: steps.shift, maxT: steps.maxT) } catch {
            throw .invalidSchedule(error.problem)
        }
    }

    /// Loads and validates a study file; relative paths resolve against its directory.
    public static func load(_ url: URL) throws(ProbeError) -> ProbeStudyFile {
        let text = try StrictYAML.text(of: url)
        return try parse(text: text, file: url.path, baseDirectory: url.deletingLastPathComponent())
    }

    /// Parses a study file's text strictly; relative paths resolve against `baseDirectory`.
    public static func parse(text: String, file: String, baseDirectory: URL) throws(ProbeError) -> ProbeStudyFile {
        let y = try StrictYAML.root(text: text, file: file)
        try y.allowOnly(topKeys)
        func resolve(_ p: String) -> String { p.hasPrefix("/") ? p : baseDirectory.appendingPathComponent(p).standardizedFileURL.path }

        let probeSet: ProbeSet
        switch (try y.string("probe_set"), y.has("clips")) {
        case (let path?, false): probeSet = try ProbeSet.load(URL(fileURLWithPath: resolve(path)))
        case (nil, true): probeSet = try ProbeSet.parse(clips: y, key: "clips", baseDirectory: baseDirectory)
        case (_?, true): throw .invalidValue(file: file, key: "clips", problem: "give either probe_set or clips, not both")
        case (nil, false): throw .missingKey(file: file, key: "probe_set")
        }
        var c = ProbeStudyFile(file: file, probeSet: probeSet)

        if let t = try y.map("teacher") {
            try t.allowOnly(teacherKeys)
            if let v = try t.choice("kind", TeacherKind.self) { c.teacher.kind = v }
            if let v = try t.double("kappa") {
                guard v > 0 else { throw .invalidValue(file: file, key: "teacher.kappa", problem: "must be positive") }
                c.teacher.kappa = v
            }
            c.teacher.bank = try t.string("bank").map(resolve)
            if let v = try t.int("resolution") {
                guard (4...ProbeStudyFile.maxResolution).contains(v) else {
                    throw .invalidValue(file: file, key: "teacher.resolution", problem: "must lie in 4...\(ProbeStudyFile.maxResolution), got \(v)")
                }
                c.teacher.resolution = v
            }
            let components = try t.int("pca_components")
            switch try t.string("working_space") ?? "pixels" {
            case "pixels":
                if components != nil { throw .invalidValue(file: file, key: "teacher.pca_components", problem: "only with working_space: pca") }
            case "pca":
                guard let k = components else { throw .missingKey(file: file, key: "teacher.pca_components") }
                guard (1...ProbeStudyFile.maxPCAComponents).contains(k) else {
                    throw .invalidValue(file: file, key: "teacher.pca_components", problem: "must lie in 1...\(ProbeStudyFile.maxPCAComponents), got \(k)")
                }
                c.teacher.workingSpace = .pca(components: k)
            case let other:
                throw .invalidValue(file: file, key: "teacher.working_space", problem: "'\(other)' is not one of pixels, pca")
            }
            if let v = try t.double("audio_bandwidth") {
                guard v > 0 else { throw .invalidValue(file: file, key: "teacher.audio_bandwidth", problem: "must be positive") }
                c.teacher.audioBandwidth = v
            }
            if let v = try t.double("audio_feature_noise") {
                guard v >= 0 else { throw .invalidValue(file: file, key: "teacher.audio_feature_noise", problem: "must be non-negative") }
                c.teacher.audioFeatureNoise = v
            }
            if let v = try t.string("precision") {
                guard let p = AnalyticTeacher.Precision(rawValue: v) else {
                    throw .invalidValue(file: file, key: "teacher.precision", problem: "'\(v)' is not one of automatic, float32, float64")
                }
                c.teacher.precision = p
            }
            if let v = try t.choice("drop", DropMode.self) { c.teacher.dropMode = v }
            let referenceBandwidth = try t.double("reference_bandwidth")
            switch try t.string("identity_prior") ?? "identity" {
            case "identity":
                if referenceBandwidth != nil {
                    throw .invalidValue(file: file, key: "teacher.reference_bandwidth", problem: "only with identity_prior: masked_reference")
                }
            case "masked_reference":
                let h = referenceBandwidth ?? 3
                guard h > 0 else { throw .invalidValue(file: file, key: "teacher.reference_bandwidth", problem: "must be positive") }
                c.teacher.identityPrior = .maskedReference(bandwidth: h)
            case let other:
                throw .invalidValue(file: file, key: "teacher.identity_prior", problem: "'\(other)' is not one of identity, masked_reference")
            }
            c.teacher.url = try t.string("url")
            c.teacher.model = try t.string("model")
            if let v = try t.double("timeout_s") {
                guard v > 0, v <= 86_400 else { throw .invalidValue(file: file, key: "teacher.timeout_s", problem: "must lie in (0, 86400] seconds, got \(v)") }
                c.teacher.timeoutSeconds = v
            }
            if let v = try t.int("retries") {
                guard (0...100).contains(v) else { throw .invalidValue(file: file, key: "teacher.retries", problem: "must lie in 0...100, got \(v)") }
                c.teacher.retries = v
            }
            if let v = try t.int("concurrency") {
                guard (1...256).contains(v) else { throw .invalidValue(file: file, key: "teacher.concurrency", problem: "must lie in 1...256 (a thread each), got \(v)") }
                c.teacher.concurrency = v
            }
            if let v = try t.int("max_batch") {
                guard (1...65_536).contains(v) else { throw .invalidValue(file: file, key: "teacher.max_batch", problem: "must lie in 1...65536, got \(v)") }
                c.teacher.maxBatch = v
            }
            switch try t.string("transport") ?? "binary" {
            case "binary": c.teacher.binaryTransport = true
            case "json": c.teacher.binaryTransport = false
            case let other: throw .invalidValue(file: file, key: "teacher.transport", problem: "'\(other)' is not one of binary, json")
            }
            switch try t.string("datatype") ?? "fp32" {
            case "fp32": c.teacher.datatype = .fp32
            case "fp16": c.teacher.datatype = .fp16
            case let other: throw .invalidValue(file: file, key: "teacher.datatype", problem: "'\(other)' is not one of fp32, fp16")
            }
            c.teacher.directory = try t.string("directory").map(resolve)
            if let v = try t.double("guidance_scale") {
                guard v >= 1 else { throw .invalidValue(file: file, key: "teacher.guidance_scale", problem: "must be at least 1 (1 = no CFG)") }
                c.teacher.guidanceScale = v
            }
        }
        switch c.teacher.kind {
        case .analytic where c.teacher.bank == nil: throw .missingKey(file: file, key: "teacher.bank")
        case .remote where c.teacher.url == nil: throw .missingKey(file: file, key: "teacher.url")
        case .remote where c.teacher.model == nil: throw .missingKey(file: file, key: "teacher.model")
        case .imported where c.teacher.directory == nil: throw .missingKey(file: file, key: "teacher.directory")
        default: break
        }

        if let s = try y.map("steps") {
            try s.allowOnly(["num_steps", "shift", "max_t", "subset"])
            if let v = try s.int("num_steps") {
                guard (1...ShiftedSchedule.maxSteps).contains(v) else {
                    throw .invalidValue(file: file, key: "steps.num_steps", problem: "must lie in 1...\(ShiftedSchedule.maxSteps), got \(v)")
                }
                c.steps.numSteps = v
            }
            if let v = try s.double("shift") { c.steps.shift = v }
            if let v = try s.double("max_t") { c.steps.maxT = v }
            c.steps.subset = try s.ints("subset")
            if c.steps.subset?.isEmpty == true {
                throw .invalidValue(file: file, key: "steps.subset", problem: "empty list: name at least one step, or leave subset out to probe every step")
            }
        }
        let schedule: ShiftedSchedule
        do { schedule = try c.schedule() } catch { throw .invalidValue(file: file, key: "steps", problem: error.description) }
        if let subset = c.steps.subset {
            do { c.steps.subset = try schedule.validate(steps: subset) } catch {
                throw .invalidValue(file: file, key: "steps.subset", problem: error.description)
            }
        }

        if let v = try y.string("guidance_form") {
            // `neg` is the probe file's spelling of Store's `uncond` form.
            switch v {
            case "neg", CFGForm.uncond.rawValue: c.guidanceForm = .uncond
            case CFGForm.cond.rawValue: c.guidanceForm = .cond
            default: throw .invalidValue(file: file, key: "guidance_form", problem: "'\(v)' is not one of neg (uncond), cond")
            }
        }
        guard let armLabels = try y.strings("arms") else { throw .missingKey(file: file, key: "arms") }
        guard !armLabels.isEmpty else { throw .invalidValue(file: file, key: "arms", problem: "no arms") }
        var arms: [ArmSpec] = []
        for (i, label) in armLabels.enumerated() {
            do throws(ProbeError) {
                for spec in try ProbeStudyFile.expand(label: label, form: c.guidanceForm) {
                    _ = try ProbeArms.make(spec, numSteps: schedule.numSteps)
                    if !arms.contains(spec) { arms.append(spec) }
                }
            } catch {
                throw .invalidValue(file: file, key: "arms[\(i)]", problem: error.description)
            }
        }
        c.arms = arms

        if let seeds = try y.ints("seeds") {
            guard !seeds.isEmpty, Set(seeds).count == seeds.count, seeds.allSatisfy({ $0 >= 0 }) else {
                throw .invalidValue(file: file, key: "seeds", problem: "give distinct non-negative seeds")
            }
            c.seeds = seeds
        }
        if let s = try y.map("lpips") {
            try s.allowOnly(["weights"])
            c.lpips.weights = try s.string("weights").map(resolve)
            if let w = c.lpips.weights { try checkFile(w, file: file, key: "lpips.weights") }
        }
        if let metrics = try y.strings("metrics") {
            for (i, m) in metrics.enumerated() where !allMetrics.contains(m) {
                throw .invalidValue(file: file, key: "metrics[\(i)]", problem: "'\(m)' is not one of \(allMetrics.joined(separator: ", "))")
            }
            if metrics.contains(MetricName.lpips) && c.lpips.weights == nil {
                throw .invalidValue(file: file, key: "metrics", problem: ProbeStudyFile.lpipsNeedsWeights)
            }
            c.metrics = metrics
        } else if c.lpips.weights != nil {
            c.metrics = allMetrics
        }
        if let s = try y.map("sync") {
            try s.allowOnly(["model", "weights", "preset"])
            if let v = try s.choice("model", SyncModelName.self) { c.sync.model = v }
            c.sync.weights = try s.string("weights").map(resolve)
            c.sync.preset = try s.string("preset")
            if c.sync.model == .syncNetV2 && c.sync.weights == nil { throw .missingKey(file: file, key: "sync.weights") }
            if let w = c.sync.weights {
                guard c.sync.model == .syncNetV2 else {
                    throw .invalidValue(file: file, key: "sync.weights", problem: "weights are for sync.model syncnet-v2 (facesync-cca is fitted on the bank)")
                }
                try checkFile(w, file: file, key: "sync.weights")
            }
            if let p = c.sync.preset {
                guard SyncPreset.named(p) != nil else {
                    throw .invalidValue(file: file, key: "sync.preset", problem: "'\(p)' is not one of \(SyncPreset.all.map(\.name).joined(separator: ", "))")
                }
                guard c.sync.model == .syncNetV2 else {
                    throw .invalidValue(file: file, key: "sync.preset", problem: "presets are SyncNet-v2 preprocessing (sync.model syncnet-v2); facesync-cca has its own fixed settings")
                }
            }
        }
        return c
    }

    /// Largest `teacher.resolution`: frames are decoded and held at this size (4096² RGB is
    /// 48 MiB a frame), and the probe also checks the decoded clips fit in memory.
    public static let maxResolution = 4096
    /// Largest `teacher.pca_components` (the basis is frame size × components floats).
    public static let maxPCAComponents = 4096

    /// A weights file named in the study must exist now, whether or not the metric is on:
    /// a typo found after an hour of probing (or never, when the metric is off) costs more.
    static func checkFile(_ path: String, file: String, key: String) throws(ProbeError) {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else {
            throw .invalidValue(file: file, key: key, problem: "no such file: \(path)")
        }
    }

    static let lpipsNeedsWeights = "lpips needs `lpips: {weights: FILE}` in the study (safetensors made by tools/convert_lpips.py from torchvision's AlexNet and the lpips package's alex.pth)"

    /// One arm label, or `factorial w=<w>` for the 2x2 Euler-jump factorial; scales written in
    /// `form` are converted to trajprobe's neg-based form (`tau` is a step, never converted).
    static func expand(label: String, form: CFGForm) throws(ProbeError) -> [ArmSpec] {
        let trimmed = label.trimmingCharacters(in: .whitespaces)
        if trimmed.hasPrefix("factorial") {
            let rest = trimmed.dropFirst("factorial".count).trimmingCharacters(in: .whitespaces)
            guard rest.hasPrefix("w="), let w = Double(rest.dropFirst(2)), w.isFinite else {
                throw .invalidArm(label: label, problem: "write the factorial as 'factorial w=<scale>'")
            }
            return EulerJumpArm.factorial(w: form.convert(w, to: .uncond)).map(\.spec)
        }
        var spec: ArmSpec
        do { spec = try ArmSpec(parsing: trimmed) } catch { throw .invalidArm(label: label, problem: error.problem) }
        for key in ["w", "s0", "s1"] where spec.family != .studentSchedule {
            if let v = spec.knobs[key] { spec.knobs[key] = form.convert(v, to: .uncond) }
        }
        if spec.family == .studentSchedule {
            for key in spec.knobs.keys where key.hasPrefix("g") { spec.knobs[key] = form.convert(spec.knobs[key]!, to: .uncond) }
        }
        return [spec]
    }
}

extension ProbeStudyFile {
    /// Takes the arms, steps and seeds a stored study recorded in its parameters (what
    /// `probe --arm/--steps/--seeds` may have set instead of the file), so a later command on that
    /// study rebuilds the configuration it was probed under.
    mutating func adopt(recorded parameters: StudyParameters) throws(ProbeError) {
        if let labels = parameters.arms {
            var specs: [ArmSpec] = []
            for label in labels {
                do { specs.append(try ArmSpec(parsing: label)) } catch {
                    throw .invalidValue(file: "the study's recorded arms", key: label, problem: error.problem)
                }
            }
            arms = specs
        }
        if let steps = parameters.probedSteps { self.steps.subset = steps }
        if let seeds = parameters.seeds { self.seeds = seeds }
    }

    /// Applies `trajprobe probe` flags on top of the file: each replaces the file's value and is
    /// validated the same way (errors name the flag).
    public mutating func override(arms labels: [String]? = nil, seeds: String? = nil, steps: String? = nil,
                                  kappa: Double? = nil, resolution: Int? = nil, drop: String? = nil,
                                  guidanceScale: Double? = nil, identityPrior: String? = nil,
                                  referenceBandwidth: Double? = nil, pcaComponents: Int? = nil,
                                  bank: String? = nil, metrics: String? = nil) throws(ProbeError) {
        let schedule = try self.schedule()
        if let labels {
            var out: [ArmSpec] = []
            for label in labels {
                do throws(ProbeError) {
                    for spec in try ProbeStudyFile.expand(label: label, form: guidanceForm) {
                        _ = try ProbeArms.make(spec, numSteps: schedule.numSteps)
                        if !out.contains(spec) { out.append(spec) }
                    }
                } catch { throw .invalidValue(file: "--arm", key: label, problem: error.description) }
            }
            arms = out
        }
        func ints(_ text: String, flag: String) throws(ProbeError) -> [Int] {
            let parts = text.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard !parts.isEmpty, parts.allSatisfy({ $0 != nil }) else {
                throw .invalidValue(file: flag, key: text, problem: "give comma-separated integers")
            }
            return parts.map { $0! }
        }
        if let seeds {
            let s = try ints(seeds, flag: "--seeds")
            guard Set(s).count == s.count, s.allSatisfy({ $0 >= 0 }) else {
                throw .invalidValue(file: "--seeds", key: seeds, problem: "give distinct non-negative seeds")
            }
            self.seeds = s
        }
        if let steps {
            do { self.steps.subset = try schedule.validate(steps: try ints(steps, flag: "--steps")) }
            catch { throw .invalidValue(file: "--steps", key: steps, problem: "\(error)") }
        }
        if let kappa {
            guard kappa > 0 else { throw .invalidValue(file: "--kappa", key: "\(kappa)", problem: "must be positive") }
            teacher.kappa = kappa
        }
        if let resolution {
            guard (4...ProbeStudyFile.maxResolution).contains(resolution) else {
                throw .invalidValue(file: "--resolution", key: "\(resolution)", problem: "must lie in 4...\(ProbeStudyFile.maxResolution)")
            }
            teacher.resolution = resolution
        }
        if let drop {
            guard let d = DropMode(rawValue: drop) else {
                throw .invalidValue(file: "--drop", key: drop, problem: "one of \(DropMode.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            teacher.dropMode = d
        }
        if let guidanceScale {
            guard guidanceScale >= 1 else { throw .invalidValue(file: "--guidance-scale", key: "\(guidanceScale)", problem: "must be at least 1") }
            teacher.guidanceScale = guidanceScale
        }
        if let identityPrior {
            switch identityPrior {
            case "identity": teacher.identityPrior = .identityBank
            case "masked_reference":
                let h = referenceBandwidth ?? 3
                guard h > 0 else { throw .invalidValue(file: "--reference-bandwidth", key: "\(h)", problem: "must be positive") }
                teacher.identityPrior = .maskedReference(bandwidth: h)
            default: throw .invalidValue(file: "--identity-prior", key: identityPrior, problem: "one of identity, masked_reference")
            }
        } else if let referenceBandwidth {
            guard case .maskedReference = teacher.identityPrior, referenceBandwidth > 0 else {
                throw .invalidValue(file: "--reference-bandwidth", key: "\(referenceBandwidth)", problem: "needs identity_prior masked_reference and a positive value")
            }
            teacher.identityPrior = .maskedReference(bandwidth: referenceBandwidth)
        }
        if let pcaComponents {
            guard (1...ProbeStudyFile.maxPCAComponents).contains(pcaComponents) else {
                throw .invalidValue(file: "--pca-components", key: "\(pcaComponents)", problem: "must lie in 1...\(ProbeStudyFile.maxPCAComponents)")
            }
            teacher.workingSpace = .pca(components: pcaComponents)
        }
        if let bank { teacher.bank = bank }
        if let metrics {
            let list = metrics.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            for m in list where !ProbeStudyFile.allMetrics.contains(m) {
                throw .invalidValue(file: "--metrics", key: m, problem: "one of \(ProbeStudyFile.allMetrics.joined(separator: ", "))")
            }
            if list.contains(MetricName.lpips) && lpips.weights == nil {
                throw .invalidValue(file: "--metrics", key: MetricName.lpips, problem: ProbeStudyFile.lpipsNeedsWeights)
            }
            self.metrics = list
        }
    }
}
