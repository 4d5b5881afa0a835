import Store

/// The stated rule that turns per-step statistics into a sync window.
///
/// A step qualifies when the CFG arm's Sync-C gain over its no-CFG twin is significant (95% CI
/// lower bound > 0), large (mean gain ≥ `gainFraction` × the peak mean gain over all probed steps)
/// and cheap (mean fidelity cost ≤ `fidelityTolerance`, in the fidelity metric's own units, cost
/// signed so that positive means worse fidelity). The window is the maximal run of consecutive
/// probed steps that qualify; when several runs qualify, the one with the largest summed gain.
///
/// Defaults: half the peak gain (the band where CFG buys at least half of what it can buy), and
/// SSIM on the full frame with a tolerance of 0.02 (about the SSIM spread between seeds of one
/// clip in the analytic teacher; well below a visible change).
public struct WindowRule: Codable, Sendable, Equatable {
    public var syncMetric: String = MetricName.syncC
    public var syncRegion: String = RegionName.face
    public var gainFraction: Double = 0.5
    public var fidelityMetric: String = MetricName.ssim
    public var fidelityRegion: String = RegionName.full
    public var fidelityTolerance: Double = 0.02

    public init() {}

    public init(gainFraction: Double = 0.5, fidelityMetric: String = MetricName.ssim,
                fidelityRegion: String = RegionName.full, fidelityTolerance: Double = 0.02) throws(ReportError) {
        guard gainFraction > 0, gainFraction <= 1 else {
            throw .invalidOption(name: "--gain-fraction", problem: "\(gainFraction) is not in (0, 1]")
        }
        guard fidelityTolerance >= 0, fidelityTolerance.isFinite else {
            throw .invalidOption(name: "--fidelity-tolerance", problem: "\(fidelityTolerance) must be ≥ 0")
        }
        guard [MetricName.ssim, MetricName.lpips, MetricName.mse, MetricName.psnr].contains(fidelityMetric) else {
            throw .invalidOption(name: "--fidelity-metric", problem: "'\(fidelityMetric)' is not one of ssim, lpips, mse, psnr")
        }
        self.gainFraction = gainFraction; self.fidelityMetric = fidelityMetric
        self.fidelityRegion = fidelityRegion; self.fidelityTolerance = fidelityTolerance
    }

    /// Converts a paired difference of the fidelity metric to a cost (positive = worse).
    public func cost(fromDifference d: Double) -> Double {
        MetricDirection(metric: fidelityMetric) == .higherIsBetter ? -d : d
    }

    public var text: String {
        "steps where the Sync-C gain (CFG − no-CFG, \(syncRegion)) has a 95% CI lower bound > 0 and a mean ≥ \(Fmt.g(gainFraction)) × its peak, and the \(fidelityMetric.uppercased()) cost on \(fidelityRegion) is ≤ \(Fmt.g(fidelityTolerance)); the window is the contiguous run of such steps with the largest summed gain"
    }
}

/// Why one step passed or failed the rule.
public enum Criterion: Codable, Sendable, Equatable {
    case notMeasured
    case noCI
    case notSignificant(lower: Double)
    case belowFraction(gain: Double, threshold: Double)
    case fidelityCost(cost: Double, tolerance: Double)

    /// The same as a clause of a sentence ("the gain 0.302 is below the threshold 0.600").
    public var plain: String {
        switch self {
        case .notMeasured: return "the step was not measured in both arms"
        case .noCI: return "there is no CI (fewer than 2 clips)"
        case .notSignificant(let lower): return "the gain is not significant (CI lower bound \(Fmt.f(lower, 3)))"
        case .belowFraction(let gain, let threshold): return "the gain \(Fmt.f(gain, 3)) is below the threshold \(Fmt.f(threshold, 3))"
        case .fidelityCost(let cost, let tolerance): return "the fidelity cost \(Fmt.f(cost, 4)) exceeds the tolerance \(Fmt.g(tolerance))"
        }
    }

    public var text: String {
        switch self {
        case .notMeasured: return "not measured in both arms"
        case .noCI: return "no CI (fewer than 2 clips)"
        case .notSignificant(let lower): return "gain CI lower bound \(Fmt.f(lower, 3)) ≤ 0"
        case .belowFraction(let gain, let threshold): return "gain \(Fmt.f(gain, 3)) < threshold \(Fmt.f(threshold, 3))"
        case .fidelityCost(let cost, let tolerance): return "fidelity cost \(Fmt.f(cost, 4)) > tolerance \(Fmt.g(tolerance))"
        }
    }
}

/// The rule applied at one step.
public struct StepVerdict: Codable, Sendable, Equatable {
    public var step: Int
    public var t: Double
    public var gain: Estimate?
    /// Fidelity cost (positive = worse), CI included.
    public var cost: Estimate?
    public var failures: [Criterion]
    public var qualifies: Bool { failures.isEmpty }

    public var summary: String {
        var parts: [String] = []
        if let g = gain { parts.append("gain \(Fmt.estimate(g, 3))") }
        if let c = cost { parts.append("cost \(Fmt.estimate(c, 4))") }
        return "step \(step) (t=\(Fmt.f(t, 3))): " + parts.joined(separator: ", ")
    }
}

/// What decided one edge of the window.
public struct EdgeReason: Codable, Sendable, Equatable {
    public var insideStep: Int
    /// The neighbouring probed step outside the window; nil when the window touches the first or
    /// last probed step.
    public var outsideStep: Int?
    /// Why the outside step failed (empty when there is none).
    public var failures: [Criterion]
    public var text: String
}

public struct SyncWindow: Codable, Sendable, Equatable {
    public var firstStep: Int
    public var lastStep: Int
    /// t at the last step (small t) and at the first step (large t).
    public var tLow: Double
    public var tHigh: Double
    public var steps: [Int]
    public var lowerEdge: EdgeReason
    public var upperEdge: EdgeReason
}

public struct WindowResult: Codable, Sendable, Equatable {
    public var deciding: DecidingArms
    public var rule: WindowRule
    public var verdicts: [StepVerdict]
    public var peakGain: Double
    public var peakStep: Int?
    public var threshold: Double
    public var window: SyncWindow?
    /// Other qualifying runs, not chosen.
    public var otherBands: [[Int]]
    /// Set when there is no window: the plain reason.
    public var noWindowReason: String?
}

enum WindowFinder {
    static func find(study: StudyData, comparator: Comparator, deciding: DecidingArms, rule: WindowRule) -> WindowResult {
        let steps = study.steps.sorted { $0.j < $1.j }
        var gains: [Int: Estimate] = [:]
        var costs: [Int: Estimate] = [:]
        for s in steps {
            if let g = comparator.compare(deciding.pair, step: s.j, metric: rule.syncMetric, region: rule.syncRegion) {
                gains[s.j] = g.difference
            }
            if let c = comparator.compare(deciding.pair, step: s.j, metric: rule.fidelityMetric, region: rule.fidelityRegion) {
                let d = c.difference
                let flip = MetricDirection(metric: rule.fidelityMetric) == .higherIsBetter
                costs[s.j] = flip ? Estimate(mean: -d.mean, lower: d.upper.map { -$0 }, upper: d.lower.map { -$0 }, count: d.count) : d
            }
        }
        let peak = gains.max { a, b in a.value.mean < b.value.mean || (a.value.mean == b.value.mean && a.key > b.key) }
        let peakGain = peak?.value.mean ?? .nan
        let threshold = rule.gainFraction * peakGain
        var verdicts: [StepVerdict] = []
        for s in steps {
            var failures: [Criterion] = []
            let g = gains[s.j], c = costs[s.j]
            if g == nil || c == nil { failures.append(.notMeasured) }
            if let g {
                if let lo = g.lower { if !(lo > 0) { failures.append(.notSignificant(lower: lo)) } } else { failures.append(.noCI) }
                if !(g.mean >= threshold) { failures.append(.belowFraction(gain: g.mean, threshold: threshold)) }
            }
            if let c, !(c.mean <= rule.fidelityTolerance) {
                failures.append(.fidelityCost(cost: c.mean, tolerance: rule.fidelityTolerance))
            }
            verdicts.append(StepVerdict(step: s.j, t: s.t, gain: g, cost: c, failures: failures))
        }
        var result = WindowResult(deciding: deciding, rule: rule, verdicts: verdicts, peakGain: peakGain,
                                  peakStep: peak?.key, threshold: threshold, window: nil, otherBands: [], noWindowReason: nil)
        if gains.isEmpty {
            result.noWindowReason = "the deciding arms have no \(rule.syncMetric) values on \(rule.syncRegion)"
            return result
        }
        if !gains.values.contains(where: { $0.hasCI }) {
            result.noWindowReason = "fewer than 2 clips were measured, so no confidence intervals exist and no gain can be called significant"
            return result
        }
        if !(peakGain > 0) {
            result.noWindowReason = "CFG never raises \(rule.syncMetric) (peak gain \(Fmt.f(peakGain, 3)) at step \(peak!.key))"
            return result
        }
        // Maximal runs of consecutive probed steps that qualify.
        var runs: [[Int]] = []
        var current: [Int] = []
        for (i, v) in verdicts.enumerated() {
            if v.qualifies { current.append(i) } else if !current.isEmpty { runs.append(current); current = [] }
        }
        if !current.isEmpty { runs.append(current) }
        guard !runs.isEmpty else {
            let sig = verdicts.filter { v in !v.failures.contains { if case .notSignificant = $0 { return true }; if case .noCI = $0 { return true }; return false } && v.gain != nil }
            let cheap = verdicts.filter { v in v.cost != nil && !v.failures.contains { if case .fidelityCost = $0 { return true }; return false } }
            result.noWindowReason = "no probed step meets every condition (\(sig.count) step(s) with a significant gain, \(cheap.count) within the fidelity tolerance of \(Fmt.g(rule.fidelityTolerance)))"
            return result
        }
        func total(_ run: [Int]) -> Double { run.map { verdicts[$0].gain!.mean }.reduce(0, +) }
        let best = runs.enumerated().max { a, b in total(a.element) < total(b.element) || (total(a.element) == total(b.element) && a.offset > b.offset) }!.element
        result.otherBands = runs.filter { $0 != best }.map { $0.map { verdicts[$0].step } }
        let first = verdicts[best.first!], last = verdicts[best.last!]
        func edge(inside: Int, outside: Int?, side: String) -> EdgeReason {
            let v = verdicts[inside]
            guard let o = outside, o >= 0, o < verdicts.count else {
                return EdgeReason(insideStep: v.step, outsideStep: nil, failures: [],
                                  text: "\(side) edge at step \(v.step): it is the \(side == "lower" ? "first" : "last") probed step (\(v.summary))")
            }
            let out = verdicts[o]
            return EdgeReason(insideStep: v.step, outsideStep: out.step, failures: out.failures,
                              text: "\(side) edge at step \(v.step): step \(out.step) (t=\(Fmt.f(out.t, 3))) fails: \(out.failures.map(\.text).joined(separator: "; ")); inside, \(v.summary)")
        }
        result.window = SyncWindow(firstStep: first.step, lastStep: last.step, tLow: last.t, tHigh: first.t,
                                   steps: best.map { verdicts[$0].step },
                                   lowerEdge: edge(inside: best.first!, outside: best.first! - 1, side: "lower"),
                                   upperEdge: edge(inside: best.last!, outside: best.last! + 1, side: "upper"))
        return result
    }
}
