import Foundation
import Store
import Testing

/// Issue 16's repros through the shipped executable: each hostile input ends with exit status 1
/// and one line naming the file and the key (never a signal), writes nothing, and leaves what
/// was stored as it was; failed work exits 3; every command's help lists the exit codes.
@Suite(.enabled(if: ProcessInfo.processInfo.environment["TRAJPROBE_E2E_BINARY"] != nil, "set TRAJPROBE_E2E_BINARY (make e2e)"), .serialized)
struct HostileCLITests {
    let binary = ProcessInfo.processInfo.environment["TRAJPROBE_E2E_BINARY"] ?? ""

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
        /// The last line of stderr: the CLI's one-line error.
        var error: String { stderr.split(separator: "\n").last.map(String.init) ?? "" }
    }

    func run(_ args: [String], in dir: URL) throws -> Result {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binary)
        p.arguments = args
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
        return Result(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: errBox.data, as: UTF8.self))
    }

    /// A work directory with the demo's data (2 identities, 3 clips each) and a small study.
    static func workspace(_ test: HostileCLITests) throws -> URL {
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("trajprobe-hostile-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        let made = try test.run(["demo-data", "--output", "data", "--identities", "2", "--clips", "3"], in: work)
        try #require(made.status == 0, "\(made.stderr)")
        try small.write(to: work.appendingPathComponent("data/small.yaml"), atomically: true, encoding: .utf8)
        return work
    }

    static let small = """
        probe_set: probes.yaml
        teacher: {kind: analytic, bank: bank.yaml, kappa: 4, resolution: 32, working_space: pca, pca_components: 16,
                  drop: audio-only, guidance_scale: 2, identity_prior: masked_reference, reference_bandwidth: 0.5}
        steps: {num_steps: 50, shift: 5, subset: [20, 30]}
        arms: [fresh_noise w=1, fresh_noise w=2]
        seeds: [0]
        metrics: [mse, psnr, ssim, sharpness, sync_c, sync_d, sync_offset]
        sync: {model: facesync-cca}

        """

    func listing(_ dir: URL) throws -> [String] { try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() }

    @Test func hostileInputsEndInOneLineAndWriteNothing() throws {
        let work = try Self.workspace(self)
        defer { try? FileManager.default.removeItem(at: work) }
        let data = work.appendingPathComponent("data")
        let out = work.appendingPathComponent("out")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)

        // D1: a safetensors header whose shape product overflows.
        var header = Array(#"{"features.0.weight": {"dtype": "F32", "shape": [4294967296, 4294967296, 16], "data_offsets": [0, 16]}}"#.utf8)
        while header.count % 8 != 0 { header.append(0x20) }
        var file = Data()
        withUnsafeBytes(of: UInt64(header.count).littleEndian) { file.append(contentsOf: $0) }
        file.append(contentsOf: header + [UInt8](repeating: 0, count: 16))
        let weights = out.appendingPathComponent("overflow.safetensors")
        try file.write(to: weights)
        let d1 = try run(["measure", "sync", "data/clips/id0_c0.mp4", "--syncnet", weights.path], in: work)
        #expect(d1.status == 1)
        #expect(d1.error == "Error: Weights file '\(weights.path)' has a bad safetensors header: tensor 'features.0.weight' has F32 shape "
                + "[4294967296, 4294967296, 16], larger than the file's 16 bytes of data.")

        // D2, D3, D5, D11: refused when the study is read; no database, no FaceSync model.
        let study = data.appendingPathComponent("small.yaml").path
        let cases: [(String, String, String)] = [
            ("num_steps: 50", "num_steps: 9223372036854775807", "key 'steps.num_steps': must lie in 1...10000, got 9223372036854775807"),
            ("num_steps: 50", "num_steps: 1000000000", "key 'steps.num_steps': must lie in 1...10000, got 1000000000"),
            ("resolution: 32", "resolution: 100000", "key 'teacher.resolution': must lie in 4...4096, got 100000"),
            ("model: facesync-cca}", "model: syncnet-v2, weights: \(weights.path), preset: syncnet_pyton}",
             "key 'sync.preset': 'syncnet_pyton' is not one of syncnet_python, syncnet_python-jpeg, lipforcing-reward"),
            ("subset: [20, 30]", "subset: []", "key 'steps.subset': empty list: name at least one step, or leave subset out to probe every step"),
            ("seeds: [0]", "seeds: [0]\nlpips: {weights: nowhere.safetensors}",
             "key 'lpips.weights': no such file: \(data.path)/nowhere.safetensors"),
        ]
        for (i, (from, to, message)) in cases.enumerated() {
            let path = data.appendingPathComponent("bad\(i).yaml").path
            try Self.small.replacingOccurrences(of: from, with: to).write(toFile: path, atomically: true, encoding: .utf8)
            let r = try run(["probe", path, "--db", out.appendingPathComponent("bad\(i).sqlite").path, "--quiet"], in: work)
            #expect(r.status == 1, "\(to): \(r.stderr)")
            #expect(r.error == "Error: \(path): \(message)")
        }
        #expect(try listing(out) == ["overflow.safetensors"])

        // D3 inside the limit: frames that would not fit in memory are refused before decoding.
        let huge = data.appendingPathComponent("huge.yaml").path
        try Self.small.replacingOccurrences(of: "resolution: 32", with: "resolution: 4096").write(toFile: huge, atomically: true, encoding: .utf8)
        let d3 = try run(["probe", huge, "--db", out.appendingPathComponent("huge.sqlite").path, "--quiet"], in: work)
        #expect(d3.status == 1)
        #expect(d3.error.hasPrefix("Error: \(huge): key 'teacher.resolution': 4096x4096 needs about ") && d3.error.hasSuffix("of memory allows: lower it"), "\(d3.error)")
        #expect(try listing(out) == ["overflow.safetensors"])

        // D7: a --db that is not a study: nothing is written next to it.
        let text = out.appendingPathComponent("notes.db")
        try Data("not a database at all\n".utf8).write(to: text)
        let d7 = try run(["probe", study, "--db", text.path, "--quiet"], in: work)
        #expect(d7.status == 1)
        #expect(d7.error == "Error: \(text.path) is not a trajprobe study database: not an SQLite database.")
        #expect(try listing(out) == ["notes.db", "overflow.safetensors"])
        #expect(FileManager.default.contents(atPath: text.path) == Data("not a database at all\n".utf8))

        // D8: a refused import into a new database leaves no file.
        let bad = out.appendingPathComponent("bad.csv")
        try Data("step,t,sample,metric,region,value\n20,0.88,id0,ssim,full,0.9\n20,0.88,id0,ssim,full,oops\n".utf8).write(to: bad)
        let d8 = try run(["import", "csv", bad.path, "--db", out.appendingPathComponent("new.sqlite").path, "--arm", "fresh_noise w=2"], in: work)
        #expect(d8.status == 1)
        #expect(d8.error == "error: \(bad.path):3: value 'oops' is not a number; nothing from this file was imported.")
        #expect(try listing(out) == ["bad.csv", "notes.db", "overflow.safetensors"])
        let neg = try run(["import", "csv", bad.path, "--db", out.appendingPathComponent("new.sqlite").path, "--arm", "fresh_noise w=2",
                           "--seed=-1"], in: work)
        #expect(neg.status == 64)
        #expect(neg.stderr.hasPrefix("Error: --seed must be non-negative (as seeds in study files), not -1."), "\(neg.stderr)")
    }

    @Test func probeExitCodesAndConcurrentWriters() throws {
        let work = try Self.workspace(self)
        defer { try? FileManager.default.removeItem(at: work) }
        // A clean probe: exit 0, finished, peak memory stated; the WAL is folded into the file.
        let db = work.appendingPathComponent("s.sqlite")
        let r = try run(["probe", "data/small.yaml", "--db", db.path, "--json"], in: work)
        #expect(r.status == 0, "\(r.stderr)")
        let summary = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        #expect(summary["status"] as? String == "finished")
        #expect((summary["peak_rss_bytes"] as? Int ?? 0) > 10_000_000)
        #expect(summary["written"] as? Int == 32)
        #expect(!FileManager.default.fileExists(atPath: db.path + "-wal"))
        let runs = try run(["runs", db.path], in: work)
        #expect(runs.status == 0 && runs.stdout.contains("[finished]"))

        // Memory follows the probed steps, not num_steps: the same two steps of a 10,000-step
        // schedule cost what they cost in a 50-step one (80 kB of times more; 8 MB of slack for
        // the allocator's rounding).
        let long = work.appendingPathComponent("data/long.yaml")
        try Self.small.replacingOccurrences(of: "num_steps: 50", with: "num_steps: 10000").write(to: long, atomically: true, encoding: .utf8)
        let l = try run(["probe", long.path, "--db", work.appendingPathComponent("long.sqlite").path, "--json"], in: work)
        #expect(l.status == 0, "\(l.stderr)")
        let longSummary = try #require(try JSONSerialization.jsonObject(with: Data(l.stdout.utf8)) as? [String: Any])
        let peak50 = summary["peak_rss_bytes"] as? Int ?? 0, peak10k = longSummary["peak_rss_bytes"] as? Int ?? .max
        #expect(peak10k <= peak50 + 8 << 20, "peak RSS \(peak10k) at 10,000 steps vs \(peak50) at 50")

        // Two probes of one study at once: every unit is claimed as written by exactly one.
        let shared = work.appendingPathComponent("shared.sqlite").path
        let starts = (0..<2).map { _ -> (Process, Pipe) in
            let p = Process(), pipe = Pipe()
            p.executableURL = URL(fileURLWithPath: binary)
            p.arguments = ["probe", "data/small.yaml", "--db", shared, "--json", "--study", "small"]
            p.currentDirectoryURL = work
            p.standardOutput = pipe
            p.standardError = FileHandle.nullDevice
            return (p, pipe)
        }
        for (p, _) in starts { try p.run() }
        var written = 0
        for (p, pipe) in starts {
            let out = pipe.fileHandleForReading.readDataToEndOfFile()
            p.waitUntilExit()
            #expect(p.terminationStatus == 0)
            let s = try #require(try JSONSerialization.jsonObject(with: out) as? [String: Any])
            written += (s["written"] as? Int ?? 0)
            #expect((s["written"] as? Int ?? 0) + (s["stored_by_others"] as? Int ?? 0) + (s["skipped"] as? Int ?? 0) == 32)
        }
        #expect(written == 32)
    }

    /// Every command path, for the help check.
    static let commands: [[String]] = [
        [], ["demo"], ["probe"], ["measure"], ["measure", "fidelity"], ["measure", "sync"], ["measure", "mfcc"],
        ["import"], ["import", "csv"], ["import", "registry"], ["import", "videos"], ["report"], ["schedule"],
        ["facesync"], ["facesync", "fit"], ["runs"], ["merge"], ["export"], ["search"], ["demo-data"],
        ["bench"], ["bench", "media"], ["bench", "fidelity"], ["bench", "nets"], ["bench", "store"], ["bench", "probe"], ["bench", "remote"],
        ["teacher"], ["teacher", "check"], ["teacher", "export"],
    ]

    @Test func everyHelpListsTheExitCodes() throws {
        let dir = FileManager.default.temporaryDirectory
        for path in Self.commands {
            let r = try run(["help"] + path, in: dir)
            #expect(r.status == 0, "\(path)")
            let flat = r.stdout.split(whereSeparator: { $0 == " " || $0 == "\n" }).joined(separator: " ")
            #expect(flat.contains("Exit status (the same in every command): 0 complete; 1 failure"), "trajprobe \(path.joined(separator: " ")) --help")
            #expect(flat.contains("3 finished but incomplete") && flat.contains("64 invalid usage"), "trajprobe \(path.joined(separator: " "))")
        }
    }
}
