import Foundation
import Media
import Testing
import Yams
@testable import Report
import Store

@Suite struct WriterTests {
    static func tempDir() -> String {
        let dir = NSTemporaryDirectory() + "trajprobe-report-\(UUID().uuidString)"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    @Test func writesReportFiguresAndSchedule() throws {
        let dir = ProcessInfo.processInfo.environment["TRAJPROBE_REPORT_SAMPLES"].map { "\($0)/single" } ?? Self.tempDir()
        let r = try StudyReport(study: Planted.study(clips: 4, extras: true), options: Planted.options(ruleResamples: 30))
        let out = try ReportWriter.write([r], to: dir, date: "2026-11-25")
        #expect(out.schedules["planted"] == "\(dir)/schedule.yaml" && out.noSchedule.isEmpty)
        for f in ["report.md", "report.html", "schedule.yaml", "schedule.json", "figures/curves_sync.png", "figures/sync_gain_by_scale.png"] {
            #expect(FileManager.default.fileExists(atPath: "\(dir)/\(f)"), "\(f)")
        }
        let md = try String(contentsOfFile: "\(dir)/report.md", encoding: .utf8)
        #expect(md.contains("**Window: steps 20..40, t ∈ [0.555, 0.882]**"))
        #expect(md.contains("lower edge at step 20: step 19 (t=0.891) fails: gain 0.30"))
        #expect(md.contains("upper edge at step 40: step 41 (t=0.523) fails: fidelity cost 0.0") && md.contains("> limit 0.02") && md.contains("; inside, step 40"))
        #expect(md.contains("`t_list = [0.999, 0.769, 0.000]`") && md.contains("`denoising_step_list = [999, 769]`"))
        #expect(md.contains("| trajectory w=4.5 | sync: no face | 2 |"))
        #expect(md.contains("![Sync-C and Sync-D"))
        let html = try String(contentsOfFile: "\(dir)/report.html", encoding: .utf8)
        #expect(html.components(separatedBy: "src=\"data:image/png;base64,").count - 1 == 13)
        #expect(!html.contains("src=\"figures/") && !html.contains("http"))
        let yaml = try String(contentsOfFile: "\(dir)/schedule.yaml", encoding: .utf8)
        #expect(try YAMLDecoder().decode(StudentConfig.self, from: yaml).t_list == [0.999, 0.769, 0.0])
    }

    @Test func severalStudiesSideBySideAndNoWindowWritesNoSchedule() throws {
        let dir = ProcessInfo.processInfo.environment["TRAJPROBE_REPORT_SAMPLES"].map { "\($0)/compare" } ?? Self.tempDir()
        var other = Planted.study(clips: 3, steps: Array(stride(from: 0, to: 50, by: 2)), status: .running)
        other.name = "drop text+audio"
        other.dropMode = "text+audio"
        let a = try StudyReport(study: Planted.study(clips: 3, steps: Array(stride(from: 0, to: 50, by: 2))), options: Planted.options())
        let b = try StudyReport(study: other, options: Planted.options(try RuleRequest(fidelityTolerance: 0.0001)))
        let out = try ReportWriter.write([a, b], to: dir, date: "2026-11-25")
        #expect(out.schedules.keys.sorted() == ["planted"])
        #expect(out.noSchedule["drop text+audio"]?.contains("partial") == true || out.noSchedule["drop text+audio"]?.contains("no sync window") == true)
        #expect(FileManager.default.fileExists(atPath: "\(dir)/schedule-planted.yaml"))
        #expect(!FileManager.default.fileExists(atPath: "\(dir)/schedule-drop_text_audio.yaml"))
        #expect(FileManager.default.fileExists(atPath: "\(dir)/figures/drop_text_audio/curves_sync.png"))
        let md = try String(contentsOfFile: "\(dir)/report.md", encoding: .utf8)
        #expect(md.contains("| sync window (steps) | 20..40 | none |"))
        #expect(md.contains("## Study drop text+audio (PARTIAL)"))
        #expect(md.contains("The study is running: every number below is partial."))
        let html = try String(contentsOfFile: "\(dir)/report.html", encoding: .utf8)
        #expect(html.contains("<div class=\"row\">"))
    }
}

@Suite struct StudyJSONTests {
    @Test func studyJSONRoundTrips() throws {
        let dir = ProcessInfo.processInfo.environment["TRAJPROBE_REPORT_SAMPLES"] ?? WriterTests.tempDir()
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let s = Planted.study(clips: 4, extras: true)
        try s.writeJSON(to: "\(dir)/planted-study.json")
        #expect(try StudyData(jsonFile: "\(dir)/planted-study.json") == s)
        #expect(throws: ReportError.self) { try StudyData(jsonFile: "\(dir)/missing.json") }
    }
}

@Suite struct SparseStudyTests {
    @Test func oneClipStudyIsReportedWithoutCIs() throws {
        let dir = WriterTests.tempDir()
        let r = try StudyReport(study: Planted.study(clips: 1, steps: [0, 10, 20, 30, 40]), options: Planted.options())
        let out = try ReportWriter.write([r], to: dir, date: "2026-11-25")
        #expect(out.schedules.isEmpty && out.noSchedule["planted"]?.contains("1 clip(s) measured; confidence intervals need at least 2") == true)
        #expect(throws: ReportError.tooFewClips(file: "planted.sqlite", count: 1)) { try r.studentConfig(date: "x") }
        let md = try String(contentsOfFile: "\(dir)/report.md", encoding: .utf8)
        #expect(md.contains("Only 1 clip measured: no confidence intervals can be computed"))
        #expect(md.contains("(no CI)"))
        #expect(md.contains("No sync window: fewer than 2 clips were measured"))
        for f in try ReportFigures.render(r) { _ = try PNG.decode(f.png, name: f.name, channels: 3) }
    }
}
