import Dispatch
import Foundation
import Measurement
import Support

/// A model's declaration as the server's metadata endpoint gives it.
public struct RemoteModelMetadata: Sendable, Equatable {
    /// One declared input or output.
    public struct TensorSpec: Sendable, Equatable {
        /// The tensor's name (`x_t`, `t`, `branch`, `x0`, ...).
        public var name: String
        /// Protocol datatype as declared (`FP32`, `BYTES`, ...).
        public var datatype: String
        /// -1 for a free axis (the batch).
        public var shape: [Int]
    }

    /// The model's name on the server.
    public var name: String
    /// The server's platform string (e.g. `pytorch`), shown by `trajprobe teacher` and in the
    /// teacher's identity line.
    public var platform: String
    /// Declared inputs; each must be one trajprobe knows how to fill.
    public var inputs: [TensorSpec]
    /// Declared outputs; the prediction is read from the one named x0, velocity or epsilon.
    public var outputs: [TensorSpec]
    /// What the output means (`parameters.prediction`, else the output's name); nil when neither says.
    public var prediction: PredictionKind?
    /// Guidance branches the model serves (`parameters.branches`: `cond`, `neg`, ...).
    public var branches: [String]
    /// `pixels` (states are frames) or `encoded` (the server's encoder/decoder models map them).
    public var stateSpace: String
    /// Name of the server model that maps frames to states, when `stateSpace` is `encoded`.
    public var encoder: String?
    /// Name of the server model that maps states back to frames, when `stateSpace` is `encoded`.
    public var decoder: String?
    /// Frame shape the model expects (`parameters.frame_shape`), when it declares one.
    public var frameShape: [Int]?

    /// Parses the metadata endpoint's JSON, refusing shapes that are not exact integers or that
    /// would exceed 2^40 elements (every later allocation is sized from them).
    package static func parse(_ o: [String: Any], url: String) throws(RemoteError) -> RemoteModelMetadata {
        /// Dimensions as the protocol allows them (-1 for a free axis), each exactly an integer,
        /// their product at most 2^40 elements: every later size is computed from these.
        func dims(_ any: [Any], _ what: String) throws(RemoteError) -> [Int] {
            var out: [Int] = [], product = 1
            for v in any {
                guard !isJSONBool(v), let d = v as? Int, d == -1 || (d >= 0 && d <= Int(Int32.max)) else {
                    throw .malformedResponse(url: url, problem: "\(what) has shape \(any)")
                }
                if d > 0 {
                    let (p, overflow) = product.multipliedReportingOverflow(by: d)
                    guard !overflow, p <= 1 << 40 else { throw .malformedResponse(url: url, problem: "\(what) has shape \(any), too large") }
                    product = p
                }
                out.append(d)
            }
            return out
        }
        func specs(_ key: String) throws(RemoteError) -> [TensorSpec] {
            guard let list = o[key] as? [[String: Any]] else { throw .malformedResponse(url: url, problem: "model metadata has no '\(key)' list") }
            var out: [TensorSpec] = []
            for s in list {
                guard let n = s["name"] as? String, let d = s["datatype"] as? String, let sh = s["shape"] as? [Any] else {
                    throw .malformedResponse(url: url, problem: "a metadata \(key) entry lacks name, datatype or shape")
                }
                out.append(TensorSpec(name: n, datatype: d, shape: try dims(sh, "\(key) '\(n)'")))
            }
            return out
        }
        let frameShape: [Int]?
        if let f = (o["parameters"] as? [String: Any])?["frame_shape"] as? [Any] { frameShape = try dims(f, "frame_shape") } else { frameShape = nil }
        let params = o["parameters"] as? [String: Any] ?? [:]
        let outputs = try specs("outputs")
        var prediction: PredictionKind?
        switch (params["prediction"] as? String) ?? outputs.first?.name ?? "" {
        case "x0": prediction = .x0
        case "velocity", "v": prediction = .velocity
        case "epsilon", "eps": prediction = .epsilon
        default: prediction = nil
        }
        return RemoteModelMetadata(
            name: o["name"] as? String ?? "", platform: o["platform"] as? String ?? "", inputs: try specs("inputs"),
            outputs: outputs, prediction: prediction, branches: params["branches"] as? [String] ?? ["cond", "neg"],
            stateSpace: params["state_space"] as? String ?? "pixels", encoder: params["encoder"] as? String,
            decoder: params["decoder"] as? String, frameShape: frameShape)
    }
}

/// How the probe talks to a remote teacher (every field is a `teacher:` key of the study file).
public struct RemoteTeacherOptions: Sendable, Equatable {
    /// Server root, `http://` or `https://`.
    public var url: String
    /// Model name on the server.
    public var model: String
    /// Seconds one request may take before it counts as failed (and is retried).
    public var timeout: Double = 120
    /// How failed requests are retried.
    public var retry = RetryPolicy()
    /// Requests in flight at once, over every lane of the probe.
    public var concurrency: Int = 4
    /// State rows per request (a pass with B frames and two branches is 2B rows).
    public var maxBatch: Int = 64
    /// The binary tensor extension (default) or plain JSON.
    public var binary: Bool = true
    /// FP32, or FP16 to halve the bytes of latents (both ways).
    public var datatype: WireDatatype = .fp32

    /// Options with the defaults a study file may omit.
    public init(url: String, model: String, timeout: Double = 120, retry: RetryPolicy = RetryPolicy(), concurrency: Int = 4,
                maxBatch: Int = 64, binary: Bool = true, datatype: WireDatatype = .fp32) {
        self.url = url
        self.model = model
        self.timeout = timeout
        self.retry = retry
        self.concurrency = concurrency
        self.maxBatch = maxBatch
        self.binary = binary
        self.datatype = datatype
    }
}

/// Bounds the requests in flight across every caller of one teacher.
final class RequestGate: @unchecked Sendable {
    private let semaphore: DispatchSemaphore
    init(_ n: Int) { semaphore = DispatchSemaphore(value: max(1, n)) }
    func run<T>(_ body: () throws(RemoteError) -> T) throws(RemoteError) -> T {
        semaphore.wait()
        defer { semaphore.signal() }
        return try body()
    }
}

/// A teacher served over the Open Inference Protocol (KServe v2 REST): `tools/teacher_server`
/// or any server that declares the inputs below.
///
/// Inputs sent per state row: `x_t` (FP32 or FP16, `[N, *state_shape]`), `t` (the flow time σ in
/// (0, 1]; FP32, or FP64 when the model declares it), `branch` (BYTES: `cond`, `neg`, `text`, `uncond`), `cond` (FP32, the clip's
/// per-frame audio features), and those of `reference` (the mouth-masked reference frame, never
/// the clean one), `keep_mask`, `identity`, `reference_path`, `audio_path` the model declares.
/// Several branches of one pass travel in one request (rows stacked branch by branch) and large
/// passes are split into requests of ``RemoteTeacherOptions/maxBatch`` rows sent concurrently.
public struct RemoteTeacher: Teacher {
    /// `remote:<model>`, the teacher name stored with results.
    public let name: String
    /// The options the teacher was connected with.
    public let options: RemoteTeacherOptions
    /// The model's declaration, checked at connection.
    public let metadata: RemoteModelMetadata
    /// What the model's output means; conversions to x0 use it.
    public let predictionKind: PredictionKind
    /// The guidance branches the model declares it serves.
    public let supportedBranches: Set<BranchName>
    /// Shape of one state row (`x_t`'s declared axes after the batch).
    public let stateShape: [Int]?
    let client: InferenceClient
    let gate: RequestGate
    /// `GET /v2`: the server's name and version, and the protocol extensions it lists.
    public let serverDescription: String
    /// Protocol extensions the server lists (`binary_tensor_data` is needed for binary transport).
    public let serverExtensions: [String]
    let outputName: String
    /// Feature count the model's `cond` input declares.
    public let conditioningWidth: Int

    /// Inputs trajprobe can fill, in the order they are sent.
    public static let knownInputs = ["x_t", "t", "branch", "cond", "reference", "keep_mask", "identity", "reference_path", "audio_path"]

    // MARK: - Connecting

    /// Connects: checks liveness and readiness, reads the model's metadata and checks it declares
    /// what the probe sends and reads. Every mismatch is ``RemoteError/incompatibleModel(url:problem:)``.
    public init(options: RemoteTeacherOptions) throws(RemoteError) {
        self.options = options
        client = try InferenceClient(url: options.url, timeout: options.timeout, retry: options.retry,
                                     maxConnections: options.concurrency)
        gate = RequestGate(options.concurrency)
        let url = client.url("/v2/models/\(options.model)")
        // Server first (readiness, the extensions it speaks), then the model.
        let serverReady = try client.getJSON("/v2/health/ready")
        guard serverReady["ready"] as? Bool != false else { throw .incompatibleModel(url: client.url("/v2/health/ready"), problem: "server is not ready") }
        let server = try client.getJSON("/v2")
        serverDescription = "\(server["name"] as? String ?? "?") \(server["version"] as? String ?? "")"
        serverExtensions = server["extensions"] as? [String] ?? []
        if options.binary, let extensions = server["extensions"] as? [String], !extensions.contains("binary_tensor_data") {
            throw .incompatibleModel(url: client.url("/v2"), problem: "the server does not list the binary_tensor_data extension (extensions: \(extensions)); use transport: json")
        }
        let ready = try client.getJSON("/v2/models/\(options.model)/ready")
        guard ready["ready"] as? Bool == true else { throw .incompatibleModel(url: url, problem: "model is not ready") }
        let meta = try RemoteModelMetadata.parse(try client.getJSON("/v2/models/\(options.model)"), url: url)
        metadata = meta
        name = "remote:\(options.model)"
        guard let kind = meta.prediction, let out = meta.outputs.first(where: { ["x0", "velocity", "v", "epsilon", "eps"].contains($0.name) }) ?? meta.outputs.first else {
            throw .incompatibleModel(url: url, problem: "no output named x0, velocity or epsilon (outputs: \(meta.outputs.map(\.name)))")
        }
        predictionKind = kind
        outputName = out.name
        for i in meta.inputs where !RemoteTeacher.knownInputs.contains(i.name) {
            throw .incompatibleModel(url: url, problem: "input '\(i.name)' is not one trajprobe sends (\(RemoteTeacher.knownInputs.joined(separator: ", ")))")
        }
        for required in ["x_t", "t", "branch"] where !meta.inputs.contains(where: { $0.name == required }) {
            throw .incompatibleModel(url: url, problem: "the model declares no input '\(required)'")
        }
        let xt = meta.inputs.first { $0.name == "x_t" }!
        guard xt.shape.first == -1, xt.shape.dropFirst().allSatisfy({ $0 > 0 }) else {
            throw .incompatibleModel(url: url, problem: "x_t must be declared [-1, fixed axes…], not \(xt.shape)")
        }
        guard out.shape.count == xt.shape.count, Array(out.shape.dropFirst()) == Array(xt.shape.dropFirst()) else {
            throw .incompatibleModel(url: url, problem: "output '\(out.name)' shape \(out.shape) differs from x_t's \(xt.shape)")
        }
        stateShape = Array(xt.shape.dropFirst())
        conditioningWidth = meta.inputs.first { $0.name == "cond" }?.shape.last ?? 0
        supportedBranches = Set(meta.branches.map { BranchName($0) })
    }

    // MARK: - Checks and prediction

    /// Transport counters of this teacher's client, for the probe summary and the benchmark.
    public var stats: TransportStats { client.stats }

    /// Checks the probe's frames, states and conditioning fit what the model declared, before
    /// any unit runs: a mismatch found here costs nothing; found mid-run it would fail every unit.
    public func check(stateShape probe: [Int]?, conditioningWidth width: Int, branches: Set<BranchName>) throws(RemoteError) {
        let url = client.url("/v2/models/\(options.model)")
        if let probe, let s = stateShape, probe.reduce(1, *) != s.reduce(1, *) {
            throw .incompatibleModel(url: url, problem: "the probe's states are \(probe), the model declares x_t [-1] + \(s)")
        }
        if metadata.inputs.contains(where: { $0.name == "cond" }), conditioningWidth != width {
            throw .incompatibleModel(url: url, problem: "cond declares \(conditioningWidth) features per row, the probe has \(width)")
        }
        let missing = branches.subtracting(supportedBranches).map(\.rawValue).sorted()
        if !missing.isEmpty {
            throw .incompatibleModel(url: url, problem: "the probe needs branches \(missing), the model declares \(metadata.branches)")
        }
    }

    /// Sends the pass as requests of at most `maxBatch` rows (branches stacked), concurrently
    /// within the gate, and returns each branch's prediction as the model emitted it.
    public func predict(states: Tensor, sigmas: [Double], conditioning: Conditioning,
                        branches: [BranchName]) throws -> [BranchName: Tensor] {
        let b = states.rows, d = states.rowSize
        let rows = b * branches.count
        let declared = Set(metadata.inputs.map(\.name))
        // Rows are stacked branch by branch: row i is state i % b under branch i / b.
        let step = max(1, options.maxBatch)
        let chunks = stride(from: 0, to: rows, by: step).map { $0..<min($0 + step, rows) }
        var maskedReference: [Float] = []
        if declared.contains("reference") {
            guard let ref = conditioning.referenceFrames, ref.rows == b, let mask = conditioning.keepMask, !mask.isEmpty else {
                throw RemoteError.incompatibleModel(url: options.url, problem: "the model needs the reference frames and keep mask of clip '\(conditioning.clip)'")
            }
            let channels = ref.rowSize / mask.count
            maskedReference = ref.data
            for r in 0..<b { for j in 0..<ref.rowSize { maskedReference[r * ref.rowSize + j] *= mask[j / channels] } }
        }
        if declared.contains("cond") {
            guard let a = conditioning.audioFeatures, a.rows == b else {
                throw RemoteError.incompatibleModel(url: options.url, problem: "the model needs audio features for every frame of clip '\(conditioning.clip)'")
            }
        }
        let pass = PassRequests(states: states, sigmas: sigmas, branches: branches, conditioning: conditioning,
                                maskedReference: maskedReference, declared: declared, rowShape: stateShape ?? [d],
                                output: outputName, datatype: options.datatype, binary: options.binary,
                                timeIn64: metadata.inputs.first { $0.name == "t" }?.datatype == "FP64")
        let shape = stateShape ?? [d]
        let client = self.client, gate = self.gate, model = options.model, outputName = self.outputName
        let results = try RemoteTeacher.concurrently(chunks.count) { (k: Int) throws(RemoteError) -> [Float] in
            let range = chunks[k]
            let response = try gate.run { () throws(RemoteError) -> InferenceResponse in try client.infer(model: model, pass.request(range)) }
            let url = client.url("/v2/models/\(model)/infer")
            guard let out = response.outputs[outputName], let values = out.floats else {
                throw .malformedResponse(url: url, problem: "no output '\(outputName)' (got \(response.outputs.keys.sorted()))")
            }
            guard out.shape == [range.count] + shape else {
                throw .incompatibleModel(url: url, problem: "output '\(outputName)' has shape \(out.shape), expected \([range.count] + shape)")
            }
            return values
        }
        var flat = [Float]()
        flat.reserveCapacity(rows * d)
        for r in results { flat.append(contentsOf: r) }
        var out: [BranchName: Tensor] = [:]
        for (k, br) in branches.enumerated() {
            out[br] = Tensor(unchecked: states.shape, Array(flat[(k * b * d)..<((k + 1) * b * d)]))
        }
        return out
    }

    // MARK: - Concurrency

    /// Runs `count` jobs on their own threads (they block on the network) and returns their
    /// results in order; the first error wins.
    static func concurrently<T: Sendable>(_ count: Int, _ job: @escaping @Sendable (Int) throws(RemoteError) -> T) throws(RemoteError) -> [T] {
        if count == 1 { return [try job(0)] }
        let results = ConcurrentResults<T>(count)
        let group = DispatchGroup()
        for k in 0..<count {
            group.enter()
            DispatchQueue.global().async {
                defer { group.leave() }
                do throws(RemoteError) {
                    results.set(k, try job(k))
                } catch {
                    results.fail(error)
                }
            }
        }
        group.wait()
        return try results.values()
    }
}

/// Results of ``RemoteTeacher/concurrently(_:_:)``'s jobs, filled from their threads.
final class ConcurrentResults<T: Sendable>: Sendable {
    private let state: Locked<(slots: [T?], error: RemoteError?)>
    init(_ n: Int) { state = Locked((slots: Array(repeating: nil, count: n), error: nil)) }
    func set(_ k: Int, _ v: T) { state.withLock { $0.slots[k] = v } }
    func fail(_ e: RemoteError) { state.withLock { if $0.error == nil { $0.error = e } } }
    func values() throws(RemoteError) -> [T] {
        let now = state.snapshot
        if let error = now.error { throw error }
        return now.slots.map { $0! }
    }
}

/// The wire requests of one teacher pass: any row range of the stacked (branch, state) rows.
struct PassRequests: Sendable {
    let states: Tensor
    let sigmas: [Double]
    let branches: [BranchName]
    let conditioning: Conditioning
    let maskedReference: [Float]
    let declared: Set<String>
    let rowShape: [Int]
    let output: String
    let datatype: WireDatatype
    let binary: Bool
    /// The model declares `t` FP64.
    let timeIn64: Bool

    func request(_ range: Range<Int>) -> InferenceRequest {
        let b = states.rows, d = states.rowSize, n = range.count
        var inputs: [WireTensor] = []
        var x = [Float](repeating: 0, count: n * d)
        x.withUnsafeMutableBufferPointer { o in states.data.withUnsafeBufferPointer { s in
            for (k, i) in range.enumerated() { o.baseAddress!.advanced(by: k * d).update(from: s.baseAddress! + (i % b) * d, count: d) }
        } }
        inputs.append(WireTensor(name: "x_t", shape: [n] + rowShape, floats: x, datatype: datatype))
        inputs.append(timeIn64 ? WireTensor(name: "t", shape: [n], doubles: range.map { sigmas[$0 % b] })
                               : WireTensor(name: "t", shape: [n], floats: range.map { Float(sigmas[$0 % b]) }))
        inputs.append(WireTensor(name: "branch", shape: [n], strings: range.map { branches[$0 / b].rawValue }))
        func rows(_ source: [Float], width w: Int) -> [Float] {
            var c = [Float](repeating: 0, count: n * w)
            for (k, i) in range.enumerated() { for j in 0..<w { c[k * w + j] = source[(i % b) * w + j] } }
            return c
        }
        if declared.contains("cond"), let a = conditioning.audioFeatures {
            inputs.append(WireTensor(name: "cond", shape: [n, a.rowSize], floats: rows(a.data, width: a.rowSize)))
        }
        if declared.contains("reference") {
            let r = maskedReference.count / b
            inputs.append(WireTensor(name: "reference", shape: [n, r], floats: rows(maskedReference, width: r)))
        }
        if declared.contains("keep_mask"), let m = conditioning.keepMask {
            inputs.append(WireTensor(name: "keep_mask", shape: [1, m.count], floats: m))
        }
        let strings: [(String, String?)] = [("identity", conditioning.identity), ("reference_path", conditioning.referenceVideoPath),
                                            ("audio_path", conditioning.audioPath)]
        for (name, value) in strings where declared.contains(name) {
            inputs.append(WireTensor(name: name, shape: [n], strings: Array(repeating: value ?? "", count: n)))
        }
        return InferenceRequest(inputs: inputs, outputs: [(output, datatype)], binary: binary)
    }
}

/// The map between frames and a remote teacher's states: the server's encoder and decoder models
/// (a VAE), or the identity when the model works on frames (`state_space: pixels`).
public struct RemoteCodec: Sendable {
    let teacher: RemoteTeacher
    /// Values per frame, `H·W·3`.
    public let frameSize: Int

    /// Checks the server's codec models against the probe's frame size (`H·W·3`).
    public init(teacher: RemoteTeacher, frameSize: Int) throws(RemoteError) {
        self.teacher = teacher
        self.frameSize = frameSize
        let meta = teacher.metadata
        let url = teacher.client.url("/v2/models/\(teacher.options.model)")
        if let fs = meta.frameShape, fs.reduce(1, *) != frameSize {
            throw .incompatibleModel(url: url, problem: "the model's frames are \(fs) (\(fs.reduce(1, *)) values), the probe decodes \(frameSize) (set teacher.resolution)")
        }
        if meta.stateSpace == "pixels" {
            guard (teacher.stateShape ?? []).reduce(1, *) == frameSize else {
                throw .incompatibleModel(url: url, problem: "state_space pixels but x_t is \(teacher.stateShape ?? []), the probe's frames have \(frameSize) values")
            }
            return
        }
        guard let enc = meta.encoder, let dec = meta.decoder else {
            throw .incompatibleModel(url: url, problem: "state_space '\(meta.stateSpace)' needs the parameters encoder and decoder (model names)")
        }
        for (model, input, output) in [(enc, "frames", "states"), (dec, "states", "frames")] {
            let m = try RemoteModelMetadata.parse(try teacher.client.getJSON("/v2/models/\(model)"), url: teacher.client.url("/v2/models/\(model)"))
            guard m.inputs.contains(where: { $0.name == input }), m.outputs.contains(where: { $0.name == output }) else {
                throw .incompatibleModel(url: teacher.client.url("/v2/models/\(model)"), problem: "a codec model must take '\(input)' and give '\(output)'")
            }
            let frames = (input == "frames" ? m.inputs.first { $0.name == input } : m.outputs.first { $0.name == output })!
            if let last = frames.shape.last, last > 0, frames.shape.dropFirst().reduce(1, *) != frameSize {
                throw .incompatibleModel(url: teacher.client.url("/v2/models/\(model)"),
                                         problem: "frames declared \(frames.shape), the probe's frames have \(frameSize) values (set teacher.resolution)")
            }
        }
    }

    /// Frames `[B, H·W·3]` to states through the server's encoder (identity for `pixels`).
    public func encode(_ frames: Tensor) throws(RemoteError) -> Tensor {
        guard teacher.metadata.stateSpace != "pixels" else { return Tensor(unchecked: [frames.rows] + (teacher.stateShape ?? [frames.rowSize]), frames.data) }
        return try run(model: teacher.metadata.encoder!, input: "frames", output: "states", frames, rowShape: teacher.stateShape ?? [])
    }

    /// States to frames `[B, H·W·3]` through the server's decoder (identity for `pixels`).
    public func decode(_ states: Tensor) throws(RemoteError) -> Tensor {
        guard teacher.metadata.stateSpace != "pixels" else { return Tensor(unchecked: [states.rows, frameSize], states.data) }
        return try run(model: teacher.metadata.decoder!, input: "states", output: "frames", states, rowShape: [frameSize])
    }

    private func run(model: String, input: String, output: String, _ x: Tensor, rowShape: [Int]) throws(RemoteError) -> Tensor {
        let req = InferenceRequest(inputs: [WireTensor(name: input, shape: x.shape, floats: x.data)],
                                   outputs: [(output, .fp32)], binary: teacher.options.binary)
        let response = try teacher.gate.run { () throws(RemoteError) -> InferenceResponse in try teacher.client.infer(model: model, req) }
        let url = teacher.client.url("/v2/models/\(model)/infer")
        guard let out = response.outputs[output], let values = out.floats else {
            throw .malformedResponse(url: url, problem: "no output '\(output)'")
        }
        guard out.shape.first == x.rows, out.shape.dropFirst().reduce(1, *) == rowShape.reduce(1, *) else {
            throw .incompatibleModel(url: url, problem: "output '\(output)' has shape \(out.shape), expected [\(x.rows)] + \(rowShape)")
        }
        return Tensor(unchecked: [x.rows] + rowShape, values)
    }
}
