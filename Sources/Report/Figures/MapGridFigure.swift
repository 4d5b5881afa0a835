/// A grid of small images (spatial CFG maps) on one shared viridis scale with its colour bar.
struct MapGridFigure {
    struct Cell { var row: Int; var col: Int; var width: Int; var height: Int; var values: [Float] }
    var name: String
    var title: String
    var rowLabels: [String]
    var colLabels: [String]
    var cells: [Cell]
    var unit: String
    var note: String?

    func render() throws(ReportError) -> [UInt8] {
        let cols = colLabels.count, rows = rowLabels.count
        let left = 58.0, right = 64.0, top = 34.0
        let side = min(72, (Page.fullWidth - left - right) / Double(cols) - 4)
        let width = left + Double(cols) * (side + 4) + right
        let height = top + Double(rows) * (side + 4) + (note == nil ? 8 : 20)
        let c = Canvas(widthPt: width, heightPt: height)
        c.text(title, 8, 11, size: Page.titleFont, bold: true)
        let scale = ColorScale(map: .viridis, values: cells.flatMap { $0.values.map(Double.init) })
        for (k, l) in colLabels.enumerated() {
            c.text(l, left + Double(k) * (side + 4) + side / 2, top - 4, size: Page.font, h: .center, v: .bottom)
        }
        for (r, l) in rowLabels.enumerated() {
            c.text(l, left - 5, top + Double(r) * (side + 4) + side / 2, size: Page.font, h: .right, v: .center)
        }
        for cell in cells {
            var rgb = [UInt8](repeating: 0, count: cell.width * cell.height * 3)
            for i in 0..<(cell.width * cell.height) {
                let col = scale.color(Double(cell.values[i]))
                rgb[3 * i] = col.r; rgb[3 * i + 1] = col.g; rgb[3 * i + 2] = col.b
            }
            let x = left + Double(cell.col) * (side + 4), y = top + Double(cell.row) * (side + 4)
            c.image(rgb: rgb, width: cell.width, height: cell.height, x: x, y: y, w: side, h: side)
            c.strokeRect(x, y, side, side, .black, width: 0.4)
        }
        ColorBar(scale: scale, label: unit).draw(c, x: left + Double(cols) * (side + 4) + 6, y: top, h: Double(rows) * (side + 4) - 4)
        if let note { c.text(note, 8, height - 6, size: Page.font - 1, color: RGB(70, 70, 70)) }
        return try c.png(name: name)
    }
}

/// Per-clip sync-over-time strips: one row per (clip, arm), time on x, per-window Sync-C as colour.
struct StripFigure {
    struct Strip { var label: String; var times: [Double]; var values: [Double] }
    var name: String
    var title: String
    var strips: [Strip]
    var unit: String

    func render() throws(ReportError) -> [UInt8] {
        let probe = Canvas(widthPt: 10, heightPt: 10)
        let left = 10 + (strips.map { probe.textWidth($0.label, size: Page.font) }.max() ?? 40) + 6
        let right = 64.0, top = 24.0, rowH = 11.0
        let height = top + Double(strips.count) * rowH + 30
        let c = Canvas(widthPt: Page.fullWidth, heightPt: height)
        c.text(title, 8, 11, size: Page.titleFont, bold: true)
        let tMax = strips.compactMap { $0.times.last }.max() ?? 1
        let dt = strips.compactMap { s in s.times.count > 1 ? s.times[1] - s.times[0] : nil }.min() ?? tMax
        let ax = Axes(x: left, y: top, w: Page.fullWidth - left - right, h: Double(strips.count) * rowH,
                      xMin: 0, xMax: tMax + dt / 2, yMin: 0, yMax: 1)
        let scale = ColorScale(map: .viridis, values: strips.flatMap(\.values))
        for (r, s) in strips.enumerated() {
            let y = top + Double(r) * rowH
            for (k, t) in s.times.enumerated() {
                let x0 = ax.px(max(0, t - dt / 2)), x1 = ax.px(t + dt / 2)
                c.fillCell(x0, y + 0.5, x1 - x0, rowH - 1, scale.color(s.values[k]))
            }
            c.text(s.label, left - 4, y + rowH / 2, size: Page.font, h: .right, v: .center)
        }
        let ticks = Axes.ticks(0, tMax)
        let step = ticks.count > 1 ? ticks[1] - ticks[0] : 1
        for t in ticks where t <= ax.xMax {
            c.polyline([(ax.px(t), ax.y + ax.h), (ax.px(t), ax.y + ax.h + 2.5)], .black, width: 0.6)
            c.text(Axes.tickLabel(t, step: step), ax.px(t), ax.y + ax.h + 4, size: Page.font, h: .center, v: .top)
        }
        c.text("time in clip (s)", ax.x + ax.w / 2, ax.y + ax.h + 15, size: Page.font + 0.5, h: .center, v: .top)
        ColorBar(scale: scale, label: unit).draw(c, x: ax.x + ax.w + 8, y: ax.y, h: max(ax.h, 40))
        return try c.png(name: name)
    }
}
