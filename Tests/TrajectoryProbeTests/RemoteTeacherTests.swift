import Foundation
import Measurement
import Store
import Testing
@testable import TrajectoryProbe

/// The wire format alone: no server needed.
struct InferenceWireTests {
    @Test func binaryResponseWithFP16AndFP32OutputsDecodes() throws {
        let header = #"{"model_name":"m","outputs":[{"name":"x0","shape":[2,2],"datatype":"FP32","parameters":{"binary_data_size":16}},"#
            + #"{"name":"h","shape":[3],"datatype":"FP16","parameters":{"binary_data_size":6}}],"parameters":{"compute_ms":1.5}}"#
        var body = Data(header.utf8)
        for v: Float in [1, -2.5, 0.125, 3e-3] { withUnsafeBytes(of: v.bitPattern.littleEndian) { body.append(contentsOf: $0) } }
        for v: Float16 in [0.5, -1, 65504] { withUnsafeBytes(of: v.bitPattern.littleEndian) { body.append(contentsOf: $0) } }
        let r = try InferenceResponse.decode(body, headerLength: header.utf8.count, url: "u")
        #expect(r.outputs["x0"]?.floats == [1, -2.5, 0.125, 3e-3])
        #expect(r.outputs["x0"]?.shape == [2, 2])
        #expect(r.outputs["h"]?.floats == [0.5, -1, 65504])
        #expect(r.computeMilliseconds == 1.5)
    }

    @Test func jsonResponseDecodesExactFloat32Values() throws {
        // Python writes float32 values as float64 text: they must come back bit for bit.
        let v: Float = 0.1
        let body = Data(#"{"model_name":"m","outputs":[{"name":"x0","shape":[2],"datatype":"FP32","data":[\#(Double(v)),-7]}]}"#.utf8)
        let r = try InferenceResponse.decode(body, headerLength: nil, url: "u")
        #expect(r.outputs["x0"]?.floats == [0.1, -7])
    }

    @Test func malformedResponsesAreTypedErrors() {
        func problem(_ body: String, _ header: Int? = nil) -> String? {
            do { _ = try InferenceResponse.decode(Data(body.utf8), headerLength: header, url: "http://h/x"); return nil } catch {
                guard case .malformedResponse(let url, let p) = error, url == "http://h/x" else { return "wrong error \(error)" }
                return p
            }
        }
        #expect(problem(#"{"model_name": "x", "outputs": ["#)?.contains("not JSON") == true)
        #expect(problem(#"{"model_name": "x"}"#)?.contains("no 'outputs'") == true)
        #expect(problem(#"{"outputs":[{"name":"x0","shape":[3],"datatype":"FP32","data":[1,2]}]}"#)?.contains("2 values for shape [3]") == true)
        #expect(problem(#"{"outputs":[{"name":"x0","shape":[1],"datatype":"FP32","parameters":{"binary_data_size":4}}]}"#, 200)?.contains("exceeds the body") == true)
        let h = #"{"outputs":[{"name":"x0","shape":[2],"datatype":"FP32","parameters":{"binary_data_size":8}}]}"#
        #expect(problem(h + "abcd", h.utf8.count)?.contains("8 binary bytes") == true)
        #expect(problem(#"{"outputs":[{"name":"x0","shape":[1],"datatype":"INT8","data":[1]}]}"#)?.contains("INT8") == true)
    }

    @Test func requestBodiesCarryEveryTensor() throws {
        let req = InferenceRequest(id: "7", inputs: [
            WireTensor(name: "x_t", shape: [1, 2], floats: [0.5, -1]),
            WireTensor(name: "t", shape: [1], doubles: [0.123456789012]),
            WireTensor(name: "branch", shape: [1], strings: ["co\"nd"]),
        ], outputs: [("x0", .fp16)], binary: false)
        let (body, header) = req.encoded()
        #expect(header == nil)
        let o = try #require(try JSONSerialization.jsonObject(with: body) as? [String: Any])
        let inputs = try #require(o["inputs"] as? [[String: Any]])
        #expect((inputs[0]["data"] as? [Double]) == [0.5, -1])
        #expect((inputs[1]["data"] as? [Double]) == [0.123456789012])
        #expect(inputs[1]["datatype"] as? String == "FP64")
        #expect((inputs[2]["data"] as? [String]) == ["co\"nd"])
        let bin = InferenceRequest(inputs: req.inputs, outputs: [("x0", .fp32)], binary: true).encoded()
        let hl = try #require(bin.headerLength)
        // 2 floats + 1 double + (4 + 5) bytes of string after the JSON header.
        #expect(bin.body.count - hl == 8 + 8 + 9)
    }

    @Test func retryDelaysDoubleUpToTheCap() {
        let p = RetryPolicy(retries: 5, baseDelay: 0.5, maxDelay: 3)
        #expect((1...5).map(p.delay(beforeRetry:)) == [0.5, 1, 2, 3, 3])
    }
}

/// RemoteTeacher against the reference server serving the NumPy twin of the analytic teacher.
@Suite(.enabled(if: ReferenceServer.enabled, "needs .venv with numpy and flask (tools/make_venv.sh --server)"), .serialized)
struct RemoteTeacherTests {
    /// A small analytic teacher, its exported state, and probe-like inputs.
    struct Setup {
        var teacher: AnalyticTeacher
        var state: URL
        var conditioning: Conditioning
        var states: Tensor
        var frames: Tensor

        init(prior: AnalyticTeacher.IdentityPrior = .maskedReference(bandwidth: 0.5), pca: Bool = true) throws {
            let bank = try TestBanks.random(side: 8, identities: 3, clipsPerIdentity: 3, framesPerClip: 6)
            let config = AnalyticTeacher.Configuration(kappa: 4, workingSpace: pca ? .pca(components: 12) : .pixels,
                                                       precision: .float64, identityPrior: prior)
            teacher = try AnalyticTeacher(bank: bank, heldOut: ["id1c2"], configuration: config)
            state = FileManager.default.temporaryDirectory.appendingPathComponent("teacher-\(UUID().uuidString).safetensors")
            try teacher.exportState(to: state, frameShape: [8, 8, 3])
            let rows = bank.rows(ofClip: "id1c2")
            frames = bank.frames(rows: rows)
            var mask = [Float](repeating: 1, count: 64)
            for y in 5..<8 { for x in 2..<6 { mask[y * 8 + x] = 0 } }
            conditioning = try teacher.prepared(Conditioning(clip: "id1c2", identity: "id1", audioFeatures: bank.audio(rows: rows),
                                                             referenceFrames: frames, keepMask: mask))
            let x0 = try teacher.space.encode(frames)
            let eps = GaussianNoise(key: "remote-test").tensor(shape: x0.shape)
            states = x0.combined(0.6, eps, 0.4)
        }

        func options(_ url: String, binary: Bool = true, datatype: WireDatatype = .fp32, maxBatch: Int = 64) -> RemoteTeacherOptions {
            RemoteTeacherOptions(url: url, model: "analytic", timeout: 20, retry: RetryPolicy(retries: 2, baseDelay: 0.01),
                                 concurrency: 3, maxBatch: maxBatch, binary: binary, datatype: datatype)
        }
    }

    static let sigmas: [[Double]] = [[0.9], [0.5], [0.2], [0.05]]

    @Test(arguments: [true, false])
    func remotePredictionsEqualTheInProcessTeacher(maskedReference: Bool) throws {
        let s = try Setup(prior: maskedReference ? .maskedReference(bandwidth: 0.5) : .identityBank)
        let server = try ReferenceServer(["--model", "analytic", "--state", s.state.path])
        defer { server.stop() }
        // maxBatch 5 splits the 12 rows of a two-branch pass into three concurrent requests.
        let remote = try RemoteTeacher(options: s.options(server.url, maxBatch: 5))
        #expect(remote.predictionKind == .x0)
        #expect(remote.stateShape == [12])
        let branches: [BranchName] = [.cond, .neg, .text, .uncond]
        for sg in RemoteTeacherTests.sigmas {
            let sigmas = Array(repeating: sg[0], count: s.states.rows)
            let local = try s.teacher.predict(states: s.states, sigmas: sigmas, conditioning: s.conditioning, branches: branches)
            let far = try remote.predict(states: s.states, sigmas: sigmas, conditioning: s.conditioning, branches: branches)
            for b in branches {
                let d = try #require(far[b]).maxAbsDifference(try #require(local[b]))
                #expect(d < 1e-5, "σ=\(sg[0]) branch \(b): max |Δ| \(d)")
            }
        }
        let codec = try RemoteCodec(teacher: remote, frameSize: 192)
        #expect(try codec.encode(s.frames).maxAbsDifference(try s.teacher.space.encode(s.frames)) < 1e-5)
        #expect(try codec.decode(s.states).maxAbsDifference(try s.teacher.space.decode(s.states)) < 1e-5)
        #expect(remote.stats.requests >= 4 * 3 + 2)
    }

    /// Student schedules run on a remote teacher exactly as in process: every pass of the
    /// student's sampling goes over the wire, and its final prediction matches the in-process
    /// teacher's. Chained passes carry the per-pass difference (float64 on both sides, the server
    /// rounding states and outputs to float32) through the posterior's softmax; 1e-4 bounds it here.
    @Test func studentSchedulesRunOnTheRemoteTeacher() throws {
        let s = try Setup()
        let server = try ReferenceServer(["--model", "analytic", "--state", s.state.path])
        defer { server.stop() }
        let remote = try RemoteTeacher(options: s.options(server.url))
        let clip = ProbeClip(id: "id1c2", reference: try s.teacher.space.encode(s.frames), conditioning: s.conditioning)
        let arms = try ["student_schedule renoise steps=0,20,36 g=1,2,2", "student_schedule euler steps=0,30 g=1,4.5",
                        "student_schedule steps=0 g=2"].map { try ArmSpec(parsing: $0) } + [.eulerJump(s0: 1, s1: 4.5)]
        let plan = try ProbePlan(arms: arms, schedule: try ShiftedSchedule(numSteps: 50, shift: 5, maxT: 0.999), steps: [30])
        var local: [ProbeUnit: Tensor] = [:], far: [ProbeUnit: Tensor] = [:]
        try plan.run(teacher: s.teacher, clip: clip, seed: 0) { local[$0.unit] = $0.x0 }
        let stats = try plan.run(teacher: remote, clip: clip, seed: 0) { far[$0.unit] = $0.x0 }
        #expect(stats.teacherPasses == 4 && remote.stats.requests >= 4)
        #expect(far.count == 4 && Set(far.keys) == Set(local.keys))
        for (unit, x) in local {
            let d = try #require(far[unit]).maxAbsDifference(x)
            #expect(d < 1e-4, "\(unit): max |Δ| \(d)")
        }
    }

    @Test func jsonAndFP16TransportsCarryTheSameNumbers() throws {
        let s = try Setup()
        let server = try ReferenceServer(["--model", "analytic", "--state", s.state.path])
        defer { server.stop() }
        let sigmas = Array(repeating: 0.5, count: s.states.rows)
        let binary = try RemoteTeacher(options: s.options(server.url)).predict(states: s.states, sigmas: sigmas, conditioning: s.conditioning, branches: [.cond])
        let json = try RemoteTeacher(options: s.options(server.url, binary: false)).predict(states: s.states, sigmas: sigmas, conditioning: s.conditioning, branches: [.cond])
        #expect(json[.cond] == binary[.cond])
        let half = try RemoteTeacher(options: s.options(server.url, datatype: .fp16)).predict(states: s.states, sigmas: sigmas, conditioning: s.conditioning, branches: [.cond])
        let d = try #require(half[.cond]).maxAbsDifference(try #require(binary[.cond]))
        // Inputs and outputs rounded to half: |x| ≲ 8 here, so a few half-ulps of 8.
        #expect(d > 0 && d < 0.05, "fp16 vs fp32: \(d)")
    }

    @Test func serverErrorsAreRetriedThenSucceed() throws {
        let s = try Setup()
        let server = try ReferenceServer(["--model", "analytic", "--state", s.state.path, "--fail-first", "2"])
        defer { server.stop() }
        let remote = try RemoteTeacher(options: s.options(server.url))
        let sigmas = Array(repeating: 0.5, count: s.states.rows)
        let far = try remote.predict(states: s.states, sigmas: sigmas, conditioning: s.conditioning, branches: [.cond])
        let local = try s.teacher.predict(states: s.states, sigmas: sigmas, conditioning: s.conditioning, branches: [.cond])
        #expect(far[.cond]!.maxAbsDifference(local[.cond]!) < 1e-5)
        #expect(remote.stats.retries == 2)
    }

    @Test func persistentServerErrorsFailAfterTheRetries() throws {
        let s = try Setup()
        let server = try ReferenceServer(["--model", "analytic", "--state", s.state.path, "--fail-first", "100"])
        defer { server.stop() }
        let remote = try RemoteTeacher(options: s.options(server.url))
        #expect {
            try remote.predict(states: s.states, sigmas: Array(repeating: 0.5, count: s.states.rows), conditioning: s.conditioning, branches: [.cond])
        } throws: { e in
            guard case let .serverError(_, status, message, attempts) = e as? RemoteError else { return false }
            return status == 500 && attempts == 3 && message.contains("injected failure")
        }
    }

    @Test func slowAnswersHitTheTimeout() throws {
        let s = try Setup()
        let server = try ReferenceServer(["--model", "analytic", "--state", s.state.path, "--delay", "5"])
        defer { server.stop() }
        _ = try RemoteTeacher(options: s.options(server.url))  // the first answers of a fresh server are slow
        var o = s.options(server.url)
        o.timeout = 1
        o.retry = RetryPolicy(retries: 1, baseDelay: 0.01)
        let remote = try RemoteTeacher(options: o)
        let started = Date()
        #expect {
            try remote.predict(states: s.states, sigmas: Array(repeating: 0.5, count: s.states.rows), conditioning: s.conditioning, branches: [.cond])
        } throws: { e in
            guard case let .timedOut(_, seconds, attempts) = e as? RemoteError else { return false }
            return seconds == 1 && attempts == 2
        }
        #expect(Date().timeIntervalSince(started) < 4.9, "two 1 s attempts, not the server's 5 s")
    }

    @Test func malformedJSONIsNotRetried() throws {
        let s = try Setup()
        let server = try ReferenceServer(["--model", "analytic", "--state", s.state.path, "--malformed-every", "1"])
        defer { server.stop() }
        let remote = try RemoteTeacher(options: s.options(server.url))
        #expect {
            try remote.predict(states: s.states, sigmas: Array(repeating: 0.5, count: s.states.rows), conditioning: s.conditioning, branches: [.cond])
        } throws: { e in
            guard case .malformedResponse(let url, let problem) = e as? RemoteError else { return false }
            return url.hasSuffix("/v2/models/analytic/infer") && problem.contains("not JSON")
        }
        #expect(remote.stats.retries == 0)
    }

    @Test func wrongShapesAreNamed() throws {
        let s = try Setup()
        let server = try ReferenceServer(["--model", "analytic", "--state", s.state.path, "--wrong-shape"])
        defer { server.stop() }
        let remote = try RemoteTeacher(options: s.options(server.url))
        #expect {
            try remote.predict(states: s.states, sigmas: Array(repeating: 0.5, count: s.states.rows), conditioning: s.conditioning, branches: [.cond])
        } throws: { e in
            guard case .incompatibleModel(_, let problem) = e as? RemoteError else { return false }
            return problem.contains("[6, 11]") && problem.contains("expected [6, 12]")
        }
        // Declared shapes are checked before any unit runs.
        #expect(throws: RemoteError.self) { try remote.check(stateShape: [13], conditioningWidth: 3, branches: [.cond, .neg]) }
        #expect(throws: RemoteError.self) { try remote.check(stateShape: [12], conditioningWidth: 5, branches: [.cond, .neg]) }
        #expect(throws: RemoteError.self) { try RemoteCodec(teacher: remote, frameSize: 32 * 32 * 3) }
        try remote.check(stateShape: [12], conditioningWidth: 3, branches: [.cond, .neg])
    }

    @Test func badRequestsAreRefusedWithoutRetry() throws {
        let s = try Setup()
        let server = try ReferenceServer(["--model", "analytic", "--state", s.state.path])
        defer { server.stop() }
        let client = try InferenceClient(url: server.url, timeout: 5, retry: RetryPolicy(retries: 3, baseDelay: 0.01))
        let req = InferenceRequest(inputs: [WireTensor(name: "x_t", shape: [1, 5], floats: [0, 0, 0, 0, 0])], outputs: [("x0", .fp32)], binary: true)
        #expect {
            try client.infer(model: "analytic", req)
        } throws: { e in
            guard case let .rejected(_, status, message) = e as? RemoteError else { return false }
            return status == 400 && message.contains("missing input t")
        }
        #expect(throws: RemoteError.self) { try client.infer(model: "nope", req) }
        #expect(client.stats.retries == 0)
    }

    @Test func unreachableServersFailAfterTheRetries() throws {
        // A port nobody listens on: bind one, close it.
        let s = try Setup()
        let server = try ReferenceServer(["--model", "analytic", "--state", s.state.path])
        let url = server.url
        server.stop()
        let started = Date()
        #expect {
            try RemoteTeacher(options: RemoteTeacherOptions(url: url, model: "analytic", timeout: 2, retry: RetryPolicy(retries: 2, baseDelay: 0.05)))
        } throws: { e in
            guard case let .unreachable(u, attempts, _) = e as? RemoteError else { return false }
            return u.hasPrefix(url) && attempts == 3
        }
        #expect(Date().timeIntervalSince(started) >= 0.15, "backoff 0.05 + 0.1 s")
        #expect(throws: RemoteError.invalidURL("ftp://x")) { try InferenceClient(url: "ftp://x", timeout: 1) }
    }
}
