import ArgumentParser
import Foundation
import Measurement
import TrajectoryProbe

/// `trajprobe teacher`: check a remote teacher, or export the analytic one for the reference server.
struct TeacherCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "teacher",
        abstract: "Work with teachers: check a remote teacher, export the analytic teacher for the reference server.",
        discussion: ExitStatus.discussion("""
            A remote teacher is any server of the Open Inference Protocol (KServe v2 REST) that \
            declares the inputs x_t, t, branch (and optionally cond, reference, keep_mask, identity, \
            reference_path, audio_path) and an output x0 or velocity; tools/teacher_server/ is the \
            reference server. Point a study at it with `teacher: {kind: remote, url: …, model: …}`.

              trajprobe teacher check http://gpu-node:8000 --model wan-lipsync
              trajprobe teacher export study.yaml -o teacher.safetensors
              .venv/bin/python tools/teacher_server/server.py --model analytic \\
                  --state teacher.safetensors --port 8000
            """),
        subcommands: [TeacherCheck.self, TeacherExport.self])
}

/// `trajprobe teacher check`: a remote teacher's metadata and one round trip, before any probe spends time on it.
struct TeacherCheck: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Connect to a remote teacher, read its metadata and check it fits the probe.",
        discussion: ExitStatus.discussion("""
            Prints the model's inputs, outputs, prediction kind, branches and state space, then \
            round-trips one request (a grey frame encoded, noised to t = 0.5, predicted on every \
            branch, decoded). Fails (exit status 1) with one line naming the URL when the server is \
            unreachable, its model does not fit (shapes, inputs, branches) or it answers NaN.
            """))

    @Argument(help: ArgumentHelp("Server URL, e.g. http://127.0.0.1:8000.", valueName: "url")) var url: String
    @Option(help: "Model name on the server.") var model: String
    @Option(help: "Frame resolution the probe would use (checks the server's codec).") var resolution = 32
    @Option(help: "Seconds per request.") var timeout = 30.0

    func run() async throws {
        let teacher = try RemoteTeacher(options: RemoteTeacherOptions(url: url, model: model, timeout: timeout,
                                                                      retry: RetryPolicy(retries: 1)))
        let m = teacher.metadata
        print("server     \(teacher.serverDescription) (extensions: \(teacher.serverExtensions.joined(separator: ", ")))")
        print("model      \(m.name) (\(m.platform))")
        print("prediction \(teacher.predictionKind)")
        print("branches   \(m.branches.joined(separator: ", "))")
        print("x_t        [-1] + \(teacher.stateShape ?? [])")
        print("inputs     \(m.inputs.map { "\($0.name) \($0.datatype) \($0.shape)" }.joined(separator: "; "))")
        print("states     \(m.stateSpace)\(m.encoder.map { " (encoder \($0), decoder \(m.decoder ?? "?"))" } ?? "")")
        let codec = try RemoteCodec(teacher: teacher, frameSize: resolution * resolution * 3)
        print("codec      fits \(resolution)x\(resolution)x3 frames")
        // One real round trip: a grey frame encoded, noised to t = 0.5, predicted on every
        // declared branch, the prediction decoded; everything must come back finite.
        let frame = Tensor(zeros: [1, resolution * resolution * 3], value: 0.5)
        let x0 = try codec.encode(frame)
        let xt = x0.combined(0.5, GaussianNoise(key: "teacher check").tensor(shape: x0.shape), 0.5)
        let width = max(teacher.conditioningWidth, 1)
        let conditioning = Conditioning(clip: "check", identity: "check", audioFeatures: Tensor(zeros: [1, width]),
                                        referenceFrames: frame, keepMask: [Float](repeating: 1, count: resolution * resolution))
        let branches = m.branches.map { BranchName($0) }
        let started = Date()
        let pass = try TeacherPass(teacher: teacher, states: xt, sigmas: [0.5], conditioning: conditioning, branches: branches)
        let seconds = Date().timeIntervalSince(started)
        for b in branches { _ = try codec.decode(pass[b]!) }
        print(String(format: "round trip %d branch%@ at t = 0.5 in %.3f s: finite, shapes match", branches.count,
                     branches.count == 1 ? "" : "es", seconds))
        print("ok")
    }
}

/// `trajprobe teacher export`: the analytic teacher's state for tools/teacher_server (the remote path's self-test).
struct TeacherExport: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write a study's analytic teacher (bank, working space, knobs) for tools/teacher_server.",
        discussion: ExitStatus.discussion("""
            The reference server's `--model analytic --state FILE` serves exactly this teacher, so a \
            study probed through it (teacher kind remote) must store the numbers the in-process \
            teacher stores: the remote path's self-test.
            """))

    @Argument(help: ArgumentHelp("Study configuration with an analytic teacher.", valueName: "study.yaml")) var config: String
    @Option(name: .shortAndLong, help: ArgumentHelp("Output file (safetensors).", valueName: "file")) var output: String

    func run() async throws {
        let cfg = try ProbeStudyFile.load(URL(fileURLWithPath: config))
        let (frames, dim) = try await ProbeDriver(config: cfg).exportAnalyticTeacher(to: URL(fileURLWithPath: output))
        print("wrote \(output): \(frames) bank frames, states of \(dim) values")
    }
}
