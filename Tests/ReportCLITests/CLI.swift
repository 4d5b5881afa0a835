import Foundation
import Testing

/// Runs the `trajprobe` executable built beside these tests, as argument-parser's own
/// `AssertExecuteCommand` does: the real `main`, so exit codes and usage texts are the shipped ones.
enum CLI {
    /// One finished run.
    struct Result: Sendable {
        var status: Int32
        var stdout: String
        var stderr: String
        /// stdout parsed as one JSON object (nil when it is not one).
        var object: [String: Any]? { (try? JSONSerialization.jsonObject(with: Data(stdout.utf8))) as? [String: Any] }
        /// stdout parsed as a JSON array.
        var array: [Any]? { (try? JSONSerialization.jsonObject(with: Data(stdout.utf8))) as? [Any] }
    }

    /// The binary: TRAJPROBE_BINARY, else `trajprobe` in the build folder the test bundle runs from.
    static let binary: URL = {
        if let path = ProcessInfo.processInfo.environment["TRAJPROBE_BINARY"] { return URL(fileURLWithPath: path) }
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        // macOS runs tests from inside an .xctest bundle (Contents/MacOS).
        while !FileManager.default.fileExists(atPath: dir.appendingPathComponent("trajprobe").path) && dir.path != "/" {
            dir = dir.deletingLastPathComponent()
        }
        return dir.appendingPathComponent("trajprobe")
    }()

    /// Runs `trajprobe args…` in `dir`.
    static func run(_ args: [String], in dir: URL) throws -> Result {
        try shell(nil, args: args, in: dir)
    }

    /// Runs `command` through /bin/sh in `dir`, with the binary's folder first on PATH (the
    /// README's examples, globs and all, as a user types them).
    static func sh(_ command: String, in dir: URL) throws -> Result {
        try shell(command, args: [], in: dir)
    }

    private static func shell(_ command: String?, args: [String], in dir: URL) throws -> Result {
        let p = Process()
        if let command {
            p.executableURL = URL(fileURLWithPath: "/bin/sh")
            p.arguments = ["-c", command]
            var env = ProcessInfo.processInfo.environment
            env["PATH"] = binary.deletingLastPathComponent().path + ":" + (env["PATH"] ?? "/usr/bin:/bin")
            p.environment = env
        } else {
            p.executableURL = binary
            p.arguments = args
        }
        p.currentDirectoryURL = dir
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        // Read both pipes while the process runs (a full pipe would block it).
        final class Box: @unchecked Sendable { var data = Data() }
        let errBox = Box()
        let reader = Thread { errBox.data = err.fileHandleForReading.readDataToEndOfFile() }
        reader.start()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        while !reader.isFinished { usleep(1000) }
        return Result(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self),
                      stderr: String(decoding: errBox.data, as: UTF8.self))
    }

    /// A fresh temporary directory.
    static func scratch(_ name: String) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("trajprobe-cli-\(name)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    /// Every key of every object in a JSON tree (not the values).
    static func keys(_ json: Any) -> [String] {
        switch json {
        case let o as [String: Any]: return o.keys.sorted() + o.values.flatMap(keys)
        case let a as [Any]: return a.flatMap(keys)
        default: return []
        }
    }

    /// A key is snake_case: lowercase ASCII letters, digits and underscores.
    static func isSnakeCase(_ key: String) -> Bool {
        !key.isEmpty && key.allSatisfy { ($0.isASCII && $0.isLowercase) || $0.isNumber || $0 == "_" }
    }
}

/// The shared fixture, made once per test run: the demo generator's smallest probe set (2
/// identities, 3 clips each) and a 2-step, 2-arm study probed from it into `small.sqlite`.
struct Fixture: Sendable {
    /// The folder holding data/, study.yaml and small.sqlite (never written by tests: copy it).
    let root: URL
    /// The probe's `--json` summary, as printed.
    let probe: CLI.Result

    /// The study configuration: the HostileCLI workspace's, tiny enough for seconds.
    static let studyYAML = """
        probe_set: data/probes.yaml
        teacher: {kind: analytic, bank: data/bank.yaml, kappa: 4, resolution: 32, working_space: pca, pca_components: 16,
                  drop: audio-only, guidance_scale: 2, identity_prior: masked_reference, reference_bandwidth: 0.5}
        steps: {num_steps: 50, shift: 5, subset: [20, 30]}
        arms: [fresh_noise w=1, fresh_noise w=2]
        seeds: [0]
        metrics: [mse, psnr, ssim, sharpness, sync_c, sync_d, sync_offset]
        sync: {model: facesync-cca}

        """

    static let shared: Result<Fixture, FixtureError> = {
        do {
            let root = try CLI.scratch("fixture")
            let made = try CLI.run(["demo-data", "--output", "data", "--identities", "2", "--clips", "3"], in: root)
            guard made.status == 0 else { return .failure(FixtureError(text: "demo-data: \(made.stderr)")) }
            try studyYAML.write(to: root.appendingPathComponent("study.yaml"), atomically: true, encoding: .utf8)
            let probe = try CLI.run(["probe", "study.yaml", "--db", "small.sqlite", "--study", "small", "--quiet", "--json"], in: root)
            guard probe.status == 0 else { return .failure(FixtureError(text: "probe: \(probe.stderr)")) }
            return .success(Fixture(root: root, probe: probe))
        } catch {
            return .failure(FixtureError(text: "\(error)"))
        }
    }()

    /// The fixture, or the test fails with why it could not be made.
    static func get() throws -> Fixture { try shared.get() }

    /// A scratch folder holding a copy of the fixture (data/, study.yaml, small.sqlite). Its
    /// study.yaml names the fixture's own clips (absolute paths), as the database registered
    /// them: a probe or search in the copy resumes the same study.
    func copy(_ name: String) throws -> URL {
        let dir = try CLI.scratch(name)
        for item in try FileManager.default.contentsOfDirectory(atPath: root.path) where item != "study.yaml" {
            try FileManager.default.copyItem(at: root.appendingPathComponent(item), to: dir.appendingPathComponent(item))
        }
        try Fixture.studyYAML.replacingOccurrences(of: " data/", with: " \(root.path)/data/")
            .write(to: dir.appendingPathComponent("study.yaml"), atomically: true, encoding: .utf8)
        return dir
    }
}

/// Why the fixture could not be made.
struct FixtureError: Error, CustomStringConvertible {
    var text: String
    var description: String { text }
}
