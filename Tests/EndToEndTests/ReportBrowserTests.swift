import Foundation
import Report
import Testing

/// The report as a reader meets it: report.html of the quick demo, of an imported study shaped
/// like a real teacher's results (10 clips, all 50 steps, SyncNet-scale Sync-C, four fidelity
/// metrics on three regions, eight arms), of imported prediction videos (a 51-entry `t_list` in
/// the configuration) and of two studies side by side, each opened in headless chromium at 1400
/// and 390 px by `tools/report_browser_check.py` (Playwright on Debian's chromium).
///
/// `make e2e` installs chromium and Playwright; the screenshots land next to each report under
/// $TRAJPROBE_E2E_ARTIFACTS (`make e2e` keeps them in .build/e2e-reports) for a human to look at.
@Suite(.enabled(if: ProcessInfo.processInfo.environment["TRAJPROBE_E2E_BINARY"] != nil, "set TRAJPROBE_E2E_BINARY (make e2e)"))
struct ReportBrowserTests {
    let binary = ProcessInfo.processInfo.environment["TRAJPROBE_E2E_BINARY"] ?? ""
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    func run(_ executable: String, _ args: [String], in dir: URL) throws -> (status: Int32, output: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = args
        p.currentDirectoryURL = dir
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        try p.run()
        let out = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        return (p.terminationStatus, out)
    }

    @Test func reportsHoldUpInABrowser() throws {
        let fm = FileManager.default
        let env = ProcessInfo.processInfo.environment
        let python = env["TRAJPROBE_E2E_PYTHON"] ?? Self.packageRoot.appendingPathComponent(".venv/bin/python").path
        try #require(fm.isExecutableFile(atPath: python), "no Python with Playwright at \(python): run tools/make_venv.sh --browser (make e2e does)")
        let work = fm.temporaryDirectory.appendingPathComponent("trajprobe-browser-\(UUID().uuidString)")
        try fm.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? fm.removeItem(at: work) }
        let out = env["TRAJPROBE_E2E_ARTIFACTS"].map { URL(fileURLWithPath: $0, relativeTo: Self.packageRoot) } ?? work.appendingPathComponent("reports")
        try? fm.removeItem(at: out)
        try fm.createDirectory(at: out, withIntermediateDirectories: true)

        // 1. The quick demo.
        let demo = try run(binary, ["demo", "--quick", "--data", work.appendingPathComponent("data").path,
                                    "--output", out.appendingPathComponent("demo").path], in: work)
        try #require(demo.status == 0, "trajprobe demo --quick failed:\n\(demo.output)")

        // 2. A real-shaped imported study: long CSVs through a registry.
        try RealShapedStudy.write(into: work.appendingPathComponent("real"))
        let imported = out.appendingPathComponent("imported.sqlite").path
        let reg = try run(binary, ["import", "registry", "real/registry.yaml", "--db", imported], in: work)
        try #require(reg.status == 0, "import registry failed:\n\(reg.output)")
        let rep = try run(binary, ["report", imported, "-o", out.appendingPathComponent("imported").path, "--date", "2026-12-01"], in: work)
        try #require(rep.status == 0, "report failed:\n\(rep.output)")
        #expect(rep.output.contains("sync window steps") && rep.output.contains("landing step"),
                "the real-shaped study should have a window and a landing step:\n\(rep.output)")

        // 3. Imported videos with a real 50-step schedule (two of its steps measured).
        let arm = work.appendingPathComponent("videos/cfg")
        let clips = work.appendingPathComponent("data-quick/clips")
        let samples = try fm.contentsOfDirectory(atPath: clips.path).filter { $0.hasSuffix(".mp4") && !$0.contains("_dub") }.sorted().prefix(2)
        try #require(samples.count == 2, "the quick demo data has no clips in \(clips.path)")
        for name in samples {
            let sample = String(name.dropLast(4))
            let dir = arm.appendingPathComponent("videos/\(sample)")
            try fm.createDirectory(at: dir, withIntermediateDirectories: true)
            for file in ["gt.mp4", "step_000.mp4", "step_030.mp4"] {
                try fm.copyItem(at: clips.appendingPathComponent(name), to: dir.appendingPathComponent(file))
            }
            try fm.copyItem(at: work.appendingPathComponent("data-quick/masks/\(sample.prefix(3)).png"), to: dir.appendingPathComponent("mask.png"))
        }
        let tList = (0...50).map { j in RealShapedStudy.t(j) }
        let schedule: [String: Any] = ["t_list": tList, "num_steps": 50, "shift": 5, "guidance_scale": 4.5]
        try JSONSerialization.data(withJSONObject: schedule).write(to: arm.appendingPathComponent("ode_schedule.json"))
        let videosDB = out.appendingPathComponent("videos.sqlite").path
        let vid = try run(binary, ["import", "videos", "videos", "--db", videosDB, "--steps", "0,30", "--model", "toy-14b"], in: work)
        try #require(vid.status == 0, "import videos failed:\n\(vid.output)")
        let vrep = try run(binary, ["report", videosDB, "-o", out.appendingPathComponent("videos").path, "--date", "2026-12-01"], in: work)
        try #require(vrep.status == 0, "report failed:\n\(vrep.output)")
        let videosMD = try String(contentsOfFile: out.appendingPathComponent("videos/report.md").path, encoding: .utf8)
        #expect(videosMD.contains("| teacher step times | [0.999, 0.99"), "the 51-entry t_list should read as a spaced list")

        // 4. Two studies side by side.
        let cmp = try run(binary, ["report", out.appendingPathComponent("demo/study.sqlite").path, imported,
                                   "-o", out.appendingPathComponent("compare").path, "--date", "2026-12-01"], in: work)
        try #require(cmp.status == 0, "comparison report failed:\n\(cmp.output)")

        // The browser: every report at both widths.
        let reports = ["demo", "imported", "videos", "compare"].map { out.appendingPathComponent("\($0)/report.html").path }
        let check = try run(python, [Self.packageRoot.appendingPathComponent("tools/report_browser_check.py").path,
                                     "--widths", "1400,390", "--json"] + reports, in: work)
        #expect(check.status == 0, "report_browser_check.py:\n\(check.output)")
        let results = check.output.split(separator: "\n").compactMap { line -> [String: Any]? in
            guard line.hasPrefix("{") else { return nil }
            return try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
        }
        #expect(results.count == reports.count * 2, "one result per report and width:\n\(check.output)")
        for r in results {
            let failures = r["failures"] as? [String] ?? ["no failures field"]
            #expect(failures.isEmpty, "\(r["report"] ?? "?") at \(r["width"] ?? "?") px: \(failures.joined(separator: "; "))")
            #expect((r["images"] as? Int ?? 0) > 0 && (r["tables"] as? Int ?? 0) > 0)
            let shot = r["screenshot"] as? String ?? ""
            let bytes = (try? Data(contentsOf: URL(fileURLWithPath: shot))) ?? Data()
            #expect(bytes.starts(with: [0x89, 0x50, 0x4E, 0x47]) && bytes.count > 10_000, "screenshot \(shot)")
        }
    }
}

/// Long CSV files shaped like a 14B teacher's trajectory analysis (Lip Forcing's setting): 10
/// clips, all 50 steps of the shift-5 schedule, Sync-C on SyncNet's scale (GT ≈ 7.6) rising as the
/// mouth is decided, a CFG Sync-C gain peaking at step 30, a fidelity cost of CFG that fades along
/// the trajectory, per-clip offsets and per-step noise; eight arms (trajectory, fresh_noise at
/// w = 1 and 4.5, the euler_jump 2×2) in a registry. Deterministic: the same files every run.
enum RealShapedStudy {
    static let clips = ["RD_Radio11_000", "RD_Radio30_000", "WDA_BarackObama_000", "WDA_KimSchrier_000", "WRA_AdamKinzinger_000",
                        "WRA_CathyMcMorrisRodgers1_000", "WRA_JohnKasich1_001", "WDA_NancyPelosi0_000", "WRA_MarcoRubio_000", "RD_Radio47_000"]

    /// t_j of the 50-step shift-5 schedule, t_0 clamped to 0.999 (DESIGN.md).
    static func t(_ j: Int) -> Double {
        if j >= 50 { return 0 }
        let u = 0.999 * (1 - Double(j) / 50)
        return min(0.999, 5 * u / (1 + 4 * u))
    }

    static func sigmoid(_ x: Double) -> Double { 1 / (1 + exp(-x)) }

    static func write(into dir: URL) throws {
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func noise() -> Double {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Double(state >> 11) / Double(1 << 53) - 0.5
        }
        let offsets = clips.map { _ in (sync: noise() * 0.8, ssim: noise() * 0.04) }
        struct Arm { var id: String; var family: String; var knobs: String; var baseline: String; var gain: (Int) -> Double; var cost: (Int) -> Double }
        let bump = { (j: Int) in exp(-pow((Double(j) - 30) / 8, 2)) }
        let fade = { (j: Int) in 0.032 * exp(-pow((Double(j) - 12) / 12, 2)) + 0.004 }
        let compounding = { (j: Int) in 0.8 * sigmoid((Double(j) - 22) / 5) }
        let arms = [
            Arm(id: "traj_1", family: "trajectory", knobs: "{w: 1}", baseline: "true", gain: { _ in 0 }, cost: { _ in 0 }),
            Arm(id: "traj_45", family: "trajectory", knobs: "{w: 4.5}", baseline: "traj_1", gain: compounding, cost: { 1.4 * fade($0) }),
            Arm(id: "fresh_1", family: "fresh_noise", knobs: "{w: 1}", baseline: "true", gain: { _ in 0 }, cost: { _ in 0 }),
            Arm(id: "fresh_45", family: "fresh_noise", knobs: "{w: 4.5}", baseline: "fresh_1", gain: { 0.9 * bump($0) }, cost: fade),
            Arm(id: "ej_1_1", family: "euler_jump", knobs: "{s0: 1, s1: 1}", baseline: "true", gain: { _ in -0.05 }, cost: { _ in 0.003 }),
            Arm(id: "ej_1_45", family: "euler_jump", knobs: "{s0: 1, s1: 4.5}", baseline: "ej_1_1", gain: { 0.8 * bump($0) - 0.05 }, cost: { fade($0) + 0.003 }),
            Arm(id: "ej_45_1", family: "euler_jump", knobs: "{s0: 4.5, s1: 1}", baseline: "ej_1_1", gain: { _ in 0.15 }, cost: { _ in 0.012 }),
            Arm(id: "ej_45_45", family: "euler_jump", knobs: "{s0: 4.5, s1: 4.5}", baseline: "ej_1_1", gain: { 0.8 * bump($0) + 0.1 }, cost: { fade($0) + 0.012 }),
        ]
        var registry = "experiments:\n"
        for arm in arms {
            var csv = "step,t,sample,metric,region,value\n"
            for (c, clip) in clips.enumerated() {
                if arm.id == arms[0].id {
                    csv += "-1,gt,\(clip),sync_c,face,\(String(format: "%.4f", 7.6 + offsets[c].sync * 0.5))\n"
                    csv += "-1,gt,\(clip),sync_d,face,\(String(format: "%.4f", 6.9 - offsets[c].sync * 0.4))\n"
                }
                for j in 0..<50 {
                    let decided = sigmoid((Double(j) - 20) / 6)
                    let syncC = 3.1 + 3.6 * decided + offsets[c].sync + arm.gain(j) * (1 + 0.3 * noise()) + 0.12 * noise()
                    let syncD = 9.6 - 0.42 * (syncC - 3) + 0.08 * noise()
                    var line = ["\(j),\(String(format: "%.6f", t(j))),\(clip),sync_c,face,\(String(format: "%.4f", syncC))",
                                "\(j),\(String(format: "%.6f", t(j))),\(clip),sync_d,face,\(String(format: "%.4f", syncD))"]
                    let cost = arm.cost(j) * (1 + 0.4 * noise())
                    // A jump arm's x0 comes from one Euler jump off step 0: its fidelity barely
                    // improves with the landing step, so late landings are no closer to the reference.
                    let progress = (arm.family == "euler_jump" ? 0.12 : 1) * sigmoid((Double(j) - 25) / 7)
                    for (region, base, spread, weight) in [("mouth", 0.46, 0.40, 1.8), ("upper_face", 0.86, 0.10, 0.15), ("full", 0.70, 0.25, 1.0)] {
                        let ssim = base + spread * progress + offsets[c].ssim - weight * cost + 0.003 * noise()
                        let lpips = 0.42 - 0.3 * progress - offsets[c].ssim + 1.5 * weight * cost + 0.004 * noise()
                        let psnr = 17 + 11 * (ssim - 0.4) / 0.6 + 0.15 * noise()
                        let mse = pow(10, -psnr / 10)
                        for (metric, value) in [("ssim", ssim), ("lpips", lpips), ("psnr", psnr), ("mse", mse)] {
                            line.append("\(j),\(String(format: "%.6f", t(j))),\(clip),\(metric),\(region),\(String(format: "%.6g", value))")
                        }
                    }
                    csv += line.joined(separator: "\n") + "\n"
                }
            }
            try csv.write(to: dir.appendingPathComponent("\(arm.id).csv"), atomically: true, encoding: .utf8)
            registry += "  - {id: \(arm.id), model: omniavatar-14b-realshape, family: \(arm.family), knobs: \(arm.knobs), drop: text+audio, baseline: \(arm.baseline), csv: \(arm.id).csv}\n"
        }
        try registry.write(to: dir.appendingPathComponent("registry.yaml"), atomically: true, encoding: .utf8)
    }
}
