import Digest
import Foundation
import Support
import Testing
@testable import Report
import Store

/// A runner whose "teacher" is a planted function of the schedule: the best schedules are
/// known by construction. Writes real units into a real study, as the probe would.
///
/// Sync-C of a schedule: 5 + 0.1 (N − 1) + Σ over guided steps of bonus(j), bonus = 0.5 −
/// 0.04 |j − 30| inside 20...40 and 0 outside, +1.0 for guiding step 0 (sync loves CFG at t_0),
/// −0.05 for re-noising; SSIM-full: 0.9 minus 0.0005 per guided step inside 25...40 and 0.01
/// per guided step elsewhere (step 0 included). The planted study's landing pair peaks at a cost
/// of 0.03, so the limit is 0.003: guiding step 0 is out, two or three guided steps in 25...40
/// are in. On the grid [10, 20, 26, 30, 33, 40, 45] the best 3-step schedule is steps 0, 30, 33
/// with guidance 1, w, w (Euler): 5.2 + 0.5 + 0.38; the best 2-step one lands at 30 with w.
struct PlantedRunner: ScheduleSearchRunner {
    let store: StudyStore
    let pairs: [SearchPair]
    /// Units written before the runner throws (a kill mid-search); nil never.
    var failAfter: Int?
    let written = Tally()

    static let w = Planted.w

    static func sync(_ k: StudentScheduleKnobs) -> Double {
        var s = 5 + 0.1 * Double(k.steps.count - 1) - (k.transition == .renoise ? 0.05 : 0)
        for (j, g) in zip(k.steps, k.guidance) where g != 1 {
            s += j == 0 ? 1.0 : ((20...40).contains(j) ? 0.5 - 0.04 * Double(abs(j - 30)) : 0)
        }
        return s
    }

    static func ssim(_ k: StudentScheduleKnobs) -> Double {
        0.9 - zip(k.steps, k.guidance).filter { $0.1 != 1 }.map { (25...40).contains($0.0) ? 0.0005 : 0.01 }.reduce(0, +)
    }

    func passes(arms: [ArmSpec], pairs: Int) throws -> Int {
        var prefixes = Set<String>()
        for a in arms {
            let k = StudentScheduleKnobs(a.knobs)!
            for n in 1..<k.steps.count { prefixes.insert("\(k.transition!) \(k.steps.prefix(n + 1)) \(k.guidance.prefix(n))") }
        }
        return (1 + prefixes.count) * pairs
    }

    func run(arms: [ArmSpec], on pairs: [SearchPair], round: SearchRoundInfo) async throws -> Int {
        try store.registerSteps((0..<50).map { (j: $0, t: Planted.schedule.t($0)) })
        let done = try store.finishedUnits()
        var ids: [ArmSpec: ArmID] = [:]
        for a in arms { ids[a] = try store.registerArm(a) }
        for pair in pairs {
            let clip = try store.registerClip(ClipSpec(name: pair.clip))
            for a in arms {
                let k = StudentScheduleKnobs(a.knobs)!
                let key = UnitKey(clip: clip, arm: ids[a]!, step: k.steps.last!, seed: pair.seed)
                if done.contains(key) { continue }
                if let n = failAfter, written.value >= n { throw CancellationError() }
                // Per-unit noise from the unit's identity: the same value however often it is run.
                var rng = SplitMix64(seed: UInt64(truncatingIfNeeded: "\(pair.clip)|\(pair.seed)|\(a.label)".hashValue32))
                let noise = { (Double(rng.next() >> 11) / Double(1 << 53) - 0.5) * 0.02 }
                _ = try store.writeUnit(UnitResult(key: key, measurements: [
                    MeasurementValue(metric: MetricName.syncC, region: RegionName.face, value: Self.sync(k) + noise()),
                    MeasurementValue(metric: MetricName.ssim, region: RegionName.full, value: Self.ssim(k) + noise() * 0.02),
                ]))
                written.add()
            }
        }
        return 0
    }

    final class Tally: Sendable {
        private let n = Locked(0)
        func add() { n.withLock { $0 += 1 } }
        var value: Int { n.snapshot }
    }
}

extension String {
    /// FNV-1a: a hash that is the same in every process (Swift's `hashValue` is seeded per run).
    var hashValue32: UInt32 {
        var h: UInt32 = 2_166_136_261
        for b in utf8 { h = (h ^ UInt32(b)) &* 16_777_619 }
        return h
    }
}

@Suite(.serialized) struct SearchTests {
    static let report = try! StudyReport(study: Planted.study(clips: 6), options: ReportOptions(ruleResamples: 0))
    static let grid = [10, 20, 26, 30, 33, 40, 45]
    static let pairs = (0..<2).flatMap { s in (0..<5).map { SearchPair(clip: String(format: "clip%02d", $0), seed: s) } }

    static func settings(budget: Int = 100_000, transitions: [StudentScheduleKnobs.Transition] = [.euler, .renoise]) throws -> SearchSettings {
        try SearchSettings(studentSteps: [1, 2, 3], scales: [1, Planted.w], grid: grid, transitions: transitions,
                           budget: budget, eta: 3, firstPairs: 2)
    }

    func store() throws -> (StudyStore, URL) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("trajprobe-search-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let store = try StudyStore.create(at: dir.appendingPathComponent("s.sqlite"),
                                          config: StudyRecord(name: "planted", teacherKind: "analytic", teacherIdentity: "planted",
                                                              modelName: "planted", dropMode: "audio", syncModel: "facesync-cca"))
        return (store, dir)
    }

    @Test func candidatesCoverEveryStepChoiceGuidanceAndTransition() throws {
        let s = try Self.settings()
        #expect(s.candidateCount(1) == 2)                       // g0 ∈ {1, w}
        #expect(s.candidateCount(2) == 7 * 4 * 2)               // 7 landing steps × 2² guidance × 2 transitions
        #expect(s.candidateCount(3) == 21 * 8 * 2)              // C(7, 2) × 2³ × 2
        #expect(s.candidates(n: 3).allSatisfy { $0.steps[0] == 0 && $0.steps.count == 3 })
        #expect(Set(s.candidates(n: 3)).count == s.candidateCount(3))
    }

    @Test func theAdmissibilityRuleIsTheLandingRule() throws {
        let c = try SearchCriterion(report: Self.report)
        let sch = try #require(Self.report.schedule)
        #expect(c.peakCost == sch.peakCost && c.peakResolved)
        #expect(abs(c.limit(twinFidelity: 0.9) - Self.report.rule.landingTolerance * sch.peakCost) < 1e-15)
        #expect(abs(c.limit(twinFidelity: 0.9) - sch.landing.limit) < 1e-15)
        #expect(c.admits(cost: 0.001, twinFidelity: 0.9) && !c.admits(cost: 0.01, twinFidelity: 0.9))
    }

    /// The planted optimum is found, every N, and the two-step winner agrees with the rule.
    @Test func plantedBestSchedulesAreFound() async throws {
        let (store, dir) = try store()
        defer { try? FileManager.default.removeItem(at: dir) }
        let search = try ScheduleSearch(report: Self.report, settings: try Self.settings())
        let result = try await search.run(runner: PlantedRunner(store: store, pairs: Self.pairs), store: store)
        let w = Planted.w
        #expect(result.result(steps: 3)?.best?.label == "student_schedule euler steps=0,30,33 g=1,\(ArmSpec.format(w)),\(ArmSpec.format(w))")
        #expect(result.result(steps: 2)?.best?.label == "student_schedule euler steps=0,30 g=1,\(ArmSpec.format(w))")
        // One step: guiding t_0 costs 0.01 > the limit, so the unguided student wins.
        #expect(result.result(steps: 1)?.best?.label == "student_schedule steps=0 g=1")
        let best3 = try #require(result.result(steps: 3)?.best)
        #expect(abs(best3.sync.mean - (5.2 + 0.5 + 0.38)) < 0.01 && best3.sync.hasCI && best3.cost.hasCI)
        #expect(best3.tList == [0.999, Planted.schedule.t(30), Planted.schedule.t(33), 0] && best3.admissible)
        // The front runs from the cheapest to the highest Sync-C, which guides t_0 and is over the limit.
        let front = try #require(result.result(steps: 3)?.front)
        #expect(front.count >= 2 && front.first!.cost.mean <= front.last!.cost.mean && front.last!.sync.mean > best3.sync.mean)
        #expect(front.last!.guidance[0] == w && !front.last!.admissible)
        // The rule lands within one probed step of 30 on the planted study; the search at 30.
        #expect(result.landing?.agree == true && result.landing?.searchStep == 30)
        #expect(abs((result.landing?.landingStep ?? 0) - 30) <= 1)
        #expect(result.rounds.map(\.pairs) == [2, 6, 10] && result.rounds.last!.pairs == Self.pairs.count)
        // The rule's shape is kept to the last round at every grid step, the rule's own landing scored.
        let finals = Set(try #require(result.result(steps: 2)?.points).map(\.label))
        for j in Self.grid { #expect(finals.contains("student_schedule euler steps=0,\(j) g=1,\(ArmSpec.format(w))")) }
        #expect(result.landing?.landingScored != nil)
        #expect(result.passesPlanned <= 100_000)
        // Saved and read back.
        let json = try result.json()
        #expect(try SearchResult.decode(json, source: "s") == result)

        // The report: a table with one best per N, the fronts figure, the comparison.
        var study = Planted.study(clips: 6)
        study.search = result
        let out = dir.appendingPathComponent("report").path
        _ = try ReportWriter.write([try StudyReport(study: study, options: ReportOptions(ruleResamples: 0))], to: out, date: "2026-12-02")
        let md = try String(contentsOfFile: out + "/report.md", encoding: .utf8)
        #expect(md.contains("## Searched student schedules (N = 1, 2, 3)"))
        #expect(md.contains("| 3 | `student_schedule euler steps=0,30,33 g=1,4.5,4.5` |"))
        #expect(md.contains("**Two-step search vs the rule's landing.** Restricted to the rule's shape") && md.contains("they agree"))
        let png = try Data(contentsOf: URL(fileURLWithPath: out + "/figures/search_fronts.png"))
        #expect(png.count > 1000 && png.prefix(4) == Data([0x89, 0x50, 0x4E, 0x47]))
    }

    /// Killed mid-search (the runner throws after some units), then run again on the same study:
    /// the same result as a search that was never interrupted.
    @Test(arguments: [5, 700])
    func resumedSearchEndsWithTheSameResult(killAfter: Int) async throws {
        let (clean, d1) = try store(), (killed, d2) = try store()
        defer { try? FileManager.default.removeItem(at: d1); try? FileManager.default.removeItem(at: d2) }
        let search = try ScheduleSearch(report: Self.report, settings: try Self.settings())
        let reference = try await search.run(runner: PlantedRunner(store: clean, pairs: Self.pairs), store: clean)
        await #expect(throws: CancellationError.self) {
            _ = try await search.run(runner: PlantedRunner(store: killed, pairs: Self.pairs, failAfter: killAfter), store: killed)
        }
        let resumed = try await search.run(runner: PlantedRunner(store: killed, pairs: Self.pairs), store: killed)
        #expect(try resumed.json() == reference.json())
    }

    @Test func theBudgetIsKeptOrTheSearchSaysSo() async throws {
        let (store, dir) = try store()
        defer { try? FileManager.default.removeItem(at: dir) }
        // Too small for the first round: refused before any unit, naming what it needs.
        let tiny = try ScheduleSearch(report: Self.report, settings: try Self.settings(budget: 10))
        await #expect(throws: ReportError.self) { _ = try await tiny.run(runner: PlantedRunner(store: store, pairs: Self.pairs), store: store) }
        #expect(try store.finishedUnits().isEmpty)
        // Enough for the first rounds only: later rounds shrink to fit, or the search stops and says so.
        let runner = PlantedRunner(store: store, pairs: Self.pairs)
        let first = try runner.passes(arms: ScheduleSearch.withTwins(Self.settingsCandidates()).map(\.spec), pairs: 2)
        let tight = try ScheduleSearch(report: Self.report, settings: try Self.settings(budget: first + first / 2))
        let result = try await tight.run(runner: runner, store: store)
        #expect(result.passesPlanned <= first + first / 2)
        #expect(result.rounds.count < 3 || result.rounds.last!.candidates < 30)
    }

    static func settingsCandidates() throws -> [StudentScheduleKnobs] {
        let s = try settings()
        return s.studentSteps.flatMap { s.candidates(n: $0) }
    }

    @Test func badSettingsAreRefused() {
        #expect(throws: ReportError.self) { try SearchSettings(studentSteps: [1], scales: [2], grid: [10], transitions: [.euler], budget: 10) }
        #expect(throws: ReportError.self) { try SearchSettings(studentSteps: [4], scales: [1, 2], grid: [10, 20], transitions: [.euler], budget: 10) }
        #expect(throws: ReportError.self) { try SearchSettings(studentSteps: [2], scales: [1, 2], grid: [0, 10], transitions: [.euler], budget: 10) }
        #expect(throws: ReportError.self) { try SearchSettings(studentSteps: [2], scales: [1, 2], grid: [10], transitions: [.euler], budget: 10, eta: 1) }
    }
}
