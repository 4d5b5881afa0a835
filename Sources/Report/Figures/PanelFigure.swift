/// Small multiples of step curves: per panel, one line per series with its CI band, dashed
/// horizontal reference lines (GT ceilings), the sync window shaded, the landing step dotted;
/// x linear in the step index with t on the top axis.
///
/// CI bands are a light fill between thin outlines, so two bands that overlap stay two bands;
/// probed steps carry markers (open for no-CFG, filled for CFG) when there are few enough to
/// tell apart. In a grid (`sharedX`), t labels sit on the top row and step labels on the bottom
/// row only, and `shareRowY` gives every panel of a row one y range, so columns compare directly.
struct PanelFigure {
    // MARK: - Data

    struct Point { var x: Double; var mean: Double; var lo: Double?; var hi: Double? }
    struct Series {
        var label: String; var color: RGB; var dash: [Double] = []; var points: [Point]
        /// Marker at each point: nil = none, false = open, true = filled.
        var filledMarkers: Bool? = nil
    }
    struct RefLine { var value: Double; var label: String; var color: RGB }
    struct Panel {
        var title: String
        var yTitle: String
        var series: [Series]
        var refLines: [RefLine] = []
        var marker: (x: Double, label: String)? = nil
    }

    static let bandAlpha = 0.12, bandEdgeAlpha = 0.55
    /// Above this many probed steps the markers would merge into the line: none are drawn.
    static let maxMarkedSteps = 26

    // MARK: - Layout

    var name: String
    var title: String
    var panels: [Panel]
    var columns: Int
    var steps: [Int]
    var tOf: (Int) -> Double?
    var window: ClosedRange<Int>?
    var legend: Legend
    var panelHeight = 120.0
    /// Titles above the columns of the top row (a grid's column variable, e.g. the arm family).
    var columnTitles: [String] = []
    /// The two-step landing step: a dotted vertical line in every panel.
    var landing: Int? = nil
    var shareRowY = false
    var sharedX = false

    // MARK: - Rendering

    func render() throws(ReportError) -> [UInt8] {
        let rowsN = (panels.count + columns - 1) / columns
        let probe = Canvas(widthPt: 10, heightPt: 10)
        let legendRows = max(1, Int((legend.rowWidth(probe, size: Page.font) / (Page.fullWidth - 60)).rounded(.up)))
        let legendH = Double(legendRows) * (Page.font + 4) + 4
        let headH = columnTitles.isEmpty ? 0.0 : 12
        let top = 18 + legendH + 20 + headH
        let cellW = Page.fullWidth / Double(columns)
        // A panel's frame, its title and t labels above, step labels and the axis title below;
        // a shared-x grid keeps the outer ones only.
        let above = 23.0, below = 24.0
        func rowTop(_ r: Int) -> Double {
            sharedX ? top + Double(r) * (panelHeight + 16) : top + Double(r) * (panelHeight + above + below + 11)
        }
        let height = sharedX ? rowTop(rowsN) + below + 6 : rowTop(rowsN) - 10
        let c = Canvas(widthPt: Page.fullWidth, heightPt: height)
        c.text(title, 8, 11, size: Page.titleFont, bold: true)
        legend.draw(c, x: 14, y: 22, maxWidth: Page.fullWidth - 28)
        let xs = steps.map(Double.init)
        let xPad = max(0.5, Double((steps.max() ?? 1) - (steps.min() ?? 0)) * 0.02)
        let marked = steps.count <= Self.maxMarkedSteps
        func values(_ p: Panel) -> [Double] {
            p.series.flatMap { s in s.points.flatMap { [$0.mean] + [$0.lo, $0.hi].compactMap { $0 } } }
        }
        for (i, panel) in panels.enumerated() {
            let col = i % columns, row = i / columns
            let ax0 = Double(col) * cellW + 44, ay0 = rowTop(row) + 10
            let rowPanels = shareRowY ? Array(panels[(row * columns)..<min(panels.count, row * columns + columns)]) : [panel]
            let (yLo, yHi) = Axes.range(rowPanels.flatMap(values), include: rowPanels.flatMap { $0.refLines.map(\.value) })
            let ax = Axes(x: ax0, y: ay0, w: cellW - 56, h: panelHeight,
                          xMin: (xs.min() ?? 0) - xPad, xMax: (xs.max() ?? 1) + xPad, yMin: yLo, yMax: yHi)
            if row == 0, col < columnTitles.count {
                Self.fitted(c, columnTitles[col], x: Double(col) * cellW + cellW / 2 + 6, y: top - 17, width: cellW - 16,
                            size: Page.font + 1.5, bold: true)
            }
            if let win = window {
                let x0 = ax.px(Double(win.lowerBound)), x1 = ax.px(Double(win.upperBound))
                c.fillRect(x0, ax.y, x1 - x0, ax.h, .window, alpha: 0.35)
            }
            ax.yAxis(c, title: panel.yTitle)
            var placer = LabelPlacer(bounds: LabelBox(x: ax.x + 1, y: ax.y + 1, w: ax.w - 2, h: ax.h - 2))
            c.clip(ax.x, ax.y, ax.w, ax.h)
            for ref in panel.refLines {
                c.polyline([(ax.x, ax.py(ref.value)), (ax.x + ax.w, ax.py(ref.value))], ref.color, width: 0.9, dash: [3, 2])
            }
            for s in panel.series {
                let banded = s.points.filter { $0.lo != nil && $0.hi != nil }
                if banded.count >= 2 {
                    let upper = banded.map { (ax.px($0.x), ax.py($0.hi!)) }, lower = banded.map { (ax.px($0.x), ax.py($0.lo!)) }
                    c.polygon(upper + lower.reversed(), s.color, alpha: Self.bandAlpha)
                    c.polyline(upper, s.color, width: 0.5, alpha: Self.bandEdgeAlpha)
                    c.polyline(lower, s.color, width: 0.5, alpha: Self.bandEdgeAlpha)
                    placer.block(polyline: upper, width: 0.5)
                    placer.block(polyline: lower, width: 0.5)
                }
            }
            for s in panel.series {
                let line = s.points.map { (ax.px($0.x), ax.py($0.mean)) }
                c.polyline(line, s.color, width: 1.2, dash: s.dash)
                placer.block(polyline: line, width: 1.2)
                if let filled = s.filledMarkers, marked || s.points.count == 1 {
                    for p in line {
                        c.circle(p.0, p.1, 1.5, fill: filled ? s.color : .white, stroke: s.color, width: 0.7)
                        placer.block(LabelBox(x: p.0 - 2, y: p.1 - 2, w: 4, h: 4))
                    }
                } else if s.points.count == 1 {
                    c.circle(line[0].0, line[0].1, 1.6, fill: s.color)
                }
            }
            var verticals: [(x: Double, label: String)] = []
            if let j = landing { verticals.append((Double(j), "")) }
            if let m = panel.marker { verticals.append(m) }
            for v in verticals {
                let xx = ax.px(v.x)
                c.polyline([(xx, ax.y), (xx, ax.y + ax.h)], .black, width: 0.7, dash: [1, 1.5])
                placer.block(LabelBox(x: xx - 0.6, y: ax.y, w: 1.2, h: ax.h))
            }
            c.unclip()
            // Labels only where they hide no data; one that finds no free spot is left out (the
            // legend still names the line).
            let size = Page.font - 1, th = size * 0.9
            for ref in panel.refLines {
                let tw = c.textWidth(ref.label, size: size), yy = ax.py(ref.value)
                let spots = [ax.x + ax.w - 3 - tw, ax.x + 3, ax.x + (ax.w - tw) / 2].flatMap { x in
                    [LabelBox(x: x, y: yy - 2 - th, w: tw, h: th), LabelBox(x: x, y: yy + 2, w: tw, h: th)]
                }
                if let b = placer.place(spots) { c.text(ref.label, b.x, b.y + th, size: size, color: ref.color) }
            }
            for v in verticals where !v.label.isEmpty {
                let tw = c.textWidth(v.label, size: size), xx = ax.px(v.x)
                let spots = [ax.y + 2, ax.y + ax.h - 2 - th].flatMap { y in
                    [LabelBox(x: xx + 2, y: y, w: tw, h: th), LabelBox(x: xx - 2 - tw, y: y, w: tw, h: th)]
                }
                if let b = placer.place(spots) { c.text(v.label, b.x, b.y + th, size: size) }
            }
            ax.frame(c)
            let lastRow = !sharedX || row == rowsN - 1 || i + columns >= panels.count
            ax.stepAxis(c, steps: steps, tOf: tOf, tAxis: !sharedX || row == 0, stepLabels: lastRow)
            // Centred over the axes, which sit right of the cell's centre: the title may use
            // twice the distance to the nearer cell edge.
            let xc = ax.x + ax.w / 2, room = 2 * min(xc - Double(col) * cellW, Double(col + 1) * cellW - xc) - 4
            Self.fitted(c, panel.title, x: xc, y: ax.y - (!sharedX || row == 0 ? 13 : 3), width: room,
                        size: Page.font + 0.5, bold: true)
        }
        return try c.png(name: name)
    }

    /// Centred text at (x, y) (bottom), shrunk down to 5.5 pt to fit `width`, then cut with "…".
    static func fitted(_ c: Canvas, _ text: String, x: Double, y: Double, width: Double, size: Double, bold: Bool) {
        var s = size
        while s > 5.5 && c.textWidth(text, size: s, bold: bold) > width { s -= 0.25 }
        var t = text
        while t.count > 1 && c.textWidth(t, size: s, bold: bold) > width { t = String(t.dropLast(2)) + "…" }
        c.text(t, x, y, size: s, h: .center, v: .bottom, bold: bold)
    }
}
