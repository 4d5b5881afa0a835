import Foundation
import Media
import Testing
@testable import Report
import Store

/// report.html as structure: what the browser test (make e2e) then checks in chromium.
@Suite struct HTMLLayoutTests {
    static func html(_ blocks: [Document.Block]) -> String {
        var doc = Document(title: "t")
        for b in blocks { doc.add(b) }
        return doc.html()
    }

    @Test func tablesScrollInTheirOwnContainerWithNumbersRightAndTextLeft() {
        let html = Self.html([.heading(2, "Per-step statistics"),
                              .table(["step", "Sync-C gain [95% CI]", "verdict"],
                                     [["28", "0.058 [0.040, 0.076]", "**in window**"], ["40", "-", "gain 0.029 < threshold 0.031"]])])
        #expect(html.contains("<div class=\"table-scroll\" role=\"region\" tabindex=\"0\" aria-label=\"Per-step statistics (table)\">"))
        #expect(html.contains("<th scope=\"col\" class=\"num\">step</th><th scope=\"col\" class=\"num\">Sync-C gain [95% CI]</th><th scope=\"col\">verdict</th>"))
        #expect(html.contains("<tr><td class=\"num\">28</td><td class=\"num\">0.058 [0.040, 0.076]</td><td><strong>in window</strong></td></tr>"))
        #expect(html.contains("<td>gain 0.029 &lt; threshold 0.031</td>"))
        #expect(html.contains("th:first-child, td:first-child { position: sticky; left: 0;"))
    }

    @Test(arguments: ["28", "0.999", "-0.005", "2.60%", "0.061 [0.046, 0.075]", "0.474 (no CI)", "20..40", "-", "n/a"])
    func numbersAreNumeric(cell: String) { #expect(HTML.isNumeric(cell)) }

    @Test(arguments: ["setting", "**in window**", "`fresh_noise w=1`", "yes", "analytic analytic-posterior-mean", "28 (t=0.797)"])
    func textIsNotNumeric(cell: String) { #expect(!HTML.isNumeric(cell)) }

    @Test func longListsFoldAndShortOnesStay() {
        let tList = "[" + (0...50).map { Fmt.f((try! ShiftedSchedule(numSteps: 50, shift: 5, maxT: 0.999)).t($0), 6) }.joined(separator: ", ") + "]"
        let folded = HTML.cell(tList)
        #expect(folded.hasPrefix("<details><summary>51 items: 0.999, 0.995732, "))
        #expect(folded.contains("</summary><div class=\"list\"><span class=\"item\">0.999</span>, "))
        #expect(folded.contains("<span class=\"item\">0.768935</span>, "))
        // Prose with commas is not a list.
        #expect(HTML.listItems("facesync-cca 25 fps, 5-frame mouth windows, MFCC 13x20, vshift 15, pad") == nil)
        let arms = (0..<18).map { "`arm \($0) w=1.5`" }.joined(separator: ", ")
        #expect(HTML.cell(arms).hasPrefix("<details><summary>18 items: arm 0 w=1.5, arm 1 w=1.5, arm 2 w=1.5…</summary>"))
        // Long prose without a list folds at a word boundary.
        let prose = String(repeating: "Configuration(kappa: 4.0, audioBandwidth: 0.7) ", count: 5)
        #expect(HTML.cell(prose).hasPrefix("<details><summary>Configuration(kappa: 4.0, audioBandwidth: 0.7)…</summary>"))
        #expect(HTML.cell("facesync-cca 25 fps") == "facesync-cca 25 fps")
        // A sha256 in a code span may break anywhere instead of widening a phone's page.
        #expect(HTML.inline("`\(String(repeating: "ab", count: 32))`").hasPrefix("<code class=\"long\">"))
        #expect(HTML.inline("`t_list`") == "<code>t_list</code>")
    }

    @Test func pageIsResponsiveSelfContainedAndPrintsOnA4() throws {
        let report = try StudyReport(study: Planted.study(clips: 3, steps: [0, 10, 20, 30, 40], extras: true))
        let figures = try ReportFigures.render(report)
        let html = ReportWriter.document([report], figures: [figures], date: "2026-12-01", form: .uncond, minT: 0).html()
        #expect(html.contains("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"))
        #expect(html.contains("@media print {") && html.contains("@page { size: A4;"))
        #expect(html.contains("tr, figure, pre, .callout, .row { break-inside: avoid; }"))
        #expect(html.contains("pre { background: #f6f8fa; padding: 0.8em; font-size: 0.85em; white-space: pre-wrap;"))
        #expect(!html.contains("http:") && !html.contains("https:") && !html.contains("src=\"figures/"))
        for f in figures {
            let size = try #require(HTML.pngSize(f.png))
            let decoded = try PNG.decode(f.png, name: f.name, channels: 3)
            #expect(size.width == decoded.width && size.height == decoded.height)
            #expect(html.contains("<img alt=\"Figure \(f.name): \(HTML.esc(HTML.plain(f.caption)))\" width=\"\(size.width)\" height=\"\(size.height)\" src=\"data:image/png;base64,"))
        }
        #expect(html.contains("figure img { display: block; max-width: 100%; height: auto;"))
    }
}

@Suite struct WriterTextTests {
    @Test func configurationArraysReadAsLists() {
        #expect(ReportWriter.configurationValue("[0.5,0.25,0]") == "[0.5, 0.25, 0]")
        #expect(ReportWriter.configurationValue("[\"mse\",\"psnr\"]") == "[\"mse\", \"psnr\"]")
        #expect(ReportWriter.configurationValue("[]") == "[]")
        #expect(ReportWriter.configurationValue("[not json") == "[not json")
        #expect(ReportWriter.configurationValue("4") == "4")
    }

    @Test func theTextSaysWhichArmsDecided() throws {
        let single = try StudyReport(study: Planted.study(clips: 3, steps: [0, 10, 20, 30, 40]))
        let md1 = ReportWriter.document([single], figures: [[]], date: "d", form: .uncond, minT: 0).markdown()
        #expect(md1.contains("they are shown for context, not used for the window."))
        let onlyTrajectory = Planted.study(clips: 3, steps: [0, 10, 20, 30, 40],
                                           dropArms: Set([ArmSpec.freshNoise(w: 1), .freshNoise(w: 4.5), .freshNoise(w: 2.5), .eulerJump(s0: 1, s1: 1),
                                                          .eulerJump(s0: 1, s1: 4.5), .eulerJump(s0: 4.5, s1: 1), .eulerJump(s0: 4.5, s1: 4.5)].map(\.label)))
        let traj = try StudyReport(study: onlyTrajectory)
        #expect(traj.deciding?.pair.cfg == .trajectory(w: 4.5))
        let md2 = ReportWriter.document([traj], figures: [[]], date: "d", form: .uncond, minT: 0).markdown()
        #expect(md2.contains("The window is decided by `trajectory w=4.5` against `trajectory w=1`"))
        #expect(md2.contains("no single-prediction arms (fresh_noise, euler_jump) at this scale were probed"))
        #expect(!md2.contains("shown for context"))
    }
}
