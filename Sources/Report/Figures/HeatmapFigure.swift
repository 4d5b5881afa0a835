/// A heatmap over steps (columns) × rows (guidance scales or clips), cells in exact colour-map
/// colours, the window outlined, t on the top axis and a colour bar with units.
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

    struct Layout { var left: Double, top: Double, cellW: Double, cellH: Double, width: Double, height: Double }

    func layout(_ c: Canvas? = nil) -> Layout {
        let probe = c ?? Canvas(widthPt: 10, heightPt: 10)
        let labelW = rows.map { probe.textWidth($0, size: Page.font) }.max() ?? 20
        let left = 14 + labelW + 6
        let right = 74.0
        let cellW = (Page.fullWidth - left - right) / Double(steps.count)
        let cellH = max(9, min(16, 200 / Double(max(rows.count, 1))), 64 / Double(max(rows.count, 1)))
        let top = 40.0
        return Layout(left: left, top: top, cellW: cellW, cellH: cellH, width: Page.fullWidth,
                      height: top + cellH * Double(rows.count) + 34)
    }

    /// Pixel rectangle (x, y, w, h) of a cell, for tests that sample planted colours.
    func cellPixels(row: Int, column: Int, dpi: Double = 200) -> (x: Int, y: Int, w: Int, h: Int) {
        let l = layout(), s = dpi / 72
        return (Int((l.left + Double(column) * l.cellW) * s), Int((l.top + Double(row) * l.cellH) * s), Int(l.cellW * s), Int(l.cellH * s))
    }

    var scale: ColorScale { ColorScale(map: map, values: values) }

    func render() throws(ReportError) -> [UInt8] {
        let probe = layout()
        let c = Canvas(widthPt: probe.width, heightPt: probe.height)
        let l = layout(c)
        let sc = scale
        c.text(title, l.left, 11, size: Page.titleFont, bold: true)
        for (r, label) in rows.enumerated() {
            for (k, _) in steps.enumerated() {
                let v = values[r * steps.count + k]
                c.fillCell(l.left + Double(k) * l.cellW, l.top + Double(r) * l.cellH, l.cellW, l.cellH, sc.color(v))
            }
            c.text(label, l.left - 4, l.top + (Double(r) + 0.5) * l.cellH, size: Page.font, h: .right, v: .center)
        }
        let gridH = l.cellH * Double(rows.count)
        c.strokeRect(l.left, l.top, l.cellW * Double(steps.count), gridH, .black, width: 0.5)
        c.text(rowTitle, 8, l.top + gridH / 2, size: Page.font + 0.5, h: .center, v: .center, rotated: true)
        // Column axis: step numbers below, t above, at cell centres.
        let axes = Axes(x: l.left + l.cellW / 2, y: l.top, w: l.cellW * Double(steps.count - 1), h: gridH,
                        xMin: 0, xMax: Double(max(steps.count - 1, 1)), yMin: 0, yMax: 1)
        let every = steps.count <= 12 ? 1 : (steps.count <= 30 ? 5 : 10)
        for (k, j) in steps.enumerated() where j % every == 0 || steps.count <= 12 {
            let xx = steps.count == 1 ? l.left + l.cellW / 2 : axes.px(Double(k))
            c.polyline([(xx, l.top + gridH), (xx, l.top + gridH + 2.5)], .black, width: 0.6)
            c.text("\(j)", xx, l.top + gridH + 4, size: Page.font, h: .center, v: .top)
            if let t = tOf(j) {
                c.polyline([(xx, l.top), (xx, l.top - 2.5)], .black, width: 0.6)
                c.text(Axes.tLabel(t), xx, l.top - 4, size: Page.font - 0.5, h: .center, v: .bottom, color: RGB(60, 60, 60))
            }
        }
        c.text("ODE step j", l.left + l.cellW * Double(steps.count) / 2, l.top + gridH + 14, size: Page.font + 0.5, h: .center, v: .top)
        c.text("t", l.left + l.cellW * Double(steps.count) + 3, l.top - 4, size: Page.font, v: .bottom, color: RGB(60, 60, 60))
        if let win = window, let a = steps.firstIndex(where: { $0 >= win.lowerBound }),
           let b = steps.lastIndex(where: { $0 <= win.upperBound }), a <= b {
            let x0 = l.left + Double(a) * l.cellW, x1 = l.left + Double(b + 1) * l.cellW
            c.strokeRect(x0, l.top - 0.8, x1 - x0, gridH + 1.6, .black, width: 1.6)
            c.strokeRect(x0, l.top - 0.8, x1 - x0, gridH + 1.6, .white, width: 0.7, dash: [2, 2])
            c.text("sync window", (x0 + x1) / 2, l.top - 13, size: Page.font - 0.5, h: .center, v: .bottom, bold: true)
        }
        ColorBar(scale: sc, label: unit).draw(c, x: l.left + l.cellW * Double(steps.count) + 12, y: l.top, h: gridH)
        return try c.png(name: name)
    }
}
