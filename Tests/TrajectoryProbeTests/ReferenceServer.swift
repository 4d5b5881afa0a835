import Foundation
import Testing
@testable import TrajectoryProbe

/// The Python reference teacher server (tools/teacher_server) started on a free loopback port.
///
/// Needs `.venv/` with numpy and flask: `make test` creates it (tools/make_venv.sh --server).
/// Without it the remote-teacher tests are skipped with that reason, unless
/// TRAJPROBE_REQUIRE_SERVER=1 (set by `make test` and CI), where a missing venv fails them.
final class ReferenceServer: @unchecked Sendable {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static var python: String {
        ProcessInfo.processInfo.environment["TRAJPROBE_PYTHON"] ?? root.appendingPathComponent(".venv/bin/python").path
    }

    /// Nil when the server can run here; else why not.
    static let unavailableReason: String? = {
        guard FileManager.default.isExecutableFile(atPath: python) else { return "no \(python) (run tools/make_venv.sh --server)" }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: python)
        p.arguments = ["-c", "import numpy, flask"]
        p.standardError = FileHandle.nullDevice
        do { try p.run() } catch { return "cannot run \(python): \(error)" }
        p.waitUntilExit()
        return p.terminationStatus == 0 ? nil : "\(python) lacks numpy or flask (run tools/make_venv.sh --server)"
    }()

    static var enabled: Bool {
        if let reason = unavailableReason {
            if ProcessInfo.processInfo.environment["TRAJPROBE_REQUIRE_SERVER"] == "1" { return true }  // fail loudly below
            print("skipping remote-teacher tests: \(reason)")
            return false
        }
        return true
    }

    let process: Process
    let port: Int
    var url: String { "http://127.0.0.1:\(port)" }

    /// Starts `server.py` with `arguments` and waits for its `listening on` line.
    init(_ arguments: [String]) throws {
        if let reason = ReferenceServer.unavailableReason { throw ServerStartError(reason: reason) }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: ReferenceServer.python)
        p.arguments = ["-u", ReferenceServer.root.appendingPathComponent("tools/teacher_server/server.py").path, "--port", "0"] + arguments
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        process = p
        var line = Data()
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            line.append(chunk)
            if let text = String(data: line, encoding: .utf8), let r = text.range(of: "listening on 127.0.0.1:") {
                let rest = text[r.upperBound...].prefix { $0.isNumber }
                if let port = Int(rest), text[r.upperBound...].contains("\n") { self.port = port; return }
            }
        }
        p.terminate()
        throw ServerStartError(reason: "server did not start: \(String(decoding: line, as: UTF8.self))")
    }

    func stop() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    deinit { stop() }
}

struct ServerStartError: Error, CustomStringConvertible {
    var reason: String
    var description: String { reason }
}
