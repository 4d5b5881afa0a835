import Foundation
import Store
import Testing

/// A whole probe through the shipped executable against the reference server: the stored numbers
/// equal the in-process analytic teacher's, and a server killed mid-run costs nothing after a
/// resume. Runs under `make e2e` (TRAJPROBE_E2E_BINARY set), which `.ci/run` runs.
@Suite(.enabled(if: ProcessInfo.processInfo.environment["TRAJPROBE_E2E_BINARY"] != nil && ReferenceServer.enabled,
                "set TRAJPROBE_E2E_BINARY (make e2e) and make the server venv"), .serialized)
struct RemoteProbeEndToEndTests {
    let binary = ProcessInfo.processInfo.environment["TRAJPROBE_E2E_BINARY"] ?? ""

    func run(_ args: [String], in dir: URL) throws -> (status: Int32, output: String) {
        let p = try start(args, in: dir)
        let out = (p.standardOutput as! Pipe).fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: out, as: UTF8.self))
    }

    func start(_ args: [String], in dir: URL) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binary)
        p.arguments = args
        p.currentDirectoryURL = dir
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        try p.run()
        return p
    }

    /// Rows `clip|arm|step|seed|metric|region` → value.
    func values(_ db: URL) throws -> [String: Double] {
        let s = try StudyStore.open(at: db, readOnly: true).snapshot()
        let clips = Dictionary(uniqueKeysWithValues: s.clips.map { ($0.id, $0.name) })
        let arms = Dictionary(uniqueKeysWithValues: s.arms.map { ($0.id, $0.label) })
        var out: [String: Double] = [:]
        for m in s.measurements { out["\(clips[m.clip]!)|\(arms[m.arm]!)|\(m.step)|\(m.seed)|\(m.metric)|\(m.region)"] = m.value }
        return out
    }

    /// Metrics computed on 8-bit frames (sync as any video is scored, sharpness on OpenCV's
    /// 8-bit grey): rounding to 8 bits is discontinuous, see `quantised` below.
    static let quantisedMetrics: Set<String> = ["sync_c", "sync_d", "sharpness"]

    /// Every stored value of `b` equals `a`'s (relative above 1: sharpness is in hundreds of grey
    /// levels²) within
    /// - 1e-5 for metrics of the float frames: the two teachers' frames differ by float32
    ///   rounding (NumPy's float64 sums and the FP32 wire against Swift's), ~1e-7;
    /// - 1e-3 for metrics of 8-bit frames: a value whose `x * 255` lies within that rounding of
    ///   a half-integer rounds to the neighbouring grey level (about 255 · 2 · 6e-8 ≈ 3e-5 of the
    ///   values: a few per unit in a 32 px mouth box), and each such pixel moves sync and
    ///   sharpness by a bounded step (MetricsTests' QuantisationTests derives and checks the
    ///   bounds; up to 8.2e-5 of sync_c per unit was seen) — 1e-3 allows a dozen of the largest;
    /// - exactly for sync_offset (an integer; no flip has come near a tie).
    /// Returns the worst relative differences of the two groups.
    func compare(_ a: [String: Double], _ b: [String: Double]) -> (float: Double, quantised: Double) {
        #expect(a.count == b.count && a.count > 500, "\(a.count) vs \(b.count) measurements")
        var worst = (float: 0.0, quantised: 0.0)
        for (k, v) in a {
            guard let w = b[k] else { Issue.record("missing \(k)"); continue }
            if v.isNaN && w.isNaN { continue }
            let metric = k.split(separator: "|")[4]
            let rel = abs(v - w) / max(1, abs(v))
            if metric == "sync_offset" {
                #expect(v == w, "\(k): in-process \(v), remote \(w)")
            } else if Self.quantisedMetrics.contains(String(metric)) {
                worst.quantised = max(worst.quantised, rel)
                #expect(rel <= 1e-3, "\(k): in-process \(v), remote \(w)")
            } else {
                worst.float = max(worst.float, rel)
                #expect(rel <= 1e-5, "\(k): in-process \(v), remote \(w)")
            }
        }
        return worst
    }

    @Test func remoteProbeStoresTheInProcessNumbersAndSurvivesAServerCrash() throws {
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("trajprobe-remote-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        try #require(try run(["demo-data", "--output", "data", "--identities", "2", "--clips", "3"], in: work).status == 0)

        // The demo study, smaller, with the float64 kernel (the remote twin computes in float64).
        var yaml = try String(contentsOf: work.appendingPathComponent("data/study.yaml"), encoding: .utf8)
        yaml = yaml.replacingOccurrences(of: "  identity_prior: masked_reference", with: "  precision: float64\n  identity_prior: masked_reference")
        yaml = yaml.replacingOccurrences(of: "seeds: [0, 1]", with: "seeds: [0]")
        let armsStart = try #require(yaml.range(of: "arms:\n"))
        let armsEnd = try #require(yaml.range(of: "seeds:", range: armsStart.upperBound..<yaml.endIndex))
        yaml.replaceSubrange(armsStart.lowerBound..<armsEnd.lowerBound,
                             with: "arms:\n  - trajectory w=1\n  - trajectory w=2\n  - fresh_noise w=2\n  - factorial w=2\n  - spatial w=2\n")
        let steps = ["--steps", "0,20,28,36,49"]
        try yaml.write(to: work.appendingPathComponent("data/analytic.yaml"), atomically: true, encoding: .utf8)
        let local = try run(["probe", "data/analytic.yaml", "--db", "analytic.sqlite", "--quiet"] + steps, in: work)
        try #require(local.status == 0, "\(local.output)")
        let export = try run(["teacher", "export", "data/analytic.yaml", "-o", "teacher.safetensors"], in: work)
        try #require(export.status == 0, "\(export.output)")

        let server = try ReferenceServer(["--model", "analytic", "--state", work.appendingPathComponent("teacher.safetensors").path])
        defer { server.stop() }
        let remoteYAML = yaml.replacingOccurrences(of: "  kind: analytic\n", with: """
              kind: remote
              url: \(server.url)
              model: analytic
              max_batch: 64
              retries: 1
              timeout_s: 20

            """)
        try remoteYAML.write(to: work.appendingPathComponent("data/remote.yaml"), atomically: true, encoding: .utf8)
        let check = try run(["teacher", "check", server.url, "--model", "analytic"], in: work)
        #expect(check.status == 0 && check.output.contains("state"), "\(check.output)")

        let remote = try run(["probe", "data/remote.yaml", "--db", "remote.sqlite", "--quiet"] + steps, in: work)
        try #require(remote.status == 0, "\(remote.output)")
        let a = try values(work.appendingPathComponent("analytic.sqlite"))
        let worst = compare(a, try values(work.appendingPathComponent("remote.sqlite")))
        print("remote vs in-process: \(a.count) measurements, worst relative difference \(worst.float) (float frames), \(worst.quantised) (8-bit frames)")
        let runs = try StudyStore.listRuns(at: work.appendingPathComponent("remote.sqlite"))
        #expect(runs.first?.status == .finished && runs.first?.failedUnits == 0)

        // The server dies mid-run: the probe records the units it could not finish as failed,
        // marks the study incomplete and exits 3; report and schedule say so in their first line
        // (and exit 3); a second run against a restarted server redoes only those.
        let crashDB = work.appendingPathComponent("crash.sqlite")
        let victim = try start(["probe", "data/remote.yaml", "--db", "crash.sqlite", "--quiet", "--jobs", "2"] + steps, in: work)
        let deadline = Date().addingTimeInterval(300)
        var doneBeforeKill = 0
        while Date() < deadline && victim.isRunning {
            // 70: past the GT rows (written first, 8 arms x 4 probes), so some probed units are stored.
            if let r = try? StudyStore.listRuns(at: crashDB).first, r.doneUnits >= 70 { doneBeforeKill = r.doneUnits; break }
            usleep(20_000)
        }
        server.stop()
        let victimOutput = (victim.standardOutput as! Pipe).fileHandleForReading.readDataToEndOfFile()
        victim.waitUntilExit()
        #expect(victim.terminationStatus == 3, "\(String(decoding: victimOutput, as: UTF8.self))")
        #expect(doneBeforeKill >= 70)
        let crashed = try #require(try StudyStore.listRuns(at: crashDB).first)
        #expect(crashed.failedUnits > 0, "the probe finished before the server was killed")
        #expect(crashed.status == .incomplete)
        let listed = try run(["runs", "crash.sqlite"], in: work)
        #expect(listed.status == 0 && listed.output.contains("[incomplete]"), "\(listed.output)")
        let report = try run(["report", "crash.sqlite", "-o", "crash-report"], in: work)
        #expect(report.status == 3, "\(report.output)")
        #expect(report.output.hasPrefix("remote [INCOMPLETE: \(crashed.failedUnits) failed units]"), "\(report.output)")
        let md = try String(contentsOf: work.appendingPathComponent("crash-report/report.md"), encoding: .utf8)
        #expect(md.hasPrefix("# trajprobe report: remote (INCOMPLETE: \(crashed.failedUnits) failed units)\n"))
        let refused = try run(["schedule", "crash.sqlite"], in: work)
        #expect(refused.status == 3 && refused.output.contains("the study is incomplete, not finished"), "\(refused.output)")
        let partial = try run(["schedule", "crash.sqlite", "--allow-partial"], in: work)
        #expect([2, 3].contains(partial.status), "\(partial.output)")
        if partial.status == 3 {
            #expect(partial.output.hasPrefix("# study 'remote' is INCOMPLETE: \(crashed.failedUnits) failed units"), "\(partial.output)")
        }

        let restarted = try ReferenceServer(["--model", "analytic", "--state", work.appendingPathComponent("teacher.safetensors").path,
                                             "--port", "\(server.port)"])
        defer { restarted.stop() }
        let resumed = try run(["probe", "data/remote.yaml", "--db", "crash.sqlite", "--quiet"] + steps, in: work)
        #expect(resumed.status == 0, "\(resumed.output)")
        let after = try #require(try StudyStore.listRuns(at: crashDB).first)
        #expect(after.status == .finished && after.failedUnits == 0)
        _ = compare(a, try values(crashDB))
    }
}
