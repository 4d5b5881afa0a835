import Foundation
import Media
import Testing
@testable import Report
import Store

/// Figure layout a reader relies on: columns to scale, the landing step marked, labels off the
/// data, subsets named, the CFG − no-CFG difference where the reader wants it.
@Suite struct FigureLayoutTests {
    static let demoSteps = [0, 8, 16, 20, 24, 28, 30, 32, 36, 40, 44, 49]

    static func heatmap(landing: Int?) -> HeatmapFigure {
        let values = (0..<(2 * demoSteps.count)).map { Double($0 % 7) / 7 - 0.4 }
        return HeatmapFigure(name: "h.png", title: "h", rowTitle: "row", rows: ["a", "b"], steps: demoSteps, values: values,
                             map: .diverging, unit: "u", window: 40...49, tOf: { (try! ShiftedSchedule(numSteps: 50, shift: 5, maxT: 0.999)).t($0) }, landing: landing)
    }

    @Test func heatmapColumnsAreToScaleInTheStep() {
        let l = Self.heatmap(landing: nil).layout()
        // Each cell reaches halfway to its neighbours, half a step past the ends: 50 steps in all.
        let bounds = [-0.5, 4, 12, 18, 22, 26, 29, 31, 34, 38, 42, 46.5, 49.5]
        #expect(l.edges.count == bounds.count)
        for (k, b) in bounds.enumerated() {
            #expect(abs(l.edges[k] - (l.left + (b + 0.5) / 50 * l.gridW)) < 1e-9, "edge \(k)")
        }
        // Step 0's cell (4.5 steps) is more than twice as wide as step 30's (2 steps).
        #expect(abs((l.edges[1] - l.edges[0]) / (l.edges[7] - l.edges[6]) - 2.25) < 1e-9)
    }

    /// Near-black pixels down the inside of a column's left edge (the window, outlined in black,
    /// is elsewhere: steps 40..49).
    static func darkPixels(_ fig: HeatmapFigure, column k: Int) throws -> Int {
        let img = try PNG.decode(try fig.render(), name: fig.name, channels: 3)
        let l = fig.layout(), s = 200.0 / 72
        let x = Int(((l.edges[k] + 0.4) * s).rounded())
        var dark = 0
        for y in Int(l.top * s + 4)..<Int((l.top + 2 * l.cellH) * s - 4) {
            let p = (y * img.width + x) * 3
            if img.pixels[p] < 60 && img.pixels[p + 1] < 60 && img.pixels[p + 2] < 60 { dark += 1 }
        }
        return dark
    }

    @Test func landingColumnIsMarked() throws {
        #expect(try Self.darkPixels(Self.heatmap(landing: nil), column: 5) == 0)
        #expect(try Self.darkPixels(Self.heatmap(landing: 28), column: 5) > 10)
    }

    @Test func placedLabelsNeverOverlapWhatIsBlocked() {
        var placer = LabelPlacer(bounds: LabelBox(x: 0, y: 0, w: 100, h: 50))
        placer.block(polyline: [(0, 25), (100, 25)], width: 1)
        placer.block(LabelBox(x: 40, y: 0, w: 20, h: 50))
        let a = placer.place([LabelBox(x: 45, y: 5, w: 10, h: 5), LabelBox(x: 10, y: 22, w: 10, h: 5), LabelBox(x: 10, y: 10, w: 10, h: 5)])
        #expect(a == LabelBox(x: 10, y: 10, w: 10, h: 5))
        // The same spot is taken now; nothing else fits.
        #expect(placer.place([LabelBox(x: 12, y: 12, w: 10, h: 5), LabelBox(x: 95, y: 40, w: 10, h: 5)]) == nil)
    }

    /// A tradeoff as crowded as the demo's: nine steps with wide whiskers around the peak.
    @Test func tradeoffLabelsStayOffPointsAndWhiskers() {
        let xs = [0.0251, 0.0248, 0.0237, 0.0224, 0.0205, 0.0180, 0.0166, 0.0152, 0.0126, 0.0095, 0.0050, 0.0003]
        let ys = [0.061, 0.061, 0.061, 0.062, 0.060, 0.058, 0.058, 0.056, 0.044, 0.029, 0.005, 0.001]
        let labels: [Int: String] = [3: "20", 5: "28 (landing)", 8: "36"]
        let pts = xs.indices.map { k in
            ScatterFigure.Point(x: xs[k], y: ys[k], xLo: xs[k] - 0.006, xHi: xs[k] + 0.006, yLo: ys[k] - 0.018, yHi: ys[k] + 0.018,
                                colorValue: Double(k), label: labels[k], highlight: (5...8).contains(k))
        }
        let fig = ScatterFigure(name: "t.png", title: "t", xTitle: "x", yTitle: "y", points: pts, colorLabel: "j", tolerance: 0.02, circled: 5)
        let ax = fig.axes()
        let placed = fig.labels(Canvas(widthPt: 10, heightPt: 10), ax: ax).placed
        #expect(placed.map(\.index).sorted() == [3, 5, 8], "every label finds a free spot")
        for label in placed {
            for (k, p) in pts.enumerated() {
                let r = k == 5 ? 5.5 : 3.0
                #expect(!label.box.intersects(LabelBox(x: ax.px(p.x) - r, y: ax.py(p.y) - r, w: 2 * r, h: 2 * r)), "label \(label.index) on point \(k)")
                let h = LabelBox(x: ax.px(p.xLo!), y: ax.py(p.y) - 0.3, w: ax.px(p.xHi!) - ax.px(p.xLo!), h: 0.6)
                let v = LabelBox(x: ax.px(p.x) - 0.3, y: ax.py(p.yHi!), w: 0.6, h: ax.py(p.yLo!) - ax.py(p.yHi!))
                #expect(!label.box.intersects(h) && !label.box.intersects(v), "label \(label.index) on the whiskers of point \(k)")
            }
            for other in placed where other.index != label.index { #expect(!label.box.intersects(other.box)) }
            #expect(label.box.inside(LabelBox(x: ax.x, y: ax.y, w: ax.w, h: ax.h)))
        }
    }

    @Test func syncStripsShowTheDifference() throws {
        let report = try StudyReport(study: Planted.study(clips: 6, extras: true), options: Planted.options())
        let cx = ReportFigures.Context(report)
        let (step, strips) = try #require(ReportFigures.syncStripData(cx))
        #expect(step == 30 && report.schedule?.landingStep == 30)
        #expect(strips.map(\.label) == ["clip00", "clip01", "clip02", "clip03"])
        let cfg = report.study.syncSeries.first { $0.clip == "clip00" && $0.arm == "fresh_noise w=4.5" }!
        let base = report.study.syncSeries.first { $0.clip == "clip00" && $0.arm == "fresh_noise w=1" }!
        #expect(strips[0].values == zip(cfg.values, base.values).map { $0 - $1 })
    }

    @Test func spatialMapsNameTheirSubsetAndShowTheLanding() throws {
        var study = Planted.study(clips: 10, steps: Array(stride(from: 0, to: 50, by: 5)) + [28, 32, 49], extras: true)
        study.steps.sort { $0.j < $1.j }
        // Maps for every clip at eight steps, so the figure must choose.
        study.spatialMaps = study.clips.flatMap { clip in
            [0, 5, 10, 20, 25, 30, 40, 45, 49].map { j in SpatialMap(arm: "spatial w=4.5", clip: clip, step: j, width: 4, height: 4, values: [Float](repeating: 0.1, count: 16)) }
        }
        let report = try StudyReport(study: study, options: Planted.options())
        let cx = ReportFigures.Context(report)
        let landing = try #require(report.schedule?.landingStep)
        let subset = ReportFigures.mapSubset(cx)
        #expect(subset.steps.count == 6 && subset.steps.contains(landing) && subset.steps.first == 0 && subset.steps.last == 49)
        #expect(subset.steps == [0, 5, 20, 30, 40, 49])
        let gains = report.clipDifferences(report.deciding!.pair, step: landing, metric: MetricName.syncC, region: RegionName.face)
        let ranked = gains.keys.sorted { gains[$0]! > gains[$1]! }
        #expect(subset.clips.count == 5 && subset.clips.first == ranked.first && subset.clips.last == ranked.last)
        #expect(subset.why.hasPrefix("5 of 10 clips: largest, quartiles and smallest Sync-C gain of fresh_noise w=4.5 at step \(landing)"))
        let fig = try #require(try ReportFigures.spatialMaps(cx))
        #expect(fig.caption.contains(subset.why) && fig.caption.contains("with the landing step \(landing)"))
    }

    @Test func curvesComparePerFamilyDecidingFirst() throws {
        // Step 45 is probed so the fidelity cost has its planted peak (the window's scale).
        let report = try StudyReport(study: Planted.study(clips: 3, steps: [0, 10, 20, 30, 40, 45]), options: Planted.options())
        let pairs = ReportFigures.curvePairs(ReportFigures.Context(report))
        #expect(pairs.map(\.title) == ["fresh_noise: decides the window", "euler_jump s0=1: picks the landing", "trajectory: context (compounds)"])
        #expect(pairs[0].base == .freshNoise(w: 1) && pairs[0].cfg == .freshNoise(w: 4.5))
    }
}
