import Foundation
import Store

/// One probe clip under one seed, the unit a search promotes candidates through.
public struct SearchPair: Hashable, Codable, Sendable {
    /// The probe clip's name.
    public var clip: String
    /// The noise seed.
    public var seed: Int
    /// A (clip, seed) pair.
    public init(clip: String, seed: Int) { self.clip = clip; self.seed = seed }
}

/// What runs candidate schedules on the teacher and stores their units: the probe session of
/// TrajectoryProbe in the CLI, planted values in tests.
public protocol ScheduleSearchRunner: Sendable {
    /// Every (clip, seed) pair of the study, in the order the rounds take them.
    var pairs: [SearchPair] { get }
    /// Teacher passes `pairs` pairs cost for these arms run fresh (states they share counted
    /// once); a function of its arguments only, so a resumed search decides the same.
    func passes(arms: [ArmSpec], pairs: Int) throws -> Int
    /// Runs `arms` on `pairs`, skipping stored units; returns the teacher passes spent.
    func run(arms: [ArmSpec], on pairs: [SearchPair], round: SearchRoundInfo) async throws -> Int
}

/// The round being run, for progress lines.
public struct SearchRoundInfo: Sendable, Equatable {
    /// Whether the round is about to run or has run.
    public enum Phase: Sendable { case started, finished }

    /// The round's position, counting from 0.
    public var index: Int
    /// Rounds planned (the last one on every pair).
    public var planned: Int
    /// Candidates still alive in this round.
    public var candidates: Int
    /// (clip, seed) pairs this round scores them on.
    public var pairs: Int
    /// Passes this round costs fresh, and what the whole search has planned so far.
    public var passes: Int
}

/// The search's knobs.
public struct SearchSettings: Codable, Sendable, Equatable {
    /// Student step counts searched, e.g. [1, 2, 3, 4].
    public var studentSteps: [Int]
    /// Guidance choices per student step (uncond form); 1 (no CFG) is always among them.
    public var scales: [Double]
    /// Steps of the study's schedule a student may land on after its first (t_0) step.
    public var grid: [Int]
    /// Transitions between student steps to try (Euler jump, re-noising).
    public var transitions: [StudentScheduleKnobs.Transition]
    /// Teacher passes the whole search may spend (counted as a fresh run would spend them, so a
    /// resumed search makes the same decisions).
    public var budget: Int
    /// Each round keeps 1/eta of each N's candidates and scores them on eta times the pairs.
    public var eta: Int
    /// (clip, seed) pairs of the first round.
    public var firstPairs: Int

    /// Checks every knob (step counts in range, finite scales including 1, distinct grid steps enough
    /// for the longest student, a transition, a positive budget, `eta` >= 2) and throws `invalidOption`
    /// naming the CLI flag of the first bad one.
    public init(studentSteps: [Int], scales: [Double], grid: [Int], transitions: [StudentScheduleKnobs.Transition],
                budget: Int, eta: Int = 3, firstPairs: Int = 1) throws(ReportError) {
        guard !studentSteps.isEmpty, studentSteps.allSatisfy({ (1...StudentScheduleKnobs.maxSteps).contains($0) }) else {
            throw .invalidOption(name: "--student-steps", problem: "\(studentSteps) must be step counts in 1...\(StudentScheduleKnobs.maxSteps)")
        }
        guard scales.contains(1), scales.allSatisfy({ $0.isFinite }) else {
            throw .invalidOption(name: "--scales", problem: "\(scales.map(Fmt.g)) must be finite and include 1 (no CFG: every candidate is costed against its unguided twin)")
        }
        guard grid.allSatisfy({ $0 > 0 }), Set(grid).count == grid.count else {
            throw .invalidOption(name: "--grid", problem: "\(grid) must be distinct steps after step 0")
        }
        guard grid.count >= (studentSteps.max() ?? 1) - 1 else {
            throw .invalidOption(name: "--grid", problem: "\(grid.count) grid steps cannot hold a \(studentSteps.max()!)-step student")
        }
        guard !transitions.isEmpty else { throw .invalidOption(name: "--transition", problem: "no transition given") }
        guard budget > 0 else { throw .invalidOption(name: "--budget", problem: "\(budget) must be a positive number of teacher passes") }
        guard eta >= 2 else { throw .invalidOption(name: "--eta", problem: "\(eta) must be at least 2") }
        guard firstPairs >= 1 else { throw .invalidOption(name: "--first-pairs", problem: "\(firstPairs) must be at least 1") }
        self.studentSteps = Array(Set(studentSteps)).sorted()
        self.scales = Array(Set(scales)).sorted()
        self.grid = grid.sorted()
        self.transitions = transitions
        self.budget = budget; self.eta = eta; self.firstPairs = firstPairs
    }

    /// The candidate space in one line.
    public var text: String {
        studentSteps.map { "N=\($0): \(candidateCount($0)) candidates" }.joined(separator: ", ")
            + "; grid \(grid.count) steps, scales \(scales.map(Fmt.g).joined(separator: ", ")), \(transitions.map(\.rawValue).joined(separator: "+")); budget \(budget) passes, eta \(eta)"
    }

    /// How many schedules with `n` steps the search enumerates.
    public func candidateCount(_ n: Int) -> Int { candidates(n: n).count }

    /// Every candidate with `n` steps, in a fixed order: steps, then guidance, then transition.
    func candidates(n: Int) -> [StudentScheduleKnobs] {
        var out: [StudentScheduleKnobs] = []
        func combos(_ k: Int, from start: Int) -> [[Int]] {
            if k == 0 { return [[]] }
            guard start < grid.count else { return [] }
            return (start..<grid.count).flatMap { i in combos(k - 1, from: i + 1).map { [grid[i]] + $0 } }
        }
        func guidances(_ k: Int) -> [[Double]] {
            k == 0 ? [[]] : guidances(k - 1).flatMap { g in scales.map { g + [$0] } }
        }
        for rest in combos(n - 1, from: 0) {
            for g in guidances(n) {
                for tr in n == 1 ? [nil] : transitions.map(Optional.some) {
                    // Valid by construction: 0 first, grid steps increasing and > 0, n scales.
                    out.append(try! StudentScheduleKnobs(steps: [0] + rest, guidance: g, transition: tr))
                }
            }
        }
        return out
    }
}

/// Successive halving over few-step student schedules, the teacher in the loop.
///
/// For every N it enumerates the schedules on the grid (steps × per-step guidance × transition),
/// scores all of them on a few (clip, seed) pairs, keeps the best 1/eta of each N (by the
/// admissibility rule, then Sync-C) plus the cost–Sync-C front, and scores the survivors on eta
/// times as many pairs, until the last round has every pair. Rounds of all N run together so a
/// 4-step candidate shares the teacher passes of its 2- and 3-step prefixes. Each candidate's
/// no-CFG twin (same steps, no guidance) is always scored beside it: its cost is measured
/// against it, as the two-step landing is.
///
/// Every decision is a function of stored units, and the budget is counted as a fresh run would
/// spend it: a search killed at any moment and run again skips what is stored and ends with the
/// same result.
public struct ScheduleSearch: Sendable {
    /// The search's knobs.
    public let settings: SearchSettings
    /// The admissibility test, taken from the study's own landing rule and peak cost.
    public let criterion: SearchCriterion
    /// Bootstrap of the reported CIs (the report's).
    public let bootstrap: Bootstrap
    let report: StudyReport

    /// Prepares a search over `report`'s study; throws when a grid step lies outside the study's
    /// schedule or the study has no CFG cost to measure schedules against.
    public init(report: StudyReport, settings: SearchSettings) throws(ReportError) {
        self.report = report
        self.settings = settings
        self.criterion = try SearchCriterion(report: report)
        self.bootstrap = report.options.bootstrap
        let n = try report.study.sampler(neededFor: "the search (its schedules' times)").numSteps
        for j in settings.grid where j >= n {
            throw .invalidOption(name: "--grid", problem: "step \(j) is outside 0..<\(n)")
        }
    }

    /// The grid of probed steps: the study's measured steps after step 0.
    public static func probedGrid(_ study: StudyData) -> [Int] { study.steps.map(\.j).filter { $0 > 0 }.sorted() }

    /// Pairs each round scores on (the last round: all of them).
    func roundPairs(total: Int) -> [Int] {
        var c = min(total, settings.firstPairs), out = [c]
        while c < total { c = min(total, c * settings.eta); out.append(c) }
        return out
    }

    /// Runs the search, or resumes it.
    /// - parameter progress: called after each round with what it did.
    public func run(runner: some ScheduleSearchRunner, store: StudyStore,
                    progress: @Sendable (SearchRoundInfo, SearchRoundInfo.Phase) -> Void = { _, _ in }) async throws -> SearchResult {
        let pairs = runner.pairs
        guard !pairs.isEmpty else { throw ReportError.unreadableInput(file: store.url.path, problem: "the study has no (clip, seed) pairs to search on") }
        let perRound = roundPairs(total: pairs.count)
        var alive: [Int: [StudentScheduleKnobs]] = [:]
        for n in settings.studentSteps { alive[n] = Self.unique(settings.candidates(n: n) + pinned.filter { $0.steps.count == n }) }
        let evaluated = alive.mapValues(\.count)
        var spent = 0
        var rounds: [SearchResult.Round] = []
        var scores: [String: CandidateScore] = [:]
        var stoppedEarly: String?

        for (r, count) in perRound.enumerated() {
            let on = Array(pairs.prefix(count))
            var arms = Self.withTwins(alive.values.flatMap { $0 })
            var passes = try runner.passes(arms: arms.map(\.spec), pairs: count)
            if r > 0 && spent + passes > settings.budget {
                // Keep fewer of each N's best until the round fits what is left of the budget.
                var keep = alive
                while spent + passes > settings.budget, keep.values.contains(where: { $0.count > 1 }) {
                    keep = keep.mapValues { Array($0.prefix(max(1, $0.count / 2))) }
                    arms = Self.withTwins(keep.values.flatMap { $0 })
                    passes = try runner.passes(arms: arms.map(\.spec), pairs: count)
                }
                if spent + passes > settings.budget {
                    stoppedEarly = "the budget of \(settings.budget) passes ran out before round \(r + 1) (\(passes) more needed): the results are from round \(r) on \(perRound[r - 1]) of \(pairs.count) pairs"
                    break
                }
                alive = keep
            } else if spent + passes > settings.budget {
                throw ReportError.invalidOption(name: "--budget", problem: "\(settings.budget) teacher passes cannot pay for the first round: \(arms.count) candidates on \(count) pair(s) need \(passes); raise --budget, or search fewer steps, scales or grid points")
            }
            let info = SearchRoundInfo(index: r, planned: perRound.count, candidates: arms.count, pairs: count, passes: passes)
            progress(info, .started)
            _ = try await runner.run(arms: arms.map(\.spec), on: on, round: info)
            spent += passes
            scores = try SearchScoring.scores(store: store, candidates: arms, pairs: Set(on), criterion: criterion)
            rounds.append(SearchResult.Round(pairs: count, candidates: arms.count, passes: passes))
            progress(info, .finished)
            if count == pairs.count { break }
            for n in settings.studentSteps {
                let promoted = promote(alive[n]!, scores: scores, keep: Int((Double(alive[n]!.count) / Double(settings.eta)).rounded(.up)))
                alive[n] = Self.unique(promoted + pinned.filter { $0.steps.count == n })
            }
        }
        return try SearchResult.make(search: self, finalists: alive, scores: scores, evaluated: evaluated, rounds: rounds,
                                     pairs: pairs, stoppedEarly: stoppedEarly, store: store)
    }

    /// Two-step schedules shaped as the rule's (no CFG at t_0, the teacher's scale at the landing,
    /// Euler), one per grid step and one at the rule's landing: kept through every round, so the comparison with the rule's
    /// landing is made on all pairs (a dozen candidates sharing their passes with their twins).
    var pinned: [StudentScheduleKnobs] {
        guard settings.studentSteps.contains(2), let w = report.scale?.w, w.isFinite, settings.scales.contains(w),
              settings.transitions.contains(.euler) else { return [] }
        // The rule's own landing too when it is off the grid: the comparison scores it on every pair.
        let steps = settings.grid + (report.schedule.map { [$0.landingStep] } ?? []).filter { $0 > 0 && !settings.grid.contains($0) }
        return steps.map { try! StudentScheduleKnobs(steps: [0, $0], guidance: [1, w], transition: .euler) }
    }

    static func unique(_ xs: [StudentScheduleKnobs]) -> [StudentScheduleKnobs] {
        var seen = Set<StudentScheduleKnobs>()
        return xs.filter { seen.insert($0).inserted }
    }

    /// Candidates and their no-CFG twins, each once, in a fixed order.
    static func withTwins(_ candidates: [StudentScheduleKnobs]) -> [StudentScheduleKnobs] {
        var seen = Set<StudentScheduleKnobs>(), out: [StudentScheduleKnobs] = []
        for c in candidates + candidates.map(\.unguided) where seen.insert(c).inserted { out.append(c) }
        return out
    }

    /// The best `keep` by the rule (admissible first, by Sync-C; then the least over the limit)
    /// and, up to `keep` more, the cost–Sync-C front: the trade-off the report draws stays scored.
    /// Returned best first, so a round cut to fit the budget keeps the best.
    func promote(_ candidates: [StudentScheduleKnobs], scores: [String: CandidateScore], keep: Int) -> [StudentScheduleKnobs] {
        let ranked = SearchScoring.ranked(candidates, scores: scores)
        var chosen = Array(ranked.prefix(keep))
        let front = SearchScoring.front(ranked.filter { scores[$0.label] != nil }, scores: scores)
        let extra = front.filter { !chosen.contains($0) }.prefix(keep)
        chosen += extra
        return chosen
    }
}
