import Foundation
import Media
import Metrics
import Report
import Store
import Synthetic
import Testing
import Yams

/// The whole workflow through the shipped executable: `trajprobe demo --quick` (fewer clips,
/// steps and seeds), then the database, the schedule file and the figures checked against each
/// other. Needs a built `trajprobe`: `make e2e` (which `.ci/run` runs) sets TRAJPROBE_E2E_BINARY
/// to the release binary; without it the test is skipped.
@Suite(.enabled(if: ProcessInfo.processInfo.environment["TRAJPROBE_E2E_BINARY"] != nil, "set TRAJPROBE_E2E_BINARY (make e2e)"))
struct DemoEndToEndTests {
    @Test func quickDemoIsConsistent() throws {
        let binary = ProcessInfo.processInfo.environment["TRAJPROBE_E2E_BINARY"]!
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("trajprobe-e2e-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        let out = work.appendingPathComponent("demo").path

        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["demo", "--quick", "--data", work.appendingPathComponent("data").path, "--output", out]
        process.currentDirectoryURL = work
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let stdout = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "trajprobe demo --quick failed:\n\(stdout)")

        // The database: a finished study with every unit of the quick plan and GT rows.
        let db = out + "/study.sqlite"
        let runs = try StudyStore.listRuns(at: URL(fileURLWithPath: db))
        let run = try #require(runs.first)
        #expect(runs.count == 1)
        #expect(run.status == .finished)
        #expect(run.failedUnits == 0)
        // 2 identities x 4 probes (matched and dubbed), 18 probe arms, 6 steps, 1 seed; the
        // demo's schedule search adds its student_schedule arms to the same study.
        #expect(run.clips == 8)
        let snapshot = try StudyStore.open(at: URL(fileURLWithPath: db), readOnly: true).snapshot()
        let probeArms = snapshot.arms.filter { $0.spec.family != .studentSchedule }
        #expect(probeArms.count == 18)
        #expect(run.arms > 18, "the demo's search stored no student_schedule arms")
        #expect(run.steps == 6)
        #expect(run.doneUnits >= 8 * 18 * 6)

        // The report's analysis of the database agrees with the files the demo wrote.
        let study = try #require(try StudyData.load(database: db).first)
        #expect(study.guidanceScale == 2)
        let report = try StudyReport(study: study, options: ReportOptions())
        let md = try String(contentsOfFile: out + "/report.md", encoding: .utf8)
        #expect(md.contains("# trajprobe report: demo"))
        let schedulePath = out + "/schedule.yaml"
        if let schedule = report.schedule, let window = report.window?.window {
            let yaml = try #require(try Yams.load(yaml: String(contentsOfFile: schedulePath, encoding: .utf8)) as? [String: Any])
            let tList = try #require(yaml["t_list"] as? [Double])
            #expect(tList.count == 3 && tList[0] == 0.999 && tList[2] == 0)
            #expect(abs(tList[1] - schedule.tList[1]) < 0.0005)
            let steps = try #require(yaml["denoising_step_list"] as? [Int])
            #expect(steps == [999, Int((schedule.tList[1] * 1000).rounded())])
            let sw = try #require(yaml["sync_window_cfg"] as? [String: Any])
            #expect(abs((sw["t_lo"] as? Double ?? -1) - window.tLow) < 0.0005)
            #expect(abs((sw["t_hi"] as? Double ?? -1) - window.tHigh) < 0.0005)
            #expect(schedule.landingStep >= window.firstStep && schedule.landingStep <= window.lastStep)
        } else {
            // No window or no landing point: no schedule file, and the report says why.
            #expect(!FileManager.default.fileExists(atPath: schedulePath))
            #expect(md.contains("No schedule") || md.contains("No sync window"))
        }

        // Figures: real PNGs of paper size, all named in the report.
        let figures = try FileManager.default.contentsOfDirectory(atPath: out + "/figures").filter { $0.hasSuffix(".png") }.sorted()
        #expect(figures.count >= 8)
        for name in figures {
            let raster = try PNG.read(path: out + "/figures/" + name)
            #expect(raster.width >= 600 && raster.height >= 200, "\(name) is \(raster.width)x\(raster.height)")
            #expect(md.contains("figures/\(name)"), "\(name) is not in report.md")
        }
        let html = try String(contentsOfFile: out + "/report.html", encoding: .utf8)
        #expect(html.contains("data:image/png;base64,"))

        // The demo's search: stored in the study, drawn and tabled in the report, one best or a
        // reason per N, and the two-step comparison stated.
        let search = try #require(study.search)
        #expect(search.byStepCount.map(\.studentSteps) == [1, 2, 3, 4])
        #expect(search.byStepCount.allSatisfy { $0.best != nil || $0.note != nil })
        #expect(search.passesPlanned <= search.settings.budget)
        #expect(figures.contains("search_fronts.png") && md.contains("Searched student schedules"))
        #expect(search.landing != nil && md.contains("Two-step search vs the rule's landing"))
    }
}

/// Issue 6's crash test through the real executable: a probe killed with SIGKILL mid-run and
/// resumed ends with exactly the numbers of an uninterrupted run.
@Suite(.enabled(if: ProcessInfo.processInfo.environment["TRAJPROBE_E2E_BINARY"] != nil, "set TRAJPROBE_E2E_BINARY (make e2e)"))
struct ResumeEndToEndTests {
    let binary = ProcessInfo.processInfo.environment["TRAJPROBE_E2E_BINARY"] ?? ""

    func trajprobe(_ args: [String], in dir: URL) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binary)
        p.arguments = args
        p.currentDirectoryURL = dir
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        return p
    }

    @Test func killedProbeResumesToTheSameNumbers() throws {
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("trajprobe-resume-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        let gen = try trajprobe(["demo-data", "--output", "data", "--identities", "2"], in: work)
        gen.waitUntilExit()
        try #require(gen.terminationStatus == 0)
        // LPIPS in the probe too: weights in the study file, the metric asked for by flag.
        try FormulaWeights.write(LPIPS.tensorSpecs, to: work.appendingPathComponent("data/alex.safetensors"))
        let file = work.appendingPathComponent("data/study.yaml")
        try (String(contentsOf: file, encoding: .utf8) + "lpips: {weights: alex.safetensors}\n").write(to: file, atomically: true, encoding: .utf8)
        let study = ["probe", "data/study.yaml", "--study", "resume", "--quiet", "--seeds", "0,1", "--steps", "0,10,20,30,40,49",
                     "--arm", "fresh_noise w=1", "--arm", "fresh_noise w=2", "--arm", "trajectory w=2", "--arm", "factorial w=2",
                     "--metrics", "mse,psnr,ssim,lpips,sharpness,sync_c,sync_d,sync_offset"]

        let whole = try trajprobe(study + ["--db", "whole.sqlite"], in: work)
        whole.waitUntilExit()
        try #require(whole.terminationStatus == 0)

        // Kill the second run once some units are stored, then resume it.
        let db = work.appendingPathComponent("killed.sqlite")
        let victim = try trajprobe(study + ["--db", "killed.sqlite", "--jobs", "1"], in: work)
        var storedBeforeKill = 0
        let deadline = Date().addingTimeInterval(120)
        while Date() < deadline && victim.isRunning {
            if let run = try? StudyStore.listRuns(at: db).first, run.doneUnits >= 20 { storedBeforeKill = run.doneUnits; break }
            usleep(20_000)
        }
        kill(victim.processIdentifier, SIGKILL)
        victim.waitUntilExit()
        #expect(victim.terminationReason == .uncaughtSignal, "the probe finished before it could be killed")
        #expect(storedBeforeKill >= 20)
        let resumed = try trajprobe(study + ["--db", "killed.sqlite"], in: work)
        resumed.waitUntilExit()
        #expect(resumed.terminationStatus == 0)

        let a = try StudyStore.open(at: work.appendingPathComponent("whole.sqlite"), readOnly: true).snapshot()
        let b = try StudyStore.open(at: db, readOnly: true).snapshot()
        #expect(b.run.status == .finished)
        #expect(a.run.doneUnits == b.run.doneUnits)
        func rows(_ s: StudySnapshot) -> [String] {
            let clips = Dictionary(uniqueKeysWithValues: s.clips.map { ($0.id, $0.name) })
            let arms = Dictionary(uniqueKeysWithValues: s.arms.map { ($0.id, $0.label) })
            return s.measurements.map { "\(clips[$0.clip]!)|\(arms[$0.arm]!)|\($0.step)|\($0.seed)|\($0.metric)|\($0.region)|\($0.value)" }.sorted()
        }
        let ra = rows(a), rb = rows(b)
        #expect(ra.count == rb.count && ra.count > 1000)
        #expect(ra == rb, "the resumed study differs from the uninterrupted one")
        // 32 px probe frames: LPIPS on the full frame for every unit, the mouth crop too small.
        let lpips = a.measurements.filter { $0.metric == "lpips" }
        #expect(lpips.count == a.measurements.filter { $0.metric == "ssim" && $0.region == "full" }.count)
        #expect(lpips.allSatisfy { $0.region == "full" && $0.value >= 0 && $0.value.isFinite })
        #expect(lpips.contains { $0.value > 0 })
    }
}

/// The search killed with SIGKILL mid-round and run again ends with the result of a search that
/// was never interrupted.
@Suite(.enabled(if: ProcessInfo.processInfo.environment["TRAJPROBE_E2E_BINARY"] != nil, "set TRAJPROBE_E2E_BINARY (make e2e)"))
struct SearchResumeEndToEndTests {
    let binary = ProcessInfo.processInfo.environment["TRAJPROBE_E2E_BINARY"] ?? ""

    func trajprobe(_ args: [String], in dir: URL, output: Pipe? = nil) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binary)
        p.arguments = args
        p.currentDirectoryURL = dir
        p.standardOutput = output ?? FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        return p
    }

    func searchJSON(_ args: [String], in dir: URL) throws -> String {
        let pipe = Pipe()
        let p = try trajprobe(args + ["--json"], in: dir, output: pipe)
        let out = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(p.terminationStatus == 0, "\(out)")
        return out
    }

    @Test func killedSearchResumesToTheSameResult() throws {
        let fm = FileManager.default
        let work = fm.temporaryDirectory.appendingPathComponent("trajprobe-search-resume-\(UUID().uuidString)")
        try fm.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? fm.removeItem(at: work) }
        let gen = try trajprobe(["demo-data", "--output", "data", "--identities", "2"], in: work)
        gen.waitUntilExit()
        try #require(gen.terminationStatus == 0)
        let overrides = ["--seeds", "0", "--steps", "0,10,20,30,40,49"]
        for db in ["whole.sqlite", "killed.sqlite"] {
            let probe = try trajprobe(["probe", "data/study.yaml", "--db", db, "--study", "s", "--quiet",
                                       "--arm", "fresh_noise w=1", "--arm", "fresh_noise w=2", "--arm", "factorial w=2"] + overrides, in: work)
            probe.waitUntilExit()
            try #require(probe.terminationStatus == 0)
        }
        // The study's arms, steps and seeds come from the database (the probe's flags replaced the file's).
        let search = ["search", "data/study.yaml", "--study", "s", "--student-steps", "1,2,3", "--transition", "both",
                      "--first-pairs", "2"]
        let reference = try searchJSON(search + ["--db", "whole.sqlite"], in: work)

        let db = work.appendingPathComponent("killed.sqlite")
        let probed = try #require(try StudyStore.listRuns(at: db).first).doneUnits
        let victim = try trajprobe(search + ["--db", "killed.sqlite", "--jobs", "1"], in: work)
        var storedBeforeKill = 0
        let deadline = Date().addingTimeInterval(300)
        while Date() < deadline && victim.isRunning {
            if let run = try? StudyStore.listRuns(at: db).first, run.doneUnits >= probed + 150 { storedBeforeKill = run.doneUnits - probed; break }
            usleep(20_000)
        }
        kill(victim.processIdentifier, SIGKILL)
        victim.waitUntilExit()
        #expect(victim.terminationReason == .uncaughtSignal, "the search finished before it could be killed")
        #expect(storedBeforeKill >= 150)
        let resumed = try searchJSON(search + ["--db", "killed.sqlite"], in: work)
        #expect(resumed == reference, "the resumed search's result differs from the uninterrupted one")
        #expect(reference.contains("\"by_step_count\""))
    }
}

/// The imported teacher through the executable: a layout of prediction videos is checked before
/// any work, then measured into a study whose numbers are right where they are known.
@Suite(.enabled(if: ProcessInfo.processInfo.environment["TRAJPROBE_E2E_BINARY"] != nil, "set TRAJPROBE_E2E_BINARY (make e2e)"))
struct ImportVideosEndToEndTests {
    let binary = ProcessInfo.processInfo.environment["TRAJPROBE_E2E_BINARY"] ?? ""

    func run(_ args: [String], in dir: URL) throws -> (status: Int32, output: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binary)
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

    @Test func importedLayoutIsMeasured() throws {
        let fm = FileManager.default
        let work = fm.temporaryDirectory.appendingPathComponent("trajprobe-import-\(UUID().uuidString)")
        try fm.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? fm.removeItem(at: work) }
        try #require(try run(["demo-data", "--output", "data", "--identities", "2", "--clips", "2"], in: work).status == 0)
        // One arm: step_000 is another clip of the same face (wrong mouth), step_001 the reference itself.
        let arm = work.appendingPathComponent("runs/cfg")
        for (sample, other) in [("id0_c0", "id0_c1"), ("id1_c0", "id1_c1")] {
            let dir = arm.appendingPathComponent("videos/\(sample)")
            try fm.createDirectory(at: dir, withIntermediateDirectories: true)
            try fm.copyItem(atPath: work.path + "/data/clips/\(sample).mp4", toPath: dir.path + "/gt.mp4")
            try fm.copyItem(atPath: work.path + "/data/clips/\(other).mp4", toPath: dir.path + "/step_000.mp4")
            try fm.copyItem(atPath: work.path + "/data/clips/\(sample).mp4", toPath: dir.path + "/step_001.mp4")
            try fm.copyItem(atPath: work.path + "/data/masks/\(sample.prefix(3)).png", toPath: dir.path + "/mask.png")
        }
        try #"{"t_list": [0.999, 0.5, 0.0], "num_steps": 2, "shift": 5, "guidance_scale": 4.5}"#
            .write(to: arm.appendingPathComponent("ode_schedule.json"), atomically: true, encoding: .utf8)

        // A missing prediction is named before anything is decoded or stored.
        let missing = arm.appendingPathComponent("videos/id1_c0/step_001.mp4")
        try fm.moveItem(at: missing, to: work.appendingPathComponent("aside.mp4"))
        let refused = try run(["import", "videos", "runs", "--db", "refused.sqlite"], in: work)
        #expect(refused.status != 0)
        #expect(refused.output.contains("videos/id1_c0/step_001.mp4"))
        #expect(!fm.fileExists(atPath: work.path + "/refused.sqlite"))
        try fm.moveItem(at: work.appendingPathComponent("aside.mp4"), to: missing)

        // LPIPS with the formula's weights.
        let weights = work.appendingPathComponent("alex.safetensors")
        try FormulaWeights.write(LPIPS.tensorSpecs, to: weights)
        let done = try run(["import", "videos", "runs", "--db", "imported.sqlite", "--model", "toy", "--drop", "text+audio",
                            "--lpips", weights.path], in: work)
        #expect(done.status == 0, "\(done.output)")
        // FaceSync-CCA fitted on the very clips it scores: said, with the way out.
        #expect(done.output.contains("scores are circular") && done.output.contains("--facesync fs.json"))
        let snap = try StudyStore.open(at: work.appendingPathComponent("imported.sqlite"), readOnly: true).snapshot()
        #expect(snap.run.status == .finished)
        #expect(snap.run.config.teacherKind == "imported" && snap.run.config.dropMode == "text+audio")
        #expect(snap.arms.map(\.label) == ["trajectory w=4.5"])
        #expect(snap.run.doneUnits == 4 + 2)   // 2 samples x 2 steps, plus the GT rows
        func value(_ clip: String, _ step: Int, _ metric: String, _ region: String) -> Double? {
            guard let c = snap.clips.first(where: { $0.name == clip }) else { return nil }
            return snap.measurements.first { $0.clip == c.id && $0.step == step && $0.metric == metric && $0.region == region }?.value
        }
        let lpipsSelfBound = 1e-6
        for sample in ["id0_c0", "id1_c0"] {
            #expect(value(sample, 1, "ssim", "full") == 1)
            #expect(value(sample, 1, "mse", "mouth") == 0)
            #expect((value(sample, 0, "ssim", "mouth") ?? 1) < 0.98)
            // The reference scored as a prediction has the GT row's sync exactly.
            #expect(value(sample, 1, "sync_c", "face") == value(sample, gtStep, "sync_c", "face"))
            // LPIPS: zero for the reference itself, positive for another clip's mouth; the
            // mouth crop (mask box padded by 4 px) only where it reaches AlexNet's 31 px.
            // The reference and the prediction sit in different columns of the batched float32
            // sgemm, which OpenBLAS may round differently (edge tiles, CPU-specific kernels): each
            // unit-normalised feature moves by at most K·u (K = 384·3·3, u = 2⁻²⁴, ≈ 2.1e-4), and
            // LPIPS is quadratic in that difference: 5 layers × (2 × 2.1e-4)² × head weights ≤ 1
            // bounds it by 1e-6, still a hundred times below the other-clip check.
            #expect((value(sample, 1, "lpips", "full") ?? 1) <= lpipsSelfBound)
            #expect((value(sample, 0, "lpips", "full") ?? 0) > 1e-4)
            let mask = try RegionMask(mask: GreyPNG(contentsOf: work.path + "/data/masks/\(sample.prefix(3)).png"), width: 96, height: 96, source: "mask")
            if LPIPS.regions(width: 96, height: 96, mouth: mask.mouthBox)?.contains(.mouth) == true {
                #expect((value(sample, 1, "lpips", "mouth") ?? 1) <= lpipsSelfBound)
                #expect((value(sample, 0, "lpips", "mouth") ?? 0) > 1e-4)
            } else {
                #expect(value(sample, 0, "lpips", "mouth") == nil)
                #expect(done.output.contains("lpips on the full frame only"), "\(done.output)")
            }
        }
        // The weights that made the numbers are named in the study.
        #expect(snap.run.config.parameters.lpipsWeightsSHA256 == (try LPIPS(weights: weights).weightsSHA256()))
    }


    @Test func batchSyncScoringIsStoredAndResumable() throws {
        let fm = FileManager.default
        let work = fm.temporaryDirectory.appendingPathComponent("trajprobe-batch-\(UUID().uuidString)")
        try fm.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? fm.removeItem(at: work) }
        try #require(try run(["demo-data", "--output", "data", "--identities", "1", "--clips", "4"], in: work).status == 0)
        try #require(try run(["facesync", "fit", "data/bank.yaml", "-o", "fs.json"], in: work).status == 0)
        try Data("not a video".utf8).write(to: work.appendingPathComponent("data/clips/broken.mp4"))
        let args = ["measure", "sync", "data/clips", "--facesync", "fs.json", "--mask", "data/masks/id0.png",
                    "--db", "scores.sqlite", "--threshold", "0.3", "--json"]
        let first = try run(args, in: work)
        #expect(first.status == 3)  // one file could not be scored: said, not hidden (exit 3: incomplete)
        let snap = try StudyStore.open(at: work.appendingPathComponent("scores.sqlite"), readOnly: true).snapshot()
        #expect(snap.run.status == .incomplete)
        #expect(snap.clips.count == 5)
        #expect(snap.run.doneUnits == 4 && snap.run.failedUnits == 1)
        #expect(snap.failedUnits.first?.reason.hasPrefix("unreadable") == true)
        // In-sync demo clips score a positive LSE-C with offset 0.
        let offsets = snap.measurements.filter { $0.metric == "sync_offset" }.map(\.value)
        #expect(offsets == [0, 0, 0, 0])
        // A rerun scores only what is missing; the filter still covers every stored file.
        let again = try run(args, in: work)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(again.output.utf8)) as? [String: Any])
        #expect((json["scores"] as? [Any])?.count == 1)
        #expect((json["passing"] as? [String])?.count == snap.measurements.filter { $0.metric == "sync_c" && $0.value >= 0.3 }.count)
    }
}
