/// Where the window's edges and the landing fall over clip resamples: three rows on one step
/// axis, bars for the share of resamples giving each step, the all-clips answer as a tick and the
/// 95% interval as a whisker. A reader sees at once whether an edge is pinned down or wanders.
struct RobustnessFigure {
    var title: String
    var rows: [(label: String, dist: StepDistribution, point: Int?, color: RGB)]
    var steps: [Int]
    var tOf: (Int) -> Double?
    var resamples: Int
    var window: ClosedRange<Int>?

    init?(report: StudyReport, robustness rb: RuleRobustness, steps: [Int], tOf: @escaping (Int) -> Double?, partial: String) {
        var rows: [(String, StepDistribution, Int?, RGB)] = []
        if let f = rb.firstStep { rows.append(("window first step (t_hi)", f, report.window?.window?.firstStep, RGB(hex: 0x0072B2))) }
        if let l = rb.lastStep { rows.append(("window last step (t_lo)", l, report.window?.window?.lastStep, RGB(hex: 0xD55E00))) }
        if let d = rb.landingStep { rows.append(("landing step", d, report.schedule?.landingStep, RGB(hex: 0x009E73))) }
        guard !rows.isEmpty, steps.count >= 2 else { return nil }
        self.title = "Window and landing over \(rb.resamples) clip resamples\(partial)"
        self.rows = rows.map { (label: $0.0, dist: $0.1, point: $0.2, color: $0.3) }
        self.steps = steps; self.tOf = tOf; self.resamples = rb.resamples
        self.window = report.window?.window.map { $0.firstStep...$0.lastStep }
    }

    func render() throws(ReportError) -> [UInt8] {
        let width = Page.fullWidth, rowH = 42.0, top = 34.0, left = 118.0, right = 14.0
        let height = top + rowH * Double(rows.count) + 34
        let c = Canvas(widthPt: width, heightPt: height)
        c.text(title, 8, 11, size: Page.titleFont, bold: true)
        let lo = Double(steps.min()!), hi = Double(steps.max()!)
        let ax = Axes(x: left, y: top, w: width - left - right, h: rowH * Double(rows.count), xMin: lo - 0.5, xMax: hi + 0.5, yMin: 0, yMax: 1)
        if let win = window {
            c.fillRect(ax.px(Double(win.lowerBound) - 0.5), ax.y, ax.px(Double(win.upperBound) + 0.5) - ax.px(Double(win.lowerBound) - 0.5), ax.h,
                       RGB(250, 220, 120), alpha: 0.25)
        }
        let barW = max(1.5, min(8, ax.w / (hi - lo + 1) * 0.8))
        for (k, row) in rows.enumerated() {
            let y0 = ax.y + rowH * Double(k)
            if k > 0 { c.polyline([(ax.x, y0), (ax.x + ax.w, y0)], .lightGrey, width: 0.5) }
            c.text(row.label, ax.x - 6, y0 + rowH / 2, size: Page.font, h: .right, v: .center)
            let maxShare = Double(row.dist.counts.values.max() ?? 1) / Double(max(resamples, 1))
            let scale = (rowH - 14) / max(maxShare, 0.05)
            for (j, n) in row.dist.counts.sorted(by: { $0.key < $1.key }) {
                let share = Double(n) / Double(max(resamples, 1))
                let hgt = share * scale
                c.fillRect(ax.px(Double(j)) - barW / 2, y0 + rowH - 4 - hgt, barW, hgt, row.color, alpha: 0.75)
            }
            // 95% interval whisker and the all-clips answer.
            let wy = y0 + 5
            c.polyline([(ax.px(Double(row.dist.lower)), wy), (ax.px(Double(row.dist.upper)), wy)], .black, width: 0.8)
            for e in [row.dist.lower, row.dist.upper] { c.polyline([(ax.px(Double(e)), wy - 2), (ax.px(Double(e)), wy + 2)], .black, width: 0.8) }
            if let p = row.point {
                c.polyline([(ax.px(Double(p)), y0 + 2), (ax.px(Double(p)), y0 + rowH - 2)], .black, width: 1.2)
                let label = "\(p) (\(row.dist.lower)..\(row.dist.upper), \(Fmt.f(100 * row.dist.agreement, 0))% agree)"
                let tw = c.textWidth(label, size: Page.font - 0.5)
                // Beside the whisker, level with it (above every bar): right of its end unless that
                // leaves the plot, then left of its start.
                let right = ax.px(Double(row.dist.upper)) + 5, left = ax.px(Double(row.dist.lower)) - 5 - tw
                let x = right + tw <= ax.x + ax.w ? right : max(ax.x + 2, left)
                c.text(label, x, wy, size: Page.font - 0.5, v: .center, color: RGB(40, 40, 40))
            }
        }
        ax.frame(c)
        ax.stepAxis(c, steps: steps, tOf: tOf)
        return try c.png(name: "robustness.png")
    }
}
