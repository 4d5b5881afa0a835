/// A heatmap over steps (columns) × rows (guidance scales or clips), cells in exact colour-map
/// colours, the window outlined, the landing step marked, t on the top axis and a colour bar
/// with units.
///
/// Columns are drawn to scale in the step index, as the curves are: a probed step's cell reaches
/// halfway to its neighbours (half a step past the first and last), so a study probed at
/// 0, 8, 16, 20, … shows its sparse start as wide cells instead of pretending the steps are evenly
/// spaced, and a heatmap lines up with the curve figures' x axes.
struct HeatmapFigure {
    var name: String
    var title: String
    var rowTitle: String
    var rows: [String]
    var steps: [Int]
    /// Row-major rows × steps; NaN = not measured (grey).
    var values: [Double]
    var map: ColorMap
    var unit: String
    var window: ClosedRange<Int>?
    var tOf: (Int) -> Double?
    /// The two-step landing step: its column outlined (dotted) and marked above the grid.
    var landing: Int? = nil

    struct Layout {
        var left: Double, top: Double, width: Double, height: Double, cellH: Double
        /// x of the column edges (steps.count + 1 values, increasing).
        var edges: [Double]
        var gridW: Double { edges.last! - edges.first! }
    }

    func layout(_ c: Canvas? = nil) -> Layout {
        let probe = c ?? Canvas(widthPt: 10, heightPt: 10)
        let labelW = rows.map { probe.textWidth($0, size: Page.font) }.max() ?? 20
        let left = 14 + labelW + 6
        let right = 74.0
        let cellH = max(9, min(16, 200 / Double(max(rows.count, 1))), 64 / Double(max(rows.count, 1)))
        let top = 48.0
        let gridW = Page.fullWidth - left - right
        let sorted = steps
        var bounds: [Double] = []
        if let first = sorted.first, let last = sorted.last {
            bounds.append(Double(first) - 0.5)
            for (a, b) in zip(sorted, sorted.dropFirst()) { bounds.append(Double(a + b) / 2) }
            bounds.append(Double(last) + 0.5)
        }
        let lo = bounds.first ?? 0, hi = bounds.last ?? 1
        let edges = bounds.map { left + ($0 - lo) / max(hi - lo, 1e-9) * gridW }
        return Layout(left: left, top: top, width: Page.fullWidth, height: top + cellH * Double(rows.count) + 34, cellH: cellH,
                      edges: edges.isEmpty ? [left, left + gridW] : edges)
    }

    /// Pixel rectangle (x, y, w, h) of a cell, for tests that sample planted colours.
    func cellPixels(row: Int, column: Int, dpi: Double = 200) -> (x: Int, y: Int, w: Int, h: Int) {
        let l = layout(), s = dpi / 72
        let x0 = l.edges[column], x1 = l.edges[column + 1]
        return (Int((x0 * s).rounded(.up)), Int((l.top + Double(row) * l.cellH) * s), Int(((x1 - x0) * s).rounded(.down)) - 1, Int(l.cellH * s))
    }

    var scale: ColorScale { ColorScale(map: map, values: values) }

    func render() throws(ReportError) -> [UInt8] {
        let probe = layout()
        let c = Canvas(widthPt: probe.width, heightPt: probe.height)
        let l = layout(c)
        let sc = scale
        c.text(title, l.left, 11, size: Page.titleFont, bold: true)
        for (r, label) in rows.enumerated() {
            for k in steps.indices {
                let v = values[r * steps.count + k]
                c.fillCell(l.edges[k], l.top + Double(r) * l.cellH, l.edges[k + 1] - l.edges[k], l.cellH, sc.color(v))
            }
            c.text(label, l.left - 4, l.top + (Double(r) + 0.5) * l.cellH, size: Page.font, h: .right, v: .center)
        }
        let gridH = l.cellH * Double(rows.count)
        let gridX1 = l.edges.last!
        c.strokeRect(l.left, l.top, l.gridW, gridH, .black, width: 0.5)
        c.text(rowTitle, 8, l.top + gridH / 2, size: Page.font + 0.5, h: .center, v: .center, rotated: true)
        // The step axis maps steps to the same x as the cell edges (linear in j).
        let lo = Double(steps.first ?? 0) - 0.5, hi = Double(steps.last ?? 1) + 0.5
        let axes = Axes(x: l.left, y: l.top, w: l.gridW, h: gridH, xMin: lo, xMax: hi, yMin: 0, yMax: 1)
        axes.stepAxis(c, steps: steps, tOf: tOf, titleText: "ODE step j (columns to scale; t on top)")
        // Annotations above the t labels: the window's name over its outline, the landing
        // marker over its column; the second moves up a line when the two would touch.
        var placer = LabelPlacer(bounds: LabelBox(x: 0, y: 14, w: l.width, h: l.top - 24))
        let size = Page.font - 0.5, th = size * 0.9
        var windowSpan: (Double, Double)?
        if let win = window, let a = steps.firstIndex(where: { $0 >= win.lowerBound }),
           let b = steps.lastIndex(where: { $0 <= win.upperBound }), a <= b {
            windowSpan = (l.edges[a], l.edges[b + 1])
        }
        if let j = landing, let k = steps.firstIndex(of: j) {
            let x0 = l.edges[k], x1 = l.edges[k + 1], xc = (x0 + x1) / 2
            c.strokeRect(x0 + 0.4, l.top + 0.4, x1 - x0 - 0.8, gridH - 0.8, .black, width: 0.8, dash: [1, 1.2])
            let label = "landing j=\(j)", tw = c.textWidth(label, size: size) + 8
            let rows = [l.top - 14 - th, l.top - 23 - th]
            let spots = rows.flatMap { y in
                [LabelBox(x: xc - 3, y: y, w: tw, h: th), LabelBox(x: xc + 3 - tw, y: y, w: tw, h: th)]
            }
            if let bx = placer.place(spots.filter { $0.x >= 0 && $0.x + $0.w <= l.width }) {
                let right = bx.x > xc - 4
                let tip = right ? bx.x + 3 : bx.x + bx.w - 3
                c.polygon([(tip - 2.6, bx.y + 0.5), (tip + 2.6, bx.y + 0.5), (tip, bx.y + th)], .black, alpha: 1)
                c.text("landing j=\(j)", right ? bx.x + 8 : bx.x, bx.y + th, size: size, bold: true)
            }
        }
        if let (x0, x1) = windowSpan {
            c.strokeRect(x0, l.top - 0.8, x1 - x0, gridH + 1.6, .black, width: 1.6)
            c.strokeRect(x0, l.top - 0.8, x1 - x0, gridH + 1.6, .white, width: 0.7, dash: [2, 2])
            let label = "sync window", tw = c.textWidth(label, size: size, bold: true)
            let xc = (x0 + x1) / 2
            let spots = [l.top - 14 - th, l.top - 23 - th].flatMap { y in
                [LabelBox(x: xc - tw / 2, y: y, w: tw, h: th), LabelBox(x: x1 - tw, y: y, w: tw, h: th), LabelBox(x: x0, y: y, w: tw, h: th)]
            }
            if let bx = placer.place(spots) { c.text(label, bx.x, bx.y + th, size: size, bold: true) }
        }
        ColorBar(scale: sc, label: unit).draw(c, x: gridX1 + 12, y: l.top, h: gridH)
        return try c.png(name: name)
    }
}
