import Digest
import Foundation
import Store

/// One scored schedule, as the search reports it.
public struct SearchedSchedule: Codable, Sendable, Equatable {
    /// The student schedule's canonical label.
    public var label: String
    /// Steps of the study's schedule and their exact times (t_list, ending in 0).
    public var steps: [Int]
    /// Times of `steps` with a final 0.
    public var tList: [Double]
    /// Guidance scale at each student step (1 is no CFG).
    public var guidance: [Double]
    /// Nil for a one-step student.
    public var transition: StudentScheduleKnobs.Transition?
    /// Mean Sync-C and fidelity cost against its no-CFG twin over clips, with bootstrap CIs.
    public var sync: Estimate
    /// Mean fidelity cost against the no-CFG twin, with its CI.
    public var cost: Estimate
    /// Mean fidelity of the no-CFG twin, the base of relative tolerances.
    public var twinFidelity: Double
    /// Largest admissible cost for this schedule.
    public var limit: Double
    /// Whether the mean cost is within `limit`.
    public var admissible: Bool

    /// The schedule as a trainer profile writes it.
    public var studentSchedule: StudentSchedule {
        StudentSchedule(tList: tList, guidance: guidance, transition: transition ?? .euler,
                        source: "trajprobe search (\(steps.count)-step, \(label))")
    }
}

extension SearchedSchedule {
    /// One line: label, t_list, Sync-C and cost with CIs, the limit.
    public var text: String {
        "\(label)  t_list [\(tList.map { Fmt.f($0, 3) }.joined(separator: ", "))]  Sync-C \(Fmt.estimate(sync, 3))  cost \(Fmt.estimate(cost, 4)) (limit \(Fmt.f(limit, 4)))"
    }
}

/// One finalist as the figure draws it.
public struct SearchPoint: Codable, Sendable, Equatable {
    /// The schedule's label.
    public var label: String
    /// Mean Sync-C.
    public var sync: Double
    /// Mean fidelity cost against the no-CFG twin.
    public var cost: Double
    /// Whether the cost is within the limit (drawn filled).
    public var admissible: Bool
}

/// What the search found for one student step count.
public struct StepCountResult: Codable, Sendable, Equatable {
    /// The student's number of steps.
    public var studentSteps: Int
    /// Candidates enumerated, and those scored on the last round's pairs.
    public var evaluated: Int
    /// Candidates that survived to the last round.
    public var finalists: Int
    /// Highest Sync-C among admissible finalists; nil when none is admissible (see `note`).
    public var best: SearchedSchedule?
    /// Finalists on the cost–Sync-C front (no other finalist cheaper and better synced), by cost.
    public var front: [SearchedSchedule]
    /// Every finalist's mean cost and Sync-C (the figure's cloud around the front).
    public var points: [SearchPoint]
    /// Why there is no `best`, when there is none.
    public var note: String?

    /// One line for the terminal.
    public var text: String {
        "N=\(studentSteps): " + (best.map { "\($0.text)  [\(evaluated) candidates, \(finalists) finalists, front of \(front.count)]" }
            ?? "none admissible (\(note ?? ""))")
    }
}

/// How the search's two-step schedules compare with the two-step rule's landing.
///
/// Two questions: restricted to the rule's shape (no CFG at t_0, the teacher's scale at the
/// landing, Euler jump), where does the search land (they agree when it is within one probed step
/// of the rule's landing)? And is the search's unrestricted two-step winner of that shape, and if
/// not, why not?
public struct LandingComparison: Codable, Sendable, Equatable {
    /// Nil when the rule finds no landing step.
    public var landingStep: Int?
    /// Time of the rule's landing step.
    public var landingT: Double?
    /// The rule's schedule `[t_0, t_landing, 0]`, guidance `[1, w]`, Euler, as the search scored it.
    public var landingScored: SearchedSchedule?
    /// The search's best admissible schedule of the rule's shape, and its landing step.
    public var shaped: SearchedSchedule?
    /// Landing step of `shaped`, to compare with `landingStep`.
    public var searchStep: Int?
    /// Whether the search lands on, or within one probed step of, the rule's landing (or both find none).
    public var agree: Bool
    /// The comparison as sentences for the report.
    public var text: String
}

/// A finished (or budget-stopped) search.
public struct SearchResult: Codable, Sendable, Equatable {
    /// One round of successive halving.
    public struct Round: Codable, Sendable, Equatable {
        /// (clip, seed) pairs the round scored on.
        public var pairs: Int
        /// Candidates the round scored.
        public var candidates: Int
        /// Teacher passes the round costs run fresh.
        public var passes: Int
    }

    /// The knobs the search ran with.
    public var settings: SearchSettings
    /// The admissibility test it applied.
    public var criterion: SearchCriterion
    /// (clip, seed) pairs the study holds.
    public var pairsTotal: Int
    /// The rounds run, first to last.
    public var rounds: [Round]
    /// Passes of all rounds run fresh (a resumed run spends fewer, none twice).
    public var passesPlanned: Int
    /// Why the search stopped before its last round (the budget ran out); nil when it finished.
    public var stoppedEarly: String?
    /// The outcome per student step count, in `settings.studentSteps` order.
    public var byStepCount: [StepCountResult]
    /// Comparison with the two-step rule's landing; nil when two-step students were not searched or
    /// the teacher's scale is unknown.
    public var landing: LandingComparison?

    /// Saved in the study's `schedules` table under this name (format json).
    public static let storedName = "search"

    /// Sorted, pretty-printed JSON (non-finite numbers as strings), the form stored and printed by `--json`.
    public func json() throws(ReportError) -> String {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        enc.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        do { return String(decoding: try enc.encode(self), as: UTF8.self) + "\n" } catch {
            throw .writeFailed(file: "search.json", problem: "\(error)")
        }
    }

    /// Reads back what json() wrote; `source` names the origin in errors.
    public static func decode(_ text: String, source: String) throws(ReportError) -> SearchResult {
        let dec = JSONDecoder()
        dec.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        do { return try dec.decode(SearchResult.self, from: Data(text.utf8)) } catch {
            throw .unreadableInput(file: source, problem: "the stored search result is not readable: \(error)")
        }
    }

    /// The outcome for `n` student steps, if they were searched.
    public func result(steps n: Int) -> StepCountResult? { byStepCount.first { $0.studentSteps == n } }

    static func make(search: ScheduleSearch, finalists: [Int: [StudentScheduleKnobs]], scores: [String: CandidateScore],
                     evaluated: [Int: Int], rounds: [Round], pairs: [SearchPair], stoppedEarly: String?,
                     store: StudyStore) throws -> SearchResult {
        let criterion = search.criterion, rule = criterion.rule
        let pairsTotal = pairs.count
        let last = rounds.last.map { Set(pairs.prefix($0.pairs)) } ?? []
        let values = try SearchScoring.values(store: store, rule: rule)
        let study = search.report.study
        let t = try study.sampler(neededFor: "the searched schedules' t_list")
        // One bootstrap stream per schedule (from its label): the same schedule has the same CIs
        // wherever the result lists it.
        func described(_ c: StudentScheduleKnobs) -> SearchedSchedule? {
            let stream = FNV1a.hash64(c.label)
            let v = SearchScoring.clipValues(c, values: values, pairs: last, rule: rule)
            guard let s = SearchScoring.score(v, criterion: criterion) else { return nil }
            return SearchedSchedule(label: c.label, steps: c.steps, tList: c.steps.map { t.t($0) } + [0], guidance: c.guidance,
                                    transition: c.transition,
                                    sync: search.bootstrap.estimate(v.sync, stream: stream), cost: search.bootstrap.estimate(v.cost, stream: stream &+ 1),
                                    twinFidelity: s.twinFidelity, limit: s.limit, admissible: s.admissible)
        }
        var byN: [StepCountResult] = []
        for n in search.settings.studentSteps {
            let alive = finalists[n] ?? []
            let ranked = SearchScoring.ranked(alive, scores: scores)
            let best = ranked.first.flatMap { scores[$0.label]?.admissible == true ? $0 : nil }
            let front = SearchScoring.front(alive, scores: scores)
            var note: String?
            if best == nil {
                if let closest = ranked.first, let s = scores[closest.label] {
                    note = "no finalist is within the fidelity limit; the closest, \(closest.label), costs \(Fmt.f(s.cost, 4)) > \(Fmt.f(s.limit, 4))"
                } else {
                    note = "no finalist was scored (their units failed or were not run)"
                }
            }
            byN.append(StepCountResult(studentSteps: n, evaluated: evaluated[n] ?? 0, finalists: alive.count,
                                       best: best.flatMap(described),
                                       front: front.compactMap(described),
                                       points: ranked.compactMap { c in scores[c.label].map { SearchPoint(label: c.label, sync: $0.sync, cost: $0.cost, admissible: $0.admissible) } },
                                       note: note))
        }
        var result = SearchResult(settings: search.settings, criterion: criterion, pairsTotal: pairsTotal, rounds: rounds,
                                  passesPlanned: rounds.map(\.passes).reduce(0, +), stoppedEarly: stoppedEarly,
                                  byStepCount: byN, landing: nil)
        if search.settings.studentSteps.contains(2), let w = search.report.scale?.w {
            let sch = search.report.schedule
            let landing = sch.flatMap { try? StudentScheduleKnobs(steps: [0, $0.landingStep], guidance: [1, w], transition: .euler) }
            let scored = landing.flatMap { (finalists[2] ?? []).contains($0) ? described($0) : nil }
            let shapedFinalists = (finalists[2] ?? []).filter { $0.guidance == [1, w] && $0.transition == .euler }
            let shaped = SearchScoring.ranked(shapedFinalists, scores: scores).first.flatMap { scores[$0.label]?.admissible == true ? described($0) : nil }
            result.landing = LandingComparison.make(two: result.result(steps: 2), shaped: shaped, landing: sch, scored: scored, w: w, report: search.report)
        }
        return result
    }
}

extension LandingComparison {
    /// The comparison, with the rule's own words for every difference.
    static func make(two: StepCountResult?, shaped: SearchedSchedule?, landing sch: TwoStepSchedule?, scored: SearchedSchedule?,
                     w: Double, report: StudyReport) -> LandingComparison {
        let probed = report.study.steps.map(\.j).sorted()
        var c = LandingComparison(landingStep: sch?.landingStep, landingT: sch?.tList[1], landingScored: scored, shaped: shaped,
                                  searchStep: shaped?.steps[1], agree: false, text: "")
        func g(_ xs: [Double]) -> String { "[" + xs.map(Fmt.g).joined(separator: ", ") + "]" }
        func scoredText(_ s: SearchedSchedule) -> String {
            "Sync-C \(Fmt.estimate(s.sync, 3)), cost \(Fmt.f(s.cost.mean, 4)) vs limit \(Fmt.f(s.limit, 4))"
        }
        var parts: [String] = []
        // 1. The rule's shape.
        if let sch {
            let L = sch.landingStep
            if let s = shaped {
                let j = s.steps[1]
                let i = probed.firstIndex(of: L)
                let lo = i.flatMap { $0 > 0 ? probed[$0 - 1] : nil } ?? Int.min, hi = i.flatMap { $0 + 1 < probed.count ? probed[$0 + 1] : nil } ?? Int.max
                c.agree = j == L || (j >= lo && j <= hi)
                parts.append("Restricted to the rule's shape (no CFG at t_0, w = \(Fmt.g(w)) at the landing, Euler jump), the search lands at step \(j) (t = \(Fmt.f(s.tList[1], 3)); \(scoredText(s)))"
                    + (c.agree ? (j == L ? ", the rule's own landing step: they agree." : ", within one probed step of the rule's landing step \(L): they agree"
                        + ((report.window?.window).map { $0.steps.contains(j) ? "." : " (step \(j) is outside the sync window \($0.firstStep)..\($0.lastStep), where the rule does not land; the rule's schedule scores " + (scored.map(scoredText) ?? "-") + ")." } ?? "."))
                       : ", the rule at step \(L) (t = \(Fmt.f(sch.tList[1], 3))): they differ, because " + Self.why(step: j, landing: L, scored: scored, shaped: s, report: report) + "."))
            } else {
                parts.append("Restricted to the rule's shape, the search finds no schedule within the limit; the rule lands at step \(L) (t = \(Fmt.f(sch.tList[1], 3)))"
                    + (scored.map { " with \(scoredText($0)) over all pairs as a whole sampling" } ?? "") + ".")
            }
        } else {
            let reason = (report.scheduleProblem?.description ?? "no window").replacingOccurrences(of: report.study.source + ": ", with: "")
            if let s = shaped {
                let inWindow = report.window?.window?.steps.contains(s.steps[1]) ?? false
                parts.append("The rule finds no landing step (\(reason)), but restricted to the rule's shape the search lands at step \(s.steps[1]) within the limit (\(scoredText(s)))" + (inWindow ? "" : ", outside the sync window the rule lands in") + ": they differ.")
            } else {
                c.agree = true
                parts.append("The rule finds no landing step (\(reason)); restricted to the rule's shape the search finds none within the limit either: they agree.")
            }
        }
        // 2. The unrestricted winner.
        if let best = two?.best {
            if best.label == shaped?.label {
                parts.append("It is also the search's best two-step schedule overall.")
            } else {
                var why: [String] = []
                if best.guidance[0] != 1 { why.append("it guides the first step (g = \(g(best.guidance))), which the rule never considers (its landing is read off euler_jump s0=1)") }
                if best.guidance[1] == 1 { why.append("it does not guide its landing") }
                else if best.guidance[1] != w { why.append("it guides its landing at w = \(Fmt.g(best.guidance[1]))") }
                if (best.transition ?? .euler) != .euler { why.append("it re-noises between its steps") }
                if let win = report.window?.window, !win.steps.contains(best.steps[1]) {
                    why.append("it lands at step \(best.steps[1]), outside the sync window (steps \(win.firstStep)..\(win.lastStep))")
                }
                parts.append("Unrestricted, the search's best two-step schedule is \(best.label) (\(scoredText(best))): " + (why.isEmpty ? "a higher Sync-C within the same limit." : why.joined(separator: "; ") + "."))
            }
        } else if let note = two?.note {
            parts.append("Unrestricted, no two-step schedule passes the limit (\(note)).")
        }
        c.text = parts.joined(separator: " ")
        return c
    }

    /// Why the search's landing of the rule's shape is not the rule's, in the rule's terms.
    static func why(step j: Int, landing L: Int, scored: SearchedSchedule?, shaped s: SearchedSchedule, report: StudyReport) -> String {
        var why: [String] = []
        if let win = report.window?.window, !win.steps.contains(j) {
            let verdict = report.window?.verdicts.first { $0.step == j }
            why.append("step \(j) lies outside the sync window (steps \(win.firstStep)..\(win.lastStep)), where the rule does not land" + (verdict.map { $0.failures.isEmpty ? "" : " (\($0.failures.map(\.text).joined(separator: "; ")))" } ?? ""))
        } else {
            why.append("both steps are in the window; the search scores whole two-step samplings on every pair, the rule the euler_jump arm's per-step means")
        }
        if let r = scored {
            why.append("the rule's schedule scores Sync-C \(Fmt.estimate(r.sync, 3)) at cost \(Fmt.f(r.cost.mean, 4)) (limit \(Fmt.f(r.limit, 4)))"
                + (r.admissible ? "" : ", over the limit as a whole sampling")
                + ((r.sync.upper ?? -.infinity) >= s.sync.mean ? ", its CI reaching the search's mean" : ""))
        }
        return why.joined(separator: "; ")
    }
}
