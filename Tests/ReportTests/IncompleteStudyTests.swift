import Foundation
import Testing
@testable import Report
import Store

/// Issue 16 (D10, D11): a study with failed units says so in the first line of every output,
/// and a missing no-CFG twin is named as what is missing.
@Suite struct IncompleteStudyTests {
    static let options = ReportOptions(bootstrap: try! Bootstrap(resamples: 2000, seed: 11))

    @Test func incompleteStudiesAreMarkedInTitleAndWarnings() throws {
        // The planted study lists 2 failed units of its trajectory arm.
        let report = try StudyReport(study: Planted.study(clips: 4, steps: [20, 30, 40], status: .incomplete), options: Self.options)
        #expect(report.partial)
        #expect(report.incompleteTag == "INCOMPLETE: 2 failed units")
        #expect(report.warnings.first == "The study is incomplete: 2 units failed (listed below); every number below is partial. Run the same probe command again to redo them.")
        let doc = ReportWriter.document([report], figures: [[]], date: "2026-12-02", form: .uncond, minT: 0)
        #expect(doc.markdown().hasPrefix("# trajprobe report: planted (INCOMPLETE: 2 failed units)\n"))
        #expect(throws: ReportError.partialStudy(file: "planted.sqlite", status: "incomplete")) {
            try report.studentConfig(date: "2026-12-02")
        }
        let finished = try StudyReport(study: Planted.study(clips: 4, steps: [20, 30, 40]), options: Self.options)
        #expect(finished.incompleteTag == nil && !finished.partial)
    }

    @Test func theMissingTwinIsNamed() throws {
        // fresh_noise w=4.5 probed, its no-CFG twin fresh_noise w=1 not (and no other pair).
        let study = Planted.study(clips: 4, steps: [20, 30, 40],
                                  dropArms: ["fresh_noise w=1", "euler_jump s0=1 s1=1", "trajectory w=1", "trajectory w=4.5",
                                             "euler_jump s0=1 s1=4.5", "euler_jump s0=4.5 s1=1", "euler_jump s0=4.5 s1=4.5"])
        let report = try StudyReport(study: study, options: Self.options)
        #expect(report.scheduleProblem?.description.hasPrefix("planted.sqlite: arm 'fresh_noise w=1' is missing; it is needed for the sync window") == true,
                "\(report.scheduleProblem.map { "\($0)" } ?? "nil")")
    }
}
