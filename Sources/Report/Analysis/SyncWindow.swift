import Foundation
import Store

/// How a fidelity tolerance is expressed.
///
/// The default must serve SSIM, LPIPS, MSE, PSNR and LMD on any teacher, whose costs differ by
/// orders of magnitude (an LPIPS-mouth cost of 0.03 on a 14B teacher, an SSIM cost of 0.002 on
/// the analytic one): a number in the metric's own units that suits one of them is meaningless
/// for the others. So the default form measures the cost against the teacher's own CFG cost.
public enum ToleranceForm: String, Codable, Sendable, CaseIterable {
    /// A fraction of the pair's peak mean CFG cost over the probed steps (default). Invariant to
    /// any rescaling of the metric, and to MSE vs PSNR up to how much the no-CFG value moves
    /// along the trajectory.
    case peak
    /// A fraction of the no-CFG twin's mean value at the same step: the per-step normalisation
    /// analysis registries call `normalized_only`.
    case relative
    /// The metric's own units (the form of earlier versions; not scale-free).
    case absolute

    /// How a tolerance of this form reads in prose ("0.5 × the peak cost").
    func describe(_ x: Double) -> String {
        switch self {
        case .peak: return "\(Fmt.g(x)) × the peak CFG cost"
        case .relative: return "\(Fmt.g(x)) × the no-CFG value at the same step"
        case .absolute: return "\(Fmt.g(x)) (metric units)"
        }
    }
}

/// The rule's settings as the user gave them: unset metric and region choices are resolved
/// against what a study holds (`resolve`), so one set of options serves every study of a report.
public struct RuleRequest: Sendable, Equatable {
    /// Sync metric whose gain the rule reads (Sync-C).
    public var syncMetric: String = MetricName.syncC
    /// nil: the region the study holds sync values on (face, else mouth, else full).
    public var syncRegion: String?
    /// Fraction of the peak gain a step's gain must reach.
    public var gainFraction: Double = WindowRule.defaultGainFraction
    /// nil: LPIPS-mouth when the study holds it, else SSIM-mouth, else SSIM-full (then the other
    /// fidelity metrics, mouth before full).
    public var fidelityMetric: String?
    /// nil: the region the chosen fidelity metric is held on (mouth before full).
    public var fidelityRegion: String?
    /// Fraction (or amount, by form) of cost a window step may have.
    public var fidelityTolerance: Double = WindowRule.defaultFidelityTolerance
    /// How the tolerances are expressed; `peak` is scale-free.
    public var toleranceForm: ToleranceForm = .peak
    /// Fraction (or amount, by form) of cost the landing step may have against its twin.
    public var landingTolerance: Double = WindowRule.defaultLandingTolerance
    /// Neighbouring probed steps (±k) averaged into each step's gain and cost.
    public var smoothing: Int = WindowRule.defaultSmoothing

    /// Checks each setting's range and throws `invalidOption` naming its flag.
    public init(syncRegion: String? = nil, gainFraction: Double = WindowRule.defaultGainFraction,
                fidelityMetric: String? = nil, fidelityRegion: String? = nil,
                fidelityTolerance: Double = WindowRule.defaultFidelityTolerance, toleranceForm: ToleranceForm = .peak,
                landingTolerance: Double = WindowRule.defaultLandingTolerance,
                smoothing: Int = WindowRule.defaultSmoothing) throws(ReportError) {
        guard smoothing >= 0, smoothing <= 10 else {
            throw .invalidOption(name: "--smoothing", problem: "\(smoothing) is not in 0...10 steps")
        }
        self.smoothing = smoothing
        guard gainFraction > 0, gainFraction <= 1 else {
            throw .invalidOption(name: "--gain-fraction", problem: "\(gainFraction) is not in (0, 1]")
        }
        for (name, x) in [("--fidelity-tolerance", fidelityTolerance), ("--landing-tolerance", landingTolerance)] {
            guard x >= 0, x.isFinite else { throw .invalidOption(name: name, problem: "\(x) must be a finite number ≥ 0") }
            if toleranceForm == .peak, x > 1 {
                throw .invalidOption(name: name, problem: "\(x) is a fraction of the peak CFG cost and must be in [0, 1] (use --tolerance-form absolute for metric units)")
            }
        }
        if let m = fidelityMetric, MetricName.higherIsBetter(m) == nil {
            throw .invalidOption(name: "--fidelity-metric", problem: "'\(m)' has no known direction (known: ssim, lpips, mse or pixel_mse, psnr, lmd)")
        }
        self.syncRegion = syncRegion; self.gainFraction = gainFraction
        self.fidelityMetric = fidelityMetric; self.fidelityRegion = fidelityRegion
        self.fidelityTolerance = fidelityTolerance; self.toleranceForm = toleranceForm
        self.landingTolerance = landingTolerance
    }

    /// Default fidelity choices, in order: CFG acts on the mouth, so mouth metrics come first;
    /// LPIPS before SSIM because it follows what a viewer sees of a mouth better than pixel
    /// statistics do (SSIM-full stays costed long after the mouth has settled).
    static let fidelityPreference: [(metric: String, region: String)] = [
        (MetricName.lpips, RegionName.mouth), (MetricName.ssim, RegionName.mouth), (MetricName.ssim, RegionName.full),
        (MetricName.lpips, RegionName.full), (MetricName.mse, RegionName.mouth), (MetricName.psnr, RegionName.mouth),
        (MetricName.lmd, RegionName.mouth), (MetricName.mse, RegionName.full), (MetricName.psnr, RegionName.full),
    ]

    /// The concrete rule for one study: every metric and region named exists in it, or the error
    /// lists what the study holds.
    func resolve(index: StudyIndex, pair: ArmPair?, file: String) throws(ReportError) -> WindowRule {
        let arms = pair.map { [$0.cfg.label, $0.base.label] } ?? []
        func held(_ metric: String) -> Set<String> {
            var r = index.regions(holding: metric, arms: arms)
            if r.isEmpty { r = index.regions(holding: metric) }
            return r
        }
        /// The stored spelling of a metric (`mse` finds `pixel_mse`), or nil.
        func stored(_ metric: String) -> String? {
            let names = Set(index.metricRegions.map(\.metric))
            if names.contains(metric) { return metric }
            return names.sorted().first { MetricName.canonical($0) == MetricName.canonical(metric) }
        }
        func holdings() -> String {
            let byMetric = Dictionary(grouping: index.metricRegions, by: \.metric)
            return byMetric.keys.sorted().map { "\($0) (\(byMetric[$0]!.map(\.region).sorted().joined(separator: ", ")))" }.joined(separator: "; ")
        }
        var rule = WindowRule()
        rule.gainFraction = gainFraction; rule.fidelityTolerance = fidelityTolerance
        rule.toleranceForm = toleranceForm; rule.landingTolerance = landingTolerance
        rule.smoothing = smoothing

        guard let sync = stored(syncMetric) else {
            throw .invalidOption(name: "--sync-metric", problem: "\(file) holds no '\(syncMetric)' values; it holds \(holdings())")
        }
        rule.syncMetric = sync
        let syncRegions = held(sync)
        if let r = syncRegion {
            guard syncRegions.contains(r) else {
                throw .invalidOption(name: "--sync-region", problem: "\(file) holds \(sync) on \(syncRegions.sorted().joined(separator: ", ")), not on '\(r)'")
            }
            rule.syncRegion = r
            rule.choices.append("sync region \(r) (--sync-region)")
        } else {
            let r = [RegionName.face, RegionName.mouth, RegionName.full].first { syncRegions.contains($0) } ?? syncRegions.sorted().first
            guard let r else { throw .invalidOption(name: "--sync-region", problem: "\(file) holds no \(sync) values") }
            rule.syncRegion = r
            rule.choices.append("sync region \(r) (the region the study holds \(sync) on: face, else mouth, else full)")
        }

        switch (fidelityMetric, fidelityRegion) {
        case let (m?, r?):
            guard let name = stored(m) else {
                throw .invalidOption(name: "--fidelity-metric", problem: "\(file) holds no '\(m)' values; it holds \(holdings())")
            }
            guard held(name).contains(r) else {
                throw .invalidOption(name: "--fidelity-region", problem: "\(file) holds \(name) on \(held(name).sorted().joined(separator: ", ")), not on '\(r)'")
            }
            rule.fidelityMetric = name; rule.fidelityRegion = r
            rule.choices.append("fidelity \(name) on \(r) (--fidelity-metric, --fidelity-region)")
        case let (m?, nil):
            guard let name = stored(m) else {
                throw .invalidOption(name: "--fidelity-metric", problem: "\(file) holds no '\(m)' values; it holds \(holdings())")
            }
            let regions = held(name)
            let r = [RegionName.mouth, RegionName.full].first { regions.contains($0) } ?? regions.sorted().first!
            rule.fidelityMetric = name; rule.fidelityRegion = r
            rule.choices.append("fidelity \(name) (--fidelity-metric) on \(r) (mouth before full)")
        case let (nil, r?):
            let candidates = Self.fidelityPreference.filter { $0.region == r }.compactMap { c in stored(c.metric).map { ($0, c.region) } }
            guard let pick = candidates.first(where: { held($0.0).contains(r) }) else {
                throw .invalidOption(name: "--fidelity-region", problem: "\(file) holds no fidelity metric on '\(r)'; it holds \(holdings())")
            }
            rule.fidelityMetric = pick.0; rule.fidelityRegion = r
            rule.choices.append("fidelity \(pick.0) (LPIPS before SSIM before MSE, PSNR, LMD) on \(r) (--fidelity-region)")
        case (nil, nil):
            let pick = Self.fidelityPreference.lazy.compactMap { c in stored(c.metric).map { ($0, c.region) } }.first { held($0.0).contains($0.1) }
            guard let pick else {
                throw .invalidOption(name: "--fidelity-metric", problem: "\(file) holds no fidelity metric (lpips, ssim, mse, psnr, lmd); it holds \(holdings())")
            }
            rule.fidelityMetric = pick.0; rule.fidelityRegion = pick.1
            rule.choices.append("fidelity \(pick.0) on \(pick.1) (default order: LPIPS-mouth, SSIM-mouth, SSIM-full, then the others, mouth before full)")
        }
        return rule
    }
}

/// The stated rule that turns per-step statistics into a sync window and a landing step.
///
/// A step qualifies for the window when the CFG arm's Sync-C gain over its no-CFG twin is
/// significant (95% CI lower bound > 0), large (mean gain ≥ `gainFraction` × the peak gain) and
/// cheap (mean fidelity cost ≤ `fidelityTolerance` × the peak cost, cost signed so that positive
/// means worse fidelity). Gain and cost at a step are paired differences averaged over the step
/// and its probed neighbours within `smoothing` steps; the peaks are maxima of their running
/// mean over ±`peakSpan` steps. The window is the maximal run of consecutive probed steps that
/// qualify (several runs: the one with the largest summed gain). The landing is the window step
/// whose CFG prediction costs at most `landingTolerance` × the pair's peak cost against its
/// no-CFG twin at the same step, with the highest Sync-C.
///
/// Why these defaults:
/// - Costs as a fraction of the teacher's own peak CFG cost: scale-free, so one default serves
///   SSIM, LPIPS, MSE, PSNR and LMD on any teacher. 1/2, the half-maximum, puts the costly edge
///   where CFG costs at most half of what it costs at its worst.
/// - Gain ≥ 0.4 of its peak: a real teacher's CFG gain decays slowly towards t = 0 while staying
///   clearly resolved (on a 14B teacher its 95% CI stays far above 0 several steps past the
///   half-maximum), so half the peak cuts the band short; 0.4 keeps the steps where CFG still
///   buys a substantial share of its best, and the fidelity criterion, not the gain, bounds the
///   costly side.
/// - Neighbour averaging (±1 step) and running-mean peaks (±5 steps): a real teacher's per-step
///   measurements are noisy while the curves are smooth in t; a noisy step inside the band would
///   otherwise cut a contiguous window short, and a maximum of noisy means is biased upward,
///   which would bias every threshold set as a fraction of it.
/// - Landing within 0.15 of the peak cost of its own no-CFG twin: "comparable fidelity" at the
///   step the student lands on either way. A teacher whose CFG keeps costing fidelity through
///   the window (the analytic demo's, at 32 px) has no step near zero cost, while a 14B
///   teacher's cost falls through zero mid-window; 0.15 admits the near-zero tail of the one
///   and a landing on the other, and stays well above 10-clip noise (1-2% of the peak), while
///   keeping the landing off the window's costly end (the sensitivity table shows 0.075..0.3).
/// - A peak cost that its CI does not resolve from 0 means CFG has no measurable fidelity cost:
///   the peak form then admits every step instead of a fraction of noise.
/// The report's robustness section shows how the answer moves with each setting and with the
/// clips.
public struct WindowRule: Codable, Sendable, Equatable {
    /// Default `gainFraction`: 0.4 of the peak gain (see the type's notes).
    public static let defaultGainFraction = 0.4
    /// Default `fidelityTolerance`: half the peak cost.
    public static let defaultFidelityTolerance = 0.5
    /// Default `landingTolerance`: 0.15 of the peak cost.
    public static let defaultLandingTolerance = 0.15
    /// Default `smoothing`: each step averaged with its probed neighbours ±1.
    public static let defaultSmoothing = 1
    /// Default `peakSpan`: peaks are maxima of a running mean over ±5 steps.
    public static let defaultPeakSpan = 5

    /// Store name of the sync metric.
    public var syncMetric: String = MetricName.syncC
    /// Region the sync gain is read on.
    public var syncRegion: String = RegionName.face
    /// A step's gain must reach this fraction of the peak gain.
    public var gainFraction: Double = WindowRule.defaultGainFraction
    /// Store name of the fidelity metric the cost is measured in.
    public var fidelityMetric: String = MetricName.lpips
    /// Region the fidelity cost is read on.
    public var fidelityRegion: String = RegionName.mouth
    /// Admissible cost of a window step, in `toleranceForm`.
    public var fidelityTolerance: Double = WindowRule.defaultFidelityTolerance
    /// How the tolerances are expressed.
    public var toleranceForm: ToleranceForm = .peak
    /// Admissible landing cost against the twin, in `toleranceForm`.
    public var landingTolerance: Double = WindowRule.defaultLandingTolerance
    /// Gain and cost at a step are averaged over the probed steps within this many steps.
    public var smoothing: Int = WindowRule.defaultSmoothing
    /// The peaks the fractions refer to are maxima of a running mean over ±this many steps.
    public var peakSpan: Int = WindowRule.defaultPeakSpan
    /// How the metric and region choices were made, for the report and the provenance.
    public var choices: [String] = []

    /// The default rule (Sync-C on face, LPIPS on mouth, peak form); reports resolve it per study.
    public init() {}

    /// Converts a paired difference of the fidelity metric to a cost (positive = worse).
    public func cost(fromDifference d: Double) -> Double {
        MetricDirection(metric: fidelityMetric) == .higherIsBetter ? -d : d
    }

    /// The largest admissible cost at a step for a tolerance `x` of this rule's form.
    /// `peakCost` is the pair's peak mean cost (≤ 0 when CFG never costs: then only costs ≤ 0
    /// pass), `base` the no-CFG twin's mean at the step.
    public func limit(_ x: Double, peakCost: Double, base: Double?) -> Double {
        switch toleranceForm {
        case .peak: return x * max(peakCost, 0)
        case .relative: return x * abs(base ?? .nan)
        case .absolute: return x
        }
    }

    /// The setting a rule parameter would need to admit `cost` at a step (the flag value the
    /// no-window and no-landing messages suggest).
    func toleranceNeeded(cost: Double, peakCost: Double, base: Double?) -> Double? {
        switch toleranceForm {
        case .peak: return peakCost > 0 ? cost / peakCost : nil
        case .relative: return base.flatMap { $0 != 0 ? cost / abs($0) : nil }
        case .absolute: return cost
        }
    }

    /// The rule as one sentence, for the report and the provenance.
    public var text: String {
        "steps where the Sync-C gain (CFG − no-CFG, \(syncRegion), averaged over the step and its probed neighbours within \(smoothing) step(s)) has a 95% CI lower bound > 0 and a mean ≥ \(Fmt.f(gainFraction, 2)) × its peak (the maximum of its ±\(peakSpan)-step running mean), and the \(fidelityMetric) cost on \(fidelityRegion) is ≤ \(toleranceForm.describe(fidelityTolerance)); the window is the contiguous run of such steps with the largest summed gain; the landing is the window step with the highest Sync-C whose cost against its no-CFG twin at the same step is ≤ \(toleranceForm.describe(landingTolerance))"
    }

    /// Every setting as key → value, for the provenance of written configs.
    public var settings: [(String, String)] {
        [("sync_metric", syncMetric), ("sync_region", syncRegion), ("gain_fraction", Fmt.g(gainFraction)),
         ("fidelity_metric", fidelityMetric), ("fidelity_region", fidelityRegion),
         ("fidelity_tolerance", Fmt.g(fidelityTolerance)), ("tolerance_form", toleranceForm.rawValue),
         ("landing_rule", "highest Sync-C among window steps within the landing tolerance of the no-CFG twin at the same step"),
         ("landing_tolerance", Fmt.g(landingTolerance)), ("smoothing_steps", "\(smoothing)"), ("peak_span_steps", "\(peakSpan)")]
    }
}

/// Why one step passed or failed the rule.
public enum Criterion: Codable, Sendable, Equatable {
    /// The step lacks values in the CFG arm or its twin.
    case notMeasured
    /// Fewer than two clips, so the gain has no CI.
    case noCI
    /// The gain's CI lower bound is not above 0.
    case notSignificant(lower: Double)
    /// The gain is below `gainFraction` × the peak gain.
    case belowFraction(gain: Double, threshold: Double)
    /// `tolerance` is the admissible cost at the step in metric units (the rule's limit).
    case fidelityCost(cost: Double, tolerance: Double)

    /// The same as a clause of a sentence ("the gain 0.302 is below the threshold 0.600").
    public var plain: String {
        switch self {
        case .notMeasured: return "the step was not measured in both arms"
        case .noCI: return "there is no CI (fewer than 2 clips)"
        case .notSignificant(let lower): return "the gain is not significant (CI lower bound \(Fmt.f(lower, 3)))"
        case .belowFraction(let gain, let threshold): return "the gain \(Fmt.f(gain, 3)) is below the threshold \(Fmt.f(threshold, 3))"
        case .fidelityCost(let cost, let tolerance): return "the fidelity cost \(Fmt.f(cost, 4)) exceeds the limit \(Fmt.f(tolerance, 4))"
        }
    }

    /// Terse form for tables ("gain 0.302 < threshold 0.600").
    public var text: String {
        switch self {
        case .notMeasured: return "not measured in both arms"
        case .noCI: return "no CI (fewer than 2 clips)"
        case .notSignificant(let lower): return "gain CI lower bound \(Fmt.f(lower, 3)) ≤ 0"
        case .belowFraction(let gain, let threshold): return "gain \(Fmt.f(gain, 3)) < threshold \(Fmt.f(threshold, 3))"
        case .fidelityCost(let cost, let tolerance): return "fidelity cost \(Fmt.f(cost, 4)) > limit \(Fmt.f(tolerance, 4))"
        }
    }
}

/// The rule applied at one step.
public struct StepVerdict: Codable, Sendable, Equatable {
    /// The probed step.
    public var step: Int
    /// Its schedule time.
    public var t: Double
    /// Sync-C gain CFG − no-CFG, CI included; nil when not measured.
    public var gain: Estimate?
    /// Fidelity cost (positive = worse), CI included.
    public var cost: Estimate?
    /// The admissible cost at this step, in metric units.
    public var limit: Double?
    /// The criteria the step failed; empty when it qualifies.
    public var failures: [Criterion]
    /// Whether the step passes every criterion.
    public var qualifies: Bool { failures.isEmpty }

    /// Gain, cost and limit in one line, for tables.
    public var summary: String {
        var parts: [String] = []
        if let g = gain { parts.append("gain \(Fmt.estimate(g, 3))") }
        if let c = cost { parts.append("cost \(Fmt.estimate(c, 4))" + (limit.map { " (limit \(Fmt.f($0, 4)))" } ?? "")) }
        return "step \(step) (t=\(Fmt.f(t, 3))): " + parts.joined(separator: ", ")
    }
}

/// What decided one edge of the window.
public struct EdgeReason: Codable, Sendable, Equatable {
    /// The window step at this edge.
    public var insideStep: Int
    /// The neighbouring probed step outside the window; nil when the window touches the first or
    /// last probed step.
    public var outsideStep: Int?
    /// Why the outside step failed (empty when there is none).
    public var failures: [Criterion]
    /// The edge's explanation as a sentence for the report.
    public var text: String
}

/// The chosen run of consecutive qualifying steps, and why it ends where it does.
public struct SyncWindow: Codable, Sendable, Equatable {
    /// First (noisiest, large t) step of the window.
    public var firstStep: Int
    /// Last (small t) step of the window.
    public var lastStep: Int
    /// t at the last step (small t) and at the first step (large t).
    public var tLow: Double
    /// t at the first step.
    public var tHigh: Double
    /// Every probed step in the window, in order.
    public var steps: [Int]
    /// Why the window starts at `firstStep` (what the probed step before it failed).
    public var lowerEdge: EdgeReason
    /// Why the window ends at `lastStep` (what the probed step after it failed).
    public var upperEdge: EdgeReason
}

/// The rule applied to one study: every step's verdict and the window, if any.
public struct WindowResult: Codable, Sendable, Equatable {
    /// The CFG/no-CFG pair the rule read.
    public var deciding: DecidingArms
    /// The rule as applied (choices resolved).
    public var rule: WindowRule
    /// One verdict per probed step.
    public var verdicts: [StepVerdict]
    /// Peak of the running-mean gain.
    public var peakGain: Double
    /// Step of that peak; nil when no gain was measured.
    public var peakStep: Int?
    /// `gainFraction` × `peakGain`: the gain a step must reach.
    public var threshold: Double
    /// The deciding pair's peak mean fidelity cost over the probed steps, and where.
    public var peakCost: Double
    /// Step of the peak cost; nil when no cost was measured.
    public var peakCostStep: Int?
    /// The window; nil when no step qualifies (see `noWindowReason`).
    public var window: SyncWindow?
    /// Other qualifying runs, not chosen.
    public var otherBands: [[Int]]
    /// Set when there is no window: the plain reason, naming the closest step's failed
    /// criterion and the setting that would change the answer.
    public var noWindowReason: String?
}

/// One CFG/no-CFG pair's per-clip data per probed step (seeds averaged within a clip): the
/// Sync-C gain, the fidelity cost (positive = worse) and the twin's fidelity. The rule's
/// statistics are built from it for the full data and for every clip resample alike.
struct PairClipData: Sendable {
    var steps: [StepTime]
    var gain: [Int: [String: Double]] = [:]
    var cost: [Int: [String: Double]] = [:]
    var base: [Int: [String: Double]] = [:]

    init(index: StudyIndex, pair: ArmPair, rule: WindowRule, steps: [StepTime]) {
        self.steps = steps.sorted { $0.j < $1.j }
        let flip = MetricDirection(metric: rule.fidelityMetric) == .higherIsBetter
        for st in self.steps {
            let a = index.values(arm: pair.cfg.label, step: st.j, metric: rule.syncMetric, region: rule.syncRegion)
            let b = index.values(arm: pair.base.label, step: st.j, metric: rule.syncMetric, region: rule.syncRegion)
            var g: [String: Double] = [:]
            for (clip, x) in a { if let y = b[clip] { g[clip] = x - y } }
            if !g.isEmpty { gain[st.j] = g }
            let fa = index.values(arm: pair.cfg.label, step: st.j, metric: rule.fidelityMetric, region: rule.fidelityRegion)
            let fb = index.values(arm: pair.base.label, step: st.j, metric: rule.fidelityMetric, region: rule.fidelityRegion)
            var c: [String: Double] = [:], bb: [String: Double] = [:]
            for (clip, x) in fa { if let y = fb[clip] { c[clip] = flip ? y - x : x - y; bb[clip] = y } }
            if !c.isEmpty { cost[st.j] = c; base[st.j] = bb }
        }
    }

    /// Every clip with a value, in a fixed order (the index a resample's weights refer to).
    var clips: [String] {
        Array(Set(gain.values.flatMap(\.keys)).union(cost.values.flatMap(\.keys))).sorted()
    }

    /// One step's values aligned to `clips`, ready to be drawn.
    struct Column: Sendable {
        var index: [Int]
        var values: [Double]

        /// The values of the drawn clips with their multiplicity (each once when `weights` is nil).
        func drawn(_ weights: [Int]?) -> [Double] {
            guard let weights else { return values }
            var out: [Double] = []
            out.reserveCapacity(values.count)
            for (i, v) in zip(index, values) { for _ in 0..<weights[i] { out.append(v) } }
            return out
        }
    }

    /// The smoothed gain and cost and the raw twin fidelity as columns aligned to `clips`.
    typealias Prepared = (gain: [Int: Column], cost: [Int: Column], base: [Int: Column])

    func prepared(smoothing k: Int) -> Prepared {
        let order = Dictionary(uniqueKeysWithValues: clips.enumerated().map { ($1, $0) })
        func columns(_ m: [Int: [String: Double]]) -> [Int: Column] {
            m.mapValues { v in
                let keys = v.keys.sorted { order[$0]! < order[$1]! }
                return Column(index: keys.map { order[$0]! }, values: keys.map { v[$0]! })
            }
        }
        return (columns(smoothed(gain, k: k)), columns(smoothed(cost, k: k)), columns(base))
    }

    /// Per clip, the mean of its values over the probed steps within `k` steps of j: the curves
    /// are smooth in t while each step's measurement carries its own noise.
    func smoothed(_ values: [Int: [String: Double]], k: Int) -> [Int: [String: Double]] {
        guard k > 0 else { return values }
        var out: [Int: [String: Double]] = [:]
        for st in steps {
            var sums: [String: (Double, Int)] = [:]
            for nb in steps where abs(nb.j - st.j) <= k {
                for (clip, x) in values[nb.j] ?? [:] { let o = sums[clip] ?? (0, 0); sums[clip] = (o.0 + x, o.1 + 1) }
            }
            // Only clips measured at the step itself count there.
            let here = values[st.j] ?? [:]
            var v: [String: Double] = [:]
            for clip in here.keys { if let s = sums[clip] { v[clip] = s.0 / Double(s.1) } }
            if !v.isEmpty { out[st.j] = v }
        }
        return out
    }
}

/// The per-step statistics the rule reads: the deciding pair's Sync-C gain and fidelity cost
/// (positive = worse), each averaged over the step and its probed neighbours (`smoothing`), the
/// no-CFG twin's mean fidelity (for the relative form), and the peaks the fractions refer to.
struct RuleStats: Sendable {
    var steps: [StepTime]
    var gain: [Int: Estimate]
    var cost: [Int: Estimate]
    var base: [Int: Double]
    /// Peaks of the running mean over ±`peakSpan` steps of the per-step means.
    var peakGain: (value: Double, step: Int)?
    var peakCost: (value: Double, step: Int)?
    /// Set on clip resamples: the full data's verdict on whether the peak cost is resolved.
    var resolvedCost: Bool?

    init(steps: [StepTime], gain: [Int: Estimate] = [:], cost: [Int: Estimate] = [:], base: [Int: Double] = [:]) {
        self.steps = steps; self.gain = gain; self.cost = cost; self.base = base
        peakGain = Self.runningPeak(gain.mapValues(\.mean), steps: steps, span: 0)
        peakCost = Self.runningPeak(cost.mapValues(\.mean), steps: steps, span: 0)
    }

    /// Builds the statistics from per-clip data; `weights` draws clips (a resample: how often
    /// each clip of `d.clips` was drawn) or, nil, takes each clip once; the gain CIs come from
    /// `plans` (one per clip count).
    static func build(_ d: PairClipData, rule: WindowRule, weights: [Int]?, bootstrap: Bootstrap,
                      plans: [Int: ResamplePlan]) -> RuleStats {
        build(d.prepared(smoothing: rule.smoothing), steps: d.steps, rule: rule, weights: weights, bootstrap: bootstrap, plans: plans)
    }

    /// The same from columns prepared once (a bootstrap of the rule draws from them many times).
    static func build(_ prepared: PairClipData.Prepared, steps: [StepTime], rule: WindowRule, weights: [Int]?, bootstrap: Bootstrap,
                      plans: [Int: ResamplePlan]) -> RuleStats {
        var s = RuleStats(steps: steps)
        for (j, col) in prepared.gain {
            let v = col.drawn(weights)
            if !v.isEmpty { s.gain[j] = bootstrap.estimate(v, plan: plans[v.count]) }
        }
        // A resample needs the costs' means only: whether the peak cost is resolved from zero is
        // judged once, on the full data (`resolvedCost`).
        for (j, col) in prepared.cost {
            let v = col.drawn(weights)
            if !v.isEmpty { s.cost[j] = bootstrap.estimate(v, plan: weights == nil ? plans[v.count] : nil) }
        }
        for (j, col) in prepared.base {
            let v = col.drawn(weights)
            if !v.isEmpty { s.base[j] = v.reduce(0, +) / Double(v.count) }
        }
        s.peakGain = runningPeak(s.gain.mapValues(\.mean), steps: steps, span: rule.peakSpan)
        s.peakCost = runningPeak(s.cost.mapValues(\.mean), steps: steps, span: rule.peakSpan)
        return s
    }

    /// The maximum over steps of the mean of `values` over the probed steps within `span` steps,
    /// and where. A per-step maximum of noisy means is biased upward (the larger the noise, the
    /// more), which would bias every threshold set as a fraction of it; a running mean over a few
    /// steps estimates the peak of the smooth curve instead.
    static func runningPeak(_ values: [Int: Double], steps: [StepTime], span: Int) -> (value: Double, step: Int)? {
        var best: (Double, Int)?
        for st in steps {
            let near = steps.compactMap { abs($0.j - st.j) <= span ? values[$0.j] : nil }
            guard let own = values[st.j], !near.isEmpty else { continue }
            let m = near.reduce(0, +) / Double(near.count)
            // On a plateau of equal running means, the step with the largest value of its own.
            if best == nil || m > best!.0 + 1e-12 * max(1, abs(m)) || (abs(m - best!.0) <= 1e-12 * max(1, abs(m)) && own > values[best!.1]!) {
                best = (m, st.j)
            }
        }
        return best
    }

    /// Whether the peak cost is resolved from zero (the CI lower bound at the peak step > 0).
    /// When it is not, CFG has no measurable fidelity cost anywhere, and a fraction of the peak
    /// would only be a fraction of noise: the peak form then admits every step. Without CIs (one
    /// clip) the mean decides.
    var peakCostResolved: Bool {
        if let resolvedCost { return resolvedCost }
        guard let p = peakCost, p.value > 0, let e = cost[p.step] else { return false }
        return e.lower.map { $0 > 0 } ?? true
    }
}

enum WindowFinder {
    static func stats(study: StudyData, comparator: Comparator, pair: ArmPair, rule: WindowRule) -> RuleStats {
        let data = PairClipData(index: comparator.index, pair: pair, rule: rule, steps: study.steps)
        return RuleStats.build(data, rule: rule, weights: nil, bootstrap: comparator.bootstrap, plans: comparator.plans)
    }

    static func find(study: StudyData, comparator: Comparator, deciding: DecidingArms, rule: WindowRule) -> WindowResult {
        find(stats: stats(study: study, comparator: comparator, pair: deciding.pair, rule: rule), deciding: deciding, rule: rule)
    }

    static func find(stats: RuleStats, deciding: DecidingArms, rule: WindowRule) -> WindowResult {
        let steps = stats.steps
        let gains = stats.gain, costs = stats.cost
        let peak = stats.peakGain
        let peakGain = peak?.value ?? .nan
        let threshold = rule.gainFraction * peakGain
        let peakCost = stats.peakCost
        var verdicts: [StepVerdict] = []
        for s in steps {
            var failures: [Criterion] = []
            let g = gains[s.j], c = costs[s.j]
            let limit = c.map { _ in
                rule.toleranceForm == .peak && !stats.peakCostResolved && (peakCost?.value ?? 0) > 0
                    ? Double.infinity : rule.limit(rule.fidelityTolerance, peakCost: peakCost?.value ?? 0, base: stats.base[s.j])
            }
            if g == nil || c == nil { failures.append(.notMeasured) }
            if let g {
                if let lo = g.lower { if !(lo > 0) { failures.append(.notSignificant(lower: lo)) } } else { failures.append(.noCI) }
                if !(g.mean >= threshold) { failures.append(.belowFraction(gain: g.mean, threshold: threshold)) }
            }
            if let c, let limit, !(c.mean <= limit) {
                failures.append(.fidelityCost(cost: c.mean, tolerance: limit))
            }
            verdicts.append(StepVerdict(step: s.j, t: s.t, gain: g, cost: c, limit: limit, failures: failures))
        }
        var result = WindowResult(deciding: deciding, rule: rule, verdicts: verdicts, peakGain: peakGain,
                                  peakStep: peak?.step, threshold: threshold, peakCost: peakCost?.value ?? .nan,
                                  peakCostStep: peakCost?.step, window: nil, otherBands: [], noWindowReason: nil)
        if gains.isEmpty {
            result.noWindowReason = "the deciding arms have no \(rule.syncMetric) values on \(rule.syncRegion)"
            return result
        }
        if costs.isEmpty {
            result.noWindowReason = "the deciding arms have no \(rule.fidelityMetric) values on \(rule.fidelityRegion)"
            return result
        }
        if !gains.values.contains(where: { $0.hasCI }) {
            result.noWindowReason = "fewer than 2 clips were measured, so no confidence intervals exist and no gain can be called significant"
            return result
        }
        if !(peakGain > 0) {
            result.noWindowReason = "CFG never raises \(rule.syncMetric) (peak gain \(Fmt.f(peakGain, 3)) at step \(peak.map { String($0.step) } ?? "-"))"
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
            result.noWindowReason = closestMiss(verdicts, rule: rule, peakGain: peakGain, peakCost: peakCost?.value ?? 0, base: stats.base)
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

    /// The step that comes closest to qualifying and what would admit it: among steps with a
    /// significant gain, the one needing the smallest relaxation of the gain fraction or the
    /// tolerance (as a factor of its current setting).
    static func closestMiss(_ verdicts: [StepVerdict], rule: WindowRule, peakGain: Double, peakCost: Double, base: [Int: Double]) -> String {
        let significant = verdicts.filter { v in
            v.gain != nil && v.cost != nil && !v.failures.contains { if case .notSignificant = $0 { return true }; if case .noCI = $0 { return true }; return false }
        }
        guard !significant.isEmpty else {
            return "no probed step has a significant \(rule.syncMetric) gain (95% CI lower bound > 0) with a measured \(rule.fidelityMetric) cost; more clips narrow the CIs"
        }
        var best: (factor: Double, text: String)?
        for v in significant {
            var factor = 1.0
            var parts: [String] = []
            var flags: [String] = []
            for f in v.failures {
                switch f {
                case .belowFraction(let g, let thr):
                    let need = max(g / peakGain, 0)
                    factor *= thr / max(g, 1e-12)
                    parts.append(f.text); flags.append("--gain-fraction \(roundDown(need))")
                case .fidelityCost(let c, _):
                    guard let need = rule.toleranceNeeded(cost: c, peakCost: peakCost, base: base[v.step]) else { continue }
                    factor *= need / max(rule.fidelityTolerance, 1e-12)
                    parts.append(f.text); flags.append("--fidelity-tolerance \(roundUp(need))")
                default: break
                }
            }
            guard !flags.isEmpty else { continue }
            let text = "closest: step \(v.step) (t=\(Fmt.f(v.t, 3))): \(parts.joined(separator: "; ")); \(flags.joined(separator: " and ")) would admit it"
            if best == nil || factor < best!.factor { best = (factor, text) }
        }
        return "no probed step meets every condition (\(significant.count) step(s) with a significant gain); " + (best?.text ?? "")
    }

    /// A flag value that certainly admits `x` when printed (rounded away from the boundary).
    static func roundUp(_ x: Double) -> String {
        let digits = max(2, 2 - Int(log10(max(abs(x), 1e-12)).rounded(.down)))
        let scale = pow10(digits)
        return Fmt.g((x * scale).rounded(.up) / scale)
    }

    static func roundDown(_ x: Double) -> String {
        let digits = max(2, 2 - Int(log10(max(abs(x), 1e-12)).rounded(.down)))
        let scale = pow10(digits)
        return Fmt.g((x * scale).rounded(.down) / scale)
    }

    private static func pow10(_ n: Int) -> Double { (0..<n).reduce(1.0) { a, _ in a * 10 } }
}
