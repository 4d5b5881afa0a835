import Foundation
import Store

/// A registry's cross-model comparison (`comparisons:` of `trajprobe import registry`), read back
/// from the studies' settings (`StudyParameters.comparisons`): which arm of which study stands
/// for each model.
struct RegistryComparison: Equatable {
    struct Member: Equatable {
        var model: String
        var study: String
        var arm: String
    }

    var name: String
    /// Sorted by model name.
    var members: [Member]

    /// Every comparison named in the studies' settings, once, sorted by name.
    static func collect(_ studies: [StudyData]) -> [RegistryComparison] {
        var byName: [String: RegistryComparison] = [:]
        for s in studies {
            if let typed = s.parameters?.comparisons {
                for (name, models) in typed where byName[name] == nil {
                    let members = models.keys.sorted().map { Member(model: $0, study: models[$0]!.study, arm: models[$0]!.arm) }
                    if members.count >= 2 { byName[name] = RegistryComparison(name: name, members: members) }
                }
                continue
            }
            // A study JSON file written before typed parameters: its settings as free-form text.
            guard let text = s.configuration["comparisons"],
                  let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else { continue }
            for (name, value) in object where byName[name] == nil {
                guard let models = value as? [String: Any] else { continue }
                let members = models.keys.sorted().compactMap { model -> Member? in
                    guard let m = models[model] as? [String: Any], let study = m["study"] as? String, let arm = m["arm"] as? String else { return nil }
                    return Member(model: model, study: study, arm: arm)
                }
                if members.count >= 2 { byName[name] = RegistryComparison(name: name, members: members) }
            }
        }
        return byName.keys.sorted().map { byName[$0]! }
    }
}

/// Per-step means of the arms a comparison needs, from one study's measurements.
struct ComparisonMeans {
    /// "arm|step|metric|region" → mean over clips (seeds averaged within a clip); GT rows under
    /// step −1 of the arm whose file held them.
    private var means: [String: Double] = [:]
    /// (metric, region) pairs each arm holds.
    private(set) var held: [String: Set<String>] = [:]

    init(study: StudyData, arms: Set<String>) {
        var sums: [String: [String: (Double, Int)]] = [:]   // key → clip → (sum, n)
        for row in study.measurements where arms.contains(row.arm) && row.value.isFinite {
            let key = "\(row.arm)|\(row.step)|\(row.metric)|\(row.region)"
            let prior = sums[key, default: [:]][row.clip] ?? (0, 0)
            sums[key, default: [:]][row.clip] = (prior.0 + row.value, prior.1 + 1)
            if row.step != gtStep { held[row.arm, default: []].insert("\(row.metric)|\(row.region)") }
        }
        for (key, clips) in sums {
            let perClip = clips.values.map { $0.0 / Double($0.1) }
            means[key] = perClip.reduce(0, +) / Double(perClip.count)
        }
    }

    func mean(arm: String, step: Int, metric: String, region: String) -> Double? {
        means["\(arm)|\(step)|\(metric)|\(region)"]
    }

    func steps(arm: String) -> Set<Int> {
        Set(means.keys.compactMap { key -> Int? in
            let parts = key.split(separator: "|", omittingEmptySubsequences: false)
            guard parts.count == 4, parts[0] == arm, let j = Int(parts[1]), j != gtStep else { return nil }
            return j
        })
    }
}

extension ReportWriter {
    /// The key metrics, in order of preference: Sync-C, then the first two fidelity metrics
    /// both experiments hold (LPIPS and SSIM on the mouth where CFG acts, when present). Names in
    /// one group mean the same quantity (`pixel_mse` is the probe's `mse`); a column takes
    /// whichever name each study holds.
    static let comparisonMetrics: [[String]] = [
        [MetricName.syncC], [MetricName.lpips], [MetricName.ssim], ["pixel_mse", MetricName.mse], ["lmd"],
    ]

    /// "Comparisons": for each comparison of the registry the studies came from, the per-step
    /// means of the paired experiments' key metrics next to each other. A metric whose
    /// `metric_rules` entry is `normalized_only` is shown as each experiment's mean divided by its
    /// own baseline arm's mean at the same step (distances to the reference of different teachers
    /// are not comparable in absolute terms: resolution, crop and mask differ); `diagnostic_only`
    /// metrics are left out; the rest are shown at face value.
    static func comparisons(_ doc: inout Document, _ reports: [StudyReport]) {
        let studies = reports.map(\.study)
        let items = RegistryComparison.collect(studies)
        guard !items.isEmpty else { return }
        let byName = Dictionary(studies.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        doc.add(.heading(2, "Comparisons"))
        doc.add(.paragraph("The registry's cross-model comparisons, step by step (step index j; the teachers' t scales may differ). \(rulesText(studies)) Means over clips; `-`: not measured at that step."))
        for item in items {
            doc.add(.heading(3, "Comparison `\(item.name)`"))
            let absent = item.members.filter { byName[$0.study] == nil }
            guard absent.isEmpty else {
                doc.add(.paragraph("Not shown: study \(absent.map { "`\($0.study)`" }.joined(separator: ", ")) is not in this report."))
                continue
            }
            comparisonTable(&doc, item, studies: byName)
        }
    }

    static func rulesText(_ studies: [StudyData]) -> String {
        let rules = studies.compactMap { metricRules($0) }.first ?? [:]
        guard !rules.isEmpty else { return "The studies carry no metric_rules: every metric is shown at face value." }
        let normalised = rules.filter { $0.value == "normalized_only" }.keys.sorted()
        let face = rules.filter { $0.value == "face_value" }.keys.sorted()
        var parts: [String] = []
        if !face.isEmpty { parts.append("\(face.joined(separator: ", ")) at face value") }
        if !normalised.isEmpty { parts.append("\(normalised.joined(separator: ", ")) only as the ratio to each experiment's own baseline at the same step (1 = the baseline)") }
        return "As the registry's metric_rules say: " + parts.joined(separator: "; ") + "."
    }

    static func metricRules(_ study: StudyData) -> [String: String]? {
        study.metricRules.isEmpty ? nil : study.metricRules
    }

    static func baselines(_ study: StudyData) -> [String: String] {
        if let typed = study.parameters?.baseline { return typed }
        return study.configuration["baseline"].flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: String] } ?? [:]
    }

    /// One comparison's table: a row per step, for each metric a column per member.
    static func comparisonTable(_ doc: inout Document, _ item: RegistryComparison, studies: [String: StudyData]) {
        struct Column {
            var header: String
            var member: RegistryComparison.Member
            var means: ComparisonMeans
            var metric: String, region: String
            var baseline: String?
            var normalised: Bool
        }
        var means: [String: ComparisonMeans] = [:]
        var baseOf: [String: String?] = [:]
        var descriptions: [String] = []
        for m in item.members {
            let s = studies[m.study]!
            let base = baselines(s)[m.arm]
            baseOf[m.model] = base
            means[m.model] = ComparisonMeans(study: s, arms: Set([m.arm] + (base.map { [$0] } ?? [])))
            let isBase = baselines(s).values.contains(m.arm)
            descriptions.append("\(m.model): `\(m.arm)` in study `\(m.study)`" + (base.map { ", normalised against `\($0)`" }
                ?? (isBase ? " (itself a baseline: its normalised values are 1 by definition)" : " (no baseline: normalised metrics not shown)")))
        }
        doc.add(.paragraph(descriptions.joined(separator: "; ") + "."))

        var columns: [Column] = []
        for names in comparisonMetrics {
            var picked: [Column] = []
            for m in item.members {
                let held = means[m.model]!.held[m.arm] ?? []
                guard let metric = names.first(where: { n in held.contains { $0.hasPrefix(n + "|") } }) else { break }
                let regions = held.filter { $0.hasPrefix(metric + "|") }.map { String($0.dropFirst(metric.count + 1)) }
                let order = metric == MetricName.syncC ? [RegionName.face, RegionName.mouth, RegionName.full] : [RegionName.mouth, RegionName.full, RegionName.upperFace]
                guard let region = order.first(where: regions.contains) ?? regions.sorted().first else { break }
                let rule = metricRules(studies[m.study]!)?[metric] ?? metricRules(studies[m.study]!)?[names[0]]
                if rule == "diagnostic_only" { break }
                let normalised = rule == "normalized_only"
                let header = "\(m.model) \(metric) \(region)" + (normalised ? " ÷ baseline" : "")
                picked.append(Column(header: header, member: m, means: means[m.model]!, metric: metric, region: region,
                                     baseline: baseOf[m.model] ?? nil, normalised: normalised))
            }
            if picked.count == item.members.count && (names[0] == MetricName.syncC || columns.count < 3 * item.members.count) {
                columns += picked
            }
        }
        guard !columns.isEmpty else {
            doc.add(.paragraph("The paired experiments hold no metric in common."))
            return
        }
        let stepSets = item.members.map { means[$0.model]!.steps(arm: $0.arm) }
        let steps = stepSets.dropFirst().reduce(stepSets[0]) { $0.intersection($1) }.sorted()
        let shown = steps.count <= 26 ? steps : steps.filter { $0 % 5 == 0 || $0 == steps.last! }
        func cell(_ c: Column, _ step: Int) -> String {
            guard let v = c.means.mean(arm: c.member.arm, step: step, metric: c.metric, region: c.region) else { return "-" }
            guard c.normalised else { return Fmt.f(v, 3) }
            guard let b = c.baseline, let bv = c.means.mean(arm: b, step: step, metric: c.metric, region: c.region), bv != 0 else { return "-" }
            return Fmt.f(v / bv, 3)
        }
        var rows: [[String]] = []
        let gt = columns.map { c in c.normalised ? "" : c.means.mean(arm: c.member.arm, step: gtStep, metric: c.metric, region: c.region).map { Fmt.f($0, 3) } ?? "" }
        if gt.contains(where: { !$0.isEmpty }) { rows.append(["GT"] + gt) }
        rows += shown.map { j in [String(j)] + columns.map { cell($0, j) } }
        doc.add(.table(["step"] + columns.map(\.header), rows))
        if shown.count < steps.count { doc.add(.paragraph("Every fifth of the \(steps.count) common steps shown.")) }
    }
}
