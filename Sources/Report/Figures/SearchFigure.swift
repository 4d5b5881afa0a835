import Store

/// The searched schedules' cost–Sync-C fronts, N = 1…4 in one panel: every finalist as a faint
/// dot, each N's front as a line, its best admissible schedule circled, the fidelity limit as a
/// dashed line (the admissible side left of it).
struct SearchFigure {
    static let name = "search_fronts.png"

    var result: SearchResult
    var title: String

    /// The figure of a study's stored search, or none.
    static func figures(_ report: StudyReport) throws(ReportError) -> [Figure] {
        guard let result = report.study.search else { return [] }
        let partial = report.partial ? " [PARTIAL: study \(report.study.status.rawValue)]" : ""
        let rule = result.criterion.rule
        return [Figure(name: name,
                       caption: "Searched student schedules: Sync-C against the \(rule.fidelityMetric.uppercased()) (\(rule.fidelityRegion)) cost of each schedule against the same steps sampled without CFG, for N = \(result.settings.studentSteps.map(String.init).joined(separator: ", ")) steps. Dots: every schedule of the last round (mean over clips); lines: each N's front (no schedule cheaper and better synced); circled: the best admissible schedule; dashed: the fidelity limit.",
                       png: try SearchFigure(result: result, title: "Searched schedules: cost vs Sync-C fronts\(partial)").render())]
    }

    /// `c` mixed with white by `f` (0 = `c`, 1 = white): the faint dots of a series.
    static func tint(_ c: RGB, _ f: Double) -> RGB {
        func m(_ v: UInt8) -> UInt8 { UInt8((Double(v) + (255 - Double(v)) * f).rounded()) }
        return RGB(m(c.r), m(c.g), m(c.b))
    }

    func render() throws(ReportError) -> [UInt8] {
        let width = Page.fullWidth * 0.75, height = 280.0
        let c = Canvas(widthPt: width, heightPt: height)
        c.text(title, 8, 11, size: Page.titleFont, bold: true)
        let rule = result.criterion.rule
        let limits = Set(result.byStepCount.flatMap { r in r.front.map(\.limit) + (r.best.map { [$0.limit] } ?? []) }.filter(\.isFinite))
        let limit = limits.count == 1 ? limits.first : nil
        var xs: [Double] = [], ys: [Double] = []
        for r in result.byStepCount {
            for p in r.points where p.cost.isFinite && p.sync.isFinite { xs.append(p.cost); ys.append(p.sync) }
        }
        guard !xs.isEmpty else {
            c.text("no scored schedules", width / 2, height / 2, size: Page.font, h: .center, v: .center)
            return try c.png(name: SearchFigure.name)
        }
        let (x0, x1) = Axes.range(xs, pad: 0.08, include: (limit.map { [$0] } ?? []) + [0])
        let (y0, y1) = Axes.range(ys, pad: 0.08)
        let ax = Axes(x: 50, y: 26, w: width - 50 - 14, h: height - 26 - 60, xMin: x0, xMax: x1, yMin: y0, yMax: y1)
        ax.yAxis(c, title: "Sync-C (mean over clips)")
        let xt = Axes.ticks(x0, x1)
        let xStep = xt.count > 1 ? xt[1] - xt[0] : 1
        for t in xt where t >= x0 && t <= x1 {
            c.polyline([(ax.px(t), ax.y), (ax.px(t), ax.y + ax.h)], .lightGrey, width: 0.4)
            c.polyline([(ax.px(t), ax.y + ax.h), (ax.px(t), ax.y + ax.h + 2.5)], .black, width: 0.6)
            c.text(Axes.tickLabel(t, step: xStep), ax.px(t), ax.y + ax.h + 4, size: Page.font, h: .center, v: .top)
        }
        c.text("\(rule.fidelityMetric.uppercased()) cost on \(rule.fidelityRegion) against the unguided twin (+ = worse)",
               ax.x + ax.w / 2, ax.y + ax.h + 16, size: Page.font + 0.5, h: .center, v: .top)
        c.clip(ax.x, ax.y, ax.w, ax.h)
        if let limit {
            c.fillRect(ax.px(limit), ax.y, ax.x + ax.w - ax.px(limit), ax.h, RGB(200, 200, 200), alpha: 0.25)
            c.polyline([(ax.px(limit), ax.y), (ax.px(limit), ax.y + ax.h)], RGB(90, 90, 90), width: 0.8, dash: [3, 2])
        }
        var legend: [(Legend.Mark, String)] = []
        for r in result.byStepCount {
            let col = RGB.series[(r.studentSteps - 1) % RGB.series.count]
            for p in r.points where p.cost.isFinite && p.sync.isFinite {
                c.circle(ax.px(p.cost), ax.py(p.sync), 1.3, fill: SearchFigure.tint(col, 0.55))
            }
            let front = r.front.map { (ax.px($0.cost.mean), ax.py($0.sync.mean)) }
            if front.count >= 2 { c.polyline(front, col, width: 1.2) }
            for p in front { c.circle(p.0, p.1, 1.9, fill: col) }
            if let b = r.best {
                c.circle(ax.px(b.cost.mean), ax.py(b.sync.mean), 4.2, fill: .white, stroke: col, width: 1.2)
                c.circle(ax.px(b.cost.mean), ax.py(b.sync.mean), 2.2, fill: col)
            }
            legend.append((.line(col, dash: []), "N = \(r.studentSteps)" + (r.best.map { ": best Sync-C \(Fmt.f($0.sync.mean, 3))" } ?? ": none admissible")))
        }
        c.unclip()
        if let limit, ax.px(limit) < ax.x + ax.w - 4 {
            c.text("limit \(Fmt.f(limit, 4))", ax.px(limit) + 2, ax.y + 8, size: Page.font - 1, color: RGB(70, 70, 70))
        }
        ax.frame(c)
        Legend(entries: legend).draw(c, x: ax.x, y: height - 14, maxWidth: ax.w)
        return try c.png(name: SearchFigure.name)
    }
}
