import Foundation
import Testing
@testable import Report
import Store

/// The report's Configuration table, built from the study's typed parameters: human labels,
/// each once, unknown shown as unknown, never a Swift type description.
@Suite struct ConfigurationTableTests {
    /// The `| key | value |` rows of the markdown's first Configuration section.
    static func rows(_ markdown: String) throws -> [(String, String)] {
        let section = try #require(markdown.components(separatedBy: "## Configuration\n").dropFirst().first)
        let body = section.components(separatedBy: "\n## ")[0]
        return body.split(separator: "\n").filter { $0.hasPrefix("| ") && !$0.hasPrefix("| setting") && !$0.hasPrefix("| ---") }.map { line in
            let cells = line.dropFirst(2).dropLast(2).components(separatedBy: " | ")
            return (cells[0], cells.dropFirst().joined(separator: " | "))
        }
    }

    static func markdown(_ study: StudyData) throws -> String {
        var rule = try RuleRequest()
        rule.smoothing = 0
        let report = try StudyReport(study: study, options: ReportOptions(rule: rule, ruleResamples: 0))
        return ReportWriter.document([report], figures: [[]], date: "2026-12-02", form: .uncond, minT: 0).markdown()
    }

    @Test func typedParametersMakeOneLabelledRowEachAndUnknownSaysSo() throws {
        var study = Planted.study(clips: 4, steps: [20, 30, 40])
        var p = StudyParameters(teacherKind: "analytic", teacherIdentity: "analytic bank", modelName: "bank-32x32",
                                dropMode: "audio", syncModel: "facesync-cca")
        p.teacherSettings = [StudySetting(label: "kappa", value: "4"), StudySetting(label: "working space", value: "PCA, 64 components")]
        p.arms = study.arms.map(\.label)
        p.numSteps = 50
        p.maxT = 0.999
        study.parameters = p
        study.shift = nil          // not recorded: unknown
        study.guidanceScale = nil  // not recorded, and the arms carry two CFG scales (4.5, 2.5): unknown
        let rows = try Self.rows(try Self.markdown(study))
        let keys = rows.map(\.0)
        #expect(Set(keys).count == keys.count, "a key twice: \(keys)")
        let table = Dictionary(uniqueKeysWithValues: rows)
        #expect(table["teacher kappa"] == "4")
        #expect(table["teacher working space"] == "PCA, 64 components")
        #expect(table["sampler"] == "N = 50 steps, shift s = unknown, t_0 clamped to 0.999")
        #expect(table["seeds"] == "unknown" && table["metrics"] == "unknown")
        #expect(table["CFG form of the recorded scale"] == "unknown")
        #expect(table["teacher CFG scale (uncond form)"] == "unknown (from unknown)")
        for (key, value) in rows {
            #expect(!value.contains("TrajectoryProbe.") && !value.contains("Configuration("), "\(key): \(value)")
        }
        // The free-form settings of a study JSON file are not repeated when typed parameters exist.
        #expect(table["kappa"] == nil && table["bank"] == nil)
    }

    @Test func aStudyFileWithoutParametersShowsItsSettingsOnce() throws {
        let study = Planted.study(clips: 4, steps: [20, 30, 40])
        #expect(study.parameters == nil)
        let rows = try Self.rows(try Self.markdown(study))
        let keys = rows.map(\.0)
        #expect(Set(keys).count == keys.count, "a key twice: \(keys)")
        let table = Dictionary(uniqueKeysWithValues: rows)
        #expect(table["kappa"] == "4" && table["bank"] == "2000 frames")
        #expect(table["seeds"] == "unknown")
    }

    /// The study's N is optional now: text that used it never prints `Optional(…)`.
    @Test func aWindowedReportNamesItsStepsPlainly() throws {
        let report = try StudyReport(study: Planted.study(), options: Planted.options())
        #expect(report.schedule != nil)
        let markdown = ReportWriter.document([report], figures: [[]], date: "2026-12-02", form: .uncond, minT: 0).markdown()
        #expect(markdown.contains("Per-step guidance over the whole 50-step trajectory"))
        #expect(!markdown.contains("Optional("))
    }
}
