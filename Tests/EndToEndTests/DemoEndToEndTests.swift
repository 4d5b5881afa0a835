import Foundation
import Media
import Report
import Store
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
        // 2 identities x 4 probes (matched and dubbed), 18 arms, 6 steps, 1 seed.
        #expect(run.clips == 8)
        #expect(run.arms == 18)
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
    }
}
