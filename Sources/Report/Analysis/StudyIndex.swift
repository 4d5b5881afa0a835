import Store

/// Whether a larger value of a metric means a better prediction (by the Store's vocabulary, so
/// `pixel_mse` reads as `mse`); `unknown` for a metric the toolkit does not know: it is shown in
/// the tables but never used where a direction is needed.
public enum MetricDirection: Sendable, Equatable {
    /// Larger is better (Sync-C, SSIM, PSNR), smaller is better (LPIPS, MSE, Sync-D), or not known.
    case higherIsBetter, lowerIsBetter, unknown

    /// The direction of a metric by its Store name or alias.
    public init(metric: String) {
        switch MetricName.higherIsBetter(metric) {
        case true?: self = .higherIsBetter
        case false?: self = .lowerIsBetter
        case nil: self = .unknown
        }
    }
}

/// Measurements grouped for the statistics: (arm, step, metric, region) → clip → seed values.
///
/// Seeds of a clip are averaged, clips are the units the bootstrap resamples.
struct StudyIndex: Sendable {
    struct Key: Hashable, Sendable {
        var arm: String
        var step: Int
        var metric: String
        var region: String
    }

    /// Per key: clip → mean over that clip's seeds.
    private(set) var clipMeans: [Key: [String: Double]] = [:]
    /// GT rows: (metric, region) → clip → value.
    private(set) var gt: [String: [String: Double]] = [:]
    private(set) var metricsByArm: [String: Set<String>] = [:]

    init(_ study: StudyData) {
        var sums: [Key: [String: (Double, Int)]] = [:]
        var gtSums: [String: [String: (Double, Int)]] = [:]
        for row in study.measurements where row.value.isFinite {
            if row.step == gtStep {
                let k = "\(row.metric)\u{1F}\(row.region)"
                let old = gtSums[k, default: [:]][row.clip] ?? (0, 0)
                gtSums[k, default: [:]][row.clip] = (old.0 + row.value, old.1 + 1)
                continue
            }
            let key = Key(arm: row.arm, step: row.step, metric: row.metric, region: row.region)
            let old = sums[key, default: [:]][row.clip] ?? (0, 0)
            sums[key, default: [:]][row.clip] = (old.0 + row.value, old.1 + 1)
            metricsByArm[row.arm, default: []].insert("\(row.metric)\u{1F}\(row.region)")
        }
        clipMeans = sums.mapValues { $0.mapValues { $0.0 / Double($0.1) } }
        gt = gtSums.mapValues { $0.mapValues { $0.0 / Double($0.1) } }
    }

    func values(arm: String, step: Int, metric: String, region: String) -> [String: Double] {
        clipMeans[Key(arm: arm, step: step, metric: metric, region: region)] ?? [:]
    }

    func gtValues(metric: String, region: String) -> [String: Double] {
        gt["\(metric)\u{1F}\(region)"] ?? [:]
    }

    func has(arm: String, metric: String, region: String) -> Bool {
        metricsByArm[arm]?.contains("\(metric)\u{1F}\(region)") ?? false
    }

    /// Regions where any of `arms` holds `metric` (or any arm when `arms` is empty).
    func regions(holding metric: String, arms: [String] = []) -> Set<String> {
        let pool = arms.isEmpty ? Array(metricsByArm.keys) : arms
        var out: Set<String> = []
        for a in pool {
            for key in metricsByArm[a] ?? [] {
                let p = key.split(separator: "\u{1F}", omittingEmptySubsequences: false).map(String.init)
                if p[0] == metric { out.insert(p[1]) }
            }
        }
        return out
    }

    /// (metric, region) pairs measured for any arm, sorted.
    var metricRegions: [(metric: String, region: String)] {
        Set(metricsByArm.values.flatMap { $0 }).sorted().map {
            let p = $0.split(separator: "\u{1F}", omittingEmptySubsequences: false).map(String.init)
            return (p[0], p[1])
        }
    }
}
