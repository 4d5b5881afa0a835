import Foundation
import Measurement
import Testing
@testable import TrajectoryProbe

/// The diffusers/Wan adapter skeleton (tools/teacher_server/adapter_wan.py) on its tiny random
/// PyTorch module: its own plumbing tests, and RemoteTeacher driving it over HTTP. Needs torch in
/// `.venv` (tools/make_venv.sh --torch); CI does not install it, so there the suite is skipped and
/// says why.
@Suite(.enabled(if: ReferenceServer.torchAvailable, "torch is not installed in .venv (tools/make_venv.sh --torch)"), .serialized)
struct TorchAdapterTests {
    @Test func adapterPlumbingTestsPass() throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: ReferenceServer.python)
        p.arguments = [ReferenceServer.root.appendingPathComponent("tools/teacher_server/test_adapter.py").path]
        p.environment = ProcessInfo.processInfo.environment.merging(["TRAJPROBE_ADAPTER_DEVICE": "cpu"]) { $1 }
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        try p.run()
        let out = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(p.terminationStatus == 0, "\(out)")
        #expect(out.contains("Ran 6 tests") && out.contains("OK"), "\(out)")
    }

    @Test func remoteTeacherDrivesTheTinyVelocityModel() throws {
        setenv("TRAJPROBE_TINY_SIDE", "16", 1)
        let server = try ReferenceServer(["--model", "adapter_wan:make_tiny_model"])
        defer { server.stop() }
        let remote = try RemoteTeacher(options: RemoteTeacherOptions(url: server.url, model: "tiny-wan", timeout: 60, maxBatch: 4))
        #expect(remote.predictionKind == .velocity)
        #expect(remote.stateShape == [4 * 8 * 8])
        #expect(remote.supportedBranches == [.cond, .neg, .text, .uncond])
        let codec = try RemoteCodec(teacher: remote, frameSize: 16 * 16 * 3)
        let frames = GaussianNoise(key: "tiny frames").tensor(shape: [5, 16 * 16 * 3]).combined(0.1, Tensor(zeros: [5, 768], value: 0.5), 1)
        let x0 = try codec.encode(frames)
        #expect(x0.shape == [5, 256])
        #expect(try codec.decode(x0).shape == [5, 768])
        let eps = GaussianNoise(key: "tiny eps").tensor(shape: x0.shape)
        let xt = x0.combined(0.5, eps, 0.5)
        let conditioning = Conditioning(clip: "c", identity: "i", audioFeatures: GaussianNoise(key: "tiny audio").tensor(shape: [5, 3]))
        let pass = try TeacherPass(teacher: remote, states: xt, sigmas: Array(repeating: 0.5, count: 5), conditioning: conditioning,
                                   branches: [.cond, .neg])
        let raw = try remote.predict(states: xt, sigmas: Array(repeating: 0.5, count: 5), conditioning: conditioning, branches: [.cond])
        // Velocity converted to x0 by the probe's convention x0 = x_t - σ v.
        #expect(try #require(pass[.cond]).maxAbsDifference(xt.combined(1, raw[.cond]!, -0.5)) < 1e-5)
        #expect(try #require(pass[.cond]).maxAbsDifference(try #require(pass[.neg])) > 1e-3)
    }
}

extension ReferenceServer {
    /// Whether `.venv` has torch (the adapter tests); prints why not when it lacks it.
    static let torchAvailable: Bool = {
        guard ReferenceServer.unavailableReason == nil else { return false }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: ReferenceServer.python)
        p.arguments = ["-c", "import torch"]
        p.standardError = FileHandle.nullDevice
        guard (try? p.run()) != nil else { return false }
        p.waitUntilExit()
        if p.terminationStatus != 0 { print("skipping the torch adapter tests: torch is not installed in .venv (tools/make_venv.sh --torch)") }
        return p.terminationStatus == 0
    }()
}
