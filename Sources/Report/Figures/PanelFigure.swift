/// Small multiples of step curves: per panel, one line per series with its CI band, dashed
/// horizontal reference lines (GT ceilings), the sync window shaded; t on the top axis.
struct PanelFigure {
    struct Point { var x: Double; var mean: Double; var lo: Double?; var hi: Double? }
    struct Series { var label: String; var color: RGB; var dash: [Double] = []; var points: [Point] }
    struct RefLine { var value: Double; var label: String; var color: RGB }
    struct Panel {
        var title: String
        var yTitle: String
        var series: [Series]
        var refLines: [RefLine] = []
        var marker: (x: Double, label: String)? = nil
    }

    var name: String
    var title: String
    var panels: [Panel]
    var columns: Int
    var steps: [Int]
    var tOf: (Int) -> Double?
    var window: ClosedRange<Int>?
    var legend: Legend
    var panelHeight = 120.0

    func render() throws(ReportError) -> [UInt8] {
        let rowsN = (panels.count + columns - 1) / columns
        let probe = Canvas(widthPt: 10, heightPt: 10)
        let legendRows = max(1, Int((legend.rowWidth(probe, size: Page.font) / (Page.fullWidth - 60)).rounded(.up)))
        let legendH = Double(legendRows) * (Page.font + 4) + 4
        let top = 18 + legendH + 20
        let cellW = Page.fullWidth / Double(columns)
        let height = top + Double(rowsN) * (panelHeight + 58) - 10
        let c = Canvas(widthPt: Page.fullWidth, heightPt: height)
        c.text(title, 8, 11, size: Page.titleFont, bold: true)
        legend.draw(c, x: 14, y: 22, maxWidth: Page.fullWidth - 28)
        let xs = steps.map(Double.init)
        let xPad = max(0.5, Double((steps.max() ?? 1) - (steps.min() ?? 0)) * 0.02)
        for (i, panel) in panels.enumerated() {
            let col = i % columns, row = i / columns
            let ax0 = Double(col) * cellW + 44, ay0 = top + Double(row) * (panelHeight + 58) + 10
            var all: [Double] = []
            for s in panel.series { for p in s.points { all.append(p.mean); if let lo = p.lo { all.append(lo) }; if let hi = p.hi { all.append(hi) } } }
            let (yLo, yHi) = Axes.range(all, include: panel.refLines.map(\.value))
            let ax = Axes(x: ax0, y: ay0, w: cellW - 56, h: panelHeight,
                          xMin: (xs.min() ?? 0) - xPad, xMax: (xs.max() ?? 1) + xPad, yMin: yLo, yMax: yHi)
            if let win = window {
                let x0 = ax.px(Double(win.lowerBound)), x1 = ax.px(Double(win.upperBound))
                c.fillRect(x0, ax.y, x1 - x0, ax.h, RGB(250, 220, 120), alpha: 0.35)
            }
            ax.yAxis(c, title: panel.yTitle)
            c.clip(ax.x, ax.y, ax.w, ax.h)
            for ref in panel.refLines {
                c.polyline([(ax.x, ax.py(ref.value)), (ax.x + ax.w, ax.py(ref.value))], ref.color, width: 0.9, dash: [3, 2])
            }
            for s in panel.series {
                let banded = s.points.filter { $0.lo != nil && $0.hi != nil }
                if banded.count >= 2 {
                    c.polygon(banded.map { (ax.px($0.x), ax.py($0.hi!)) } + banded.reversed().map { (ax.px($0.x), ax.py($0.lo!)) }, s.color, alpha: 0.18)
                }
                c.polyline(s.points.map { (ax.px($0.x), ax.py($0.mean)) }, s.color, width: 1.1, dash: s.dash)
                if s.points.count == 1 { c.circle(ax.px(s.points[0].x), ax.py(s.points[0].mean), 1.6, fill: s.color) }
            }
            if let m = panel.marker {
                c.polyline([(ax.px(m.x), ax.y), (ax.px(m.x), ax.y + ax.h)], .black, width: 0.7, dash: [1, 1.5])
            }
            c.unclip()
            for ref in panel.refLines {
                // Below the line when it runs along the top of the panel, above it otherwise.
                let yy = ax.py(ref.value)
                if yy - ax.y < 10 {
                    c.text(ref.label, ax.x + ax.w - 2, yy + 2, size: Page.font - 1, h: .right, v: .top, color: ref.color)
                } else {
                    c.text(ref.label, ax.x + ax.w - 2, yy - 2, size: Page.font - 1, h: .right, v: .bottom, color: ref.color)
                }
            }
            if let m = panel.marker {
                let tw = c.textWidth(m.label, size: Page.font - 1)
                c.fillRect(ax.px(m.x) + 1.5, ax.y + 1.5, tw + 3, Page.font + 1, .white, alpha: 0.85)
                c.text(m.label, ax.px(m.x) + 3, ax.y + 2.5, size: Page.font - 1, v: .top)
            }
            ax.frame(c)
            ax.stepAxis(c, steps: steps, tOf: tOf)
            c.text(panel.title, ax.x + ax.w / 2, ax.y - 13, size: Page.font + 0.5, h: .center, v: .bottom, bold: true)
        }
        return try c.png(name: name)
    }
}
