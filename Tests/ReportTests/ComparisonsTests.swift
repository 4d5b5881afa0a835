import Foundation
import Testing
@testable import Report
import Store

/// The committed registry fixture (Tests/Fixtures/registry, tools/fixtures/registry_fixture.py)
/// imported as written and reported: the registry's comparisons side by side, with the numbers
/// the generator computed on its own.
@Suite struct ComparisonsTests {
    static let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/registry")

    /// The cells of one comparison's table in report.md: header, then rows by their first cell.
    static func table(_ md: String, comparison: String) throws -> (header: [String], rows: [String: [String]]) {
        let section = try #require(md.components(separatedBy: "### Comparison `\(comparison)`").dropFirst().first)
        let lines = section.split(separator: "\n").map(String.init).filter { $0.hasPrefix("|") }
        func cells(_ line: String) -> [String] { line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) } }
        let header = cells(try #require(lines.first))
        var rows: [String: [String]] = [:]
        for line in lines.dropFirst(2) {
            let c = cells(line)
            if c.first == "step" { break }   // the next table
            rows[c[0]] = c
        }
        return (header, rows)
    }

    @Test func registryComparisonsAreShownSideBySide() throws {
        let dir = WriterTests.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let db = URL(fileURLWithPath: "\(dir)/all.sqlite")
        try StudyStore.importRegistry(Self.fixture.appendingPathComponent("configs/registry.yaml"), into: db,
                                      options: RegistryImportOptions(knobs: ["on": .pair(text: 5, audio: 4), "noaudio": .pair(text: 5, audio: 1)]))
        let studies = try StudyData.load(database: db.path)
        #expect(studies.map(\.name) == ["omniavatar text+audio", "omniavatar audio", "omniavatar", "latentsync", "infinitetalk"])
        #expect(RegistryComparison.collect(studies).map(\.name) == ["default_trajectory", "euler_nocfg_nocfg", "euler_nocfg_on"])
        let reports = try studies.map { try StudyReport(study: $0) }
        _ = try ReportWriter.write(reports, to: "\(dir)/report", date: "2026-12-02")
        let md = try String(contentsOfFile: "\(dir)/report/report.md", encoding: .utf8)
        #expect(md.contains("## Comparisons"))
        #expect(md.contains("sync_c, sync_d at face value; lmd, lpips, pixel_mse, sharpness, ssim only as the ratio to each experiment's own baseline"))

        // default_trajectory: Sync-C at face value, LPIPS and SSIM (mouth) over each one's baseline.
        let (header, rows) = try Self.table(md, comparison: "default_trajectory")
        #expect(header == ["step", "infinitetalk sync_c mouth", "omniavatar sync_c mouth",
                           "infinitetalk lpips mouth ÷ baseline", "omniavatar lpips mouth ÷ baseline",
                           "infinitetalk ssim mouth ÷ baseline", "omniavatar ssim mouth ÷ baseline"])
        let expected = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: Self.fixture.appendingPathComponent("expected.json"))) as? [String: Any])
        let cells = try #require(expected["comparison_default_trajectory"] as? [String: [String: Any]])
        let omni = try #require(cells["omni_ta_default"]), it = try #require(cells["it_t5.0_a4.0"])
        // The table prints 3 decimals: half a unit in the last place, plus the sums' rounding.
        func close(_ text: String?, _ value: Any?, sourceLocation: SourceLocation = #_sourceLocation) {
            guard let text, let shown = Double(text), let v = value as? Double else {
                Issue.record("missing cell \(text ?? "nil") / \(String(describing: value))", sourceLocation: sourceLocation); return
            }
            #expect(abs(shown - v) <= 0.0005 + 1e-9, "\(shown) vs \(v)", sourceLocation: sourceLocation)
        }
        close(rows["GT"]?[1], it["gt_sync_c"])
        close(rows["GT"]?[2], omni["gt_sync_c"])
        for j in try #require(expected["steps"] as? [Int]) {
            let row = rows[String(j)]
            #expect(row != nil, "step \(j)")
            close(row?[1], (it["sync_c"] as? [String: Double])?[String(j)])
            close(row?[2], (omni["sync_c"] as? [String: Double])?[String(j)])
            close(row?[3], (it["lpips_mouth_ratio"] as? [String: Double])?[String(j)])
            close(row?[4], (omni["lpips_mouth_ratio"] as? [String: Double])?[String(j)])
            close(row?[5], (it["ssim_mouth_ratio"] as? [String: Double])?[String(j)])
            close(row?[6], (omni["ssim_mouth_ratio"] as? [String: Double])?[String(j)])
        }
        // The no-CFG pair are the baselines: their normalised cells are not shown, and the text says why.
        let (_, baseRows) = try Self.table(md, comparison: "euler_nocfg_nocfg")
        #expect(baseRows["0"]?[3] == "-")
        #expect(md.contains("`euler_jump s0=1 s1=1` in study `omniavatar text+audio` (itself a baseline: its normalised values are 1 by definition)"))
        let html = try String(contentsOfFile: "\(dir)/report/report.html", encoding: .utf8)
        #expect(html.contains("<h2>Comparisons</h2>"))
    }

    @Test func aComparisonWhoseStudyIsNotReportedSaysSo() throws {
        let dir = WriterTests.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let db = URL(fileURLWithPath: "\(dir)/all.sqlite")
        try StudyStore.importRegistry(Self.fixture.appendingPathComponent("configs/registry.yaml"), into: db,
                                      options: RegistryImportOptions(knobs: ["on": .pair(text: 5, audio: 4), "noaudio": .pair(text: 5, audio: 1)]))
        let studies = try StudyData.load(database: db.path).filter { $0.name != "infinitetalk" }
        _ = try ReportWriter.write(try studies.map { try StudyReport(study: $0) }, to: "\(dir)/report", date: "2026-12-02")
        let md = try String(contentsOfFile: "\(dir)/report/report.md", encoding: .utf8)
        #expect(md.contains("### Comparison `default_trajectory`\n\nNot shown: study `infinitetalk` is not in this report."))
    }
}
