/// A grid of small images (spatial CFG maps) on one shared viridis scale with its colour bar.
///
/// Row and column labels may have a second line after "\n" (the landing step's mark, a clip's
/// Sync-C gain); the note, which says which subset is shown and why, wraps to the width.
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
        let left = 58.0, right = 64.0
        let colLines = colLabels.map { $0.split(separator: "\n").count }.max() ?? 1
        let top = 26.0 + Double(colLines) * (Page.font + 1.5)
        let side = min(72, (Page.fullWidth - left - right) / Double(cols) - 4)
        let width = left + Double(cols) * (side + 4) + right
        let probe = Canvas(widthPt: 10, heightPt: 10)
        let noteLines = note.map { Self.wrap($0, probe, size: Page.font - 1, width: width - 16) } ?? []
        let height = top + Double(rows) * (side + 4) + 8 + Double(noteLines.count) * (Page.font + 1)
        let c = Canvas(widthPt: width, heightPt: height)
        c.text(title, 8, 11, size: Page.titleFont, bold: true)
        let scale = ColorScale(map: .viridis, values: cells.flatMap { $0.values.map(Double.init) })
        for (k, l) in colLabels.enumerated() {
            let lines = l.split(separator: "\n").map(String.init)
            for (n, line) in lines.enumerated() {
                let y = top - 4 - Double(lines.count - 1 - n) * (Page.font + 1.5)
                c.text(line, left + Double(k) * (side + 4) + side / 2, y, size: n == 0 ? Page.font : Page.font - 1, h: .center, v: .bottom,
                       color: n == 0 ? .black : RGB(70, 70, 70))
            }
        }
        for (r, l) in rowLabels.enumerated() {
            let lines = l.split(separator: "\n").map(String.init)
            let yc = top + Double(r) * (side + 4) + side / 2
            for (n, line) in lines.enumerated() {
                let y = yc + (Double(n) - Double(lines.count - 1) / 2) * (Page.font + 2)
                c.text(line, left - 5, y, size: Page.font, h: .right, v: .center, bold: n > 0)
            }
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
        for (n, line) in noteLines.enumerated() {
            c.text(line, 8, top + Double(rows) * (side + 4) + 8 + Double(n) * (Page.font + 1), size: Page.font - 1, color: RGB(70, 70, 70))
        }
        return try c.png(name: name)
    }

    /// Greedy word wrap to `width` points.
    static func wrap(_ text: String, _ c: Canvas, size: Double, width: Double) -> [String] {
        var lines: [String] = [], line = ""
        for word in text.split(separator: " ") {
            let candidate = line.isEmpty ? String(word) : line + " " + word
            if !line.isEmpty && c.textWidth(candidate, size: size) > width { lines.append(line); line = String(word) } else { line = candidate }
        }
        if !line.isEmpty { lines.append(line) }
        return lines
    }
}

/// Per-clip sync-over-time strips: one row per clip, time on x, the per-window Sync-C difference
/// CFG − no-CFG as colour on a diverging scale centred on 0, the clip's mean on the right.
struct StripFigure {
    struct Strip { var label: String; var times: [Double]; var values: [Double] }
    var name: String
    var title: String
    var strips: [Strip]
    var unit: String

    /// Diverging, centred on 0, saturating at the 98th percentile of |difference|: per-window
    /// sync is noisy, and a few extreme windows would otherwise wash every strip out to white.
    var scale: ColorScale {
        let mags = strips.flatMap(\.values).filter(\.isFinite).map(abs).sorted()
        guard !mags.isEmpty else { return ColorScale(map: .diverging, lo: -1, hi: 1) }
        let m = mags[min(mags.count - 1, Int((0.98 * Double(mags.count - 1)).rounded()))]
        return ColorScale(map: .diverging, lo: -(m > 0 ? m : 1), hi: m > 0 ? m : 1)
    }

    func render() throws(ReportError) -> [UInt8] {
        let probe = Canvas(widthPt: 10, heightPt: 10)
        let left = 10 + (strips.map { probe.textWidth($0.label, size: Page.font) }.max() ?? 40) + 6
        let right = 100.0, top = 30.0, rowH = 11.0
        // Tall enough for the colour bar's two-line unit even with a few strips.
        let height = max(top + Double(strips.count) * rowH + 30, 150)
        let c = Canvas(widthPt: Page.fullWidth, heightPt: height)
        c.text(title, 8, 11, size: Page.titleFont, bold: true)
        let tMax = strips.compactMap { $0.times.last }.max() ?? 1
        let dt = strips.compactMap { s in s.times.count > 1 ? s.times[1] - s.times[0] : nil }.min() ?? tMax
        let ax = Axes(x: left, y: top, w: Page.fullWidth - left - right, h: Double(strips.count) * rowH,
                      xMin: 0, xMax: tMax + dt / 2, yMin: 0, yMax: 1)
        let sc = scale
        c.text("mean", ax.x + ax.w + 24, top - 3, size: Page.font - 0.5, h: .right, v: .bottom, color: RGB(60, 60, 60))
        for (r, s) in strips.enumerated() {
            let y = top + Double(r) * rowH
            for (k, t) in s.times.enumerated() {
                let x0 = ax.px(max(0, t - dt / 2)), x1 = ax.px(t + dt / 2)
                c.fillCell(x0, y + 0.5, x1 - x0, rowH - 1, sc.color(s.values[k]))
            }
            c.text(s.label, left - 4, y + rowH / 2, size: Page.font, h: .right, v: .center)
            let finite = s.values.filter(\.isFinite)
            let mean = finite.isEmpty ? Double.nan : finite.reduce(0, +) / Double(finite.count)
            c.text((mean >= 0 ? "+" : "") + Fmt.f(mean, 3), ax.x + ax.w + 24, y + rowH / 2, size: Page.font - 0.5, h: .right, v: .center)
        }
        let ticks = Axes.ticks(0, tMax)
        let step = ticks.count > 1 ? ticks[1] - ticks[0] : 1
        for t in ticks where t <= ax.xMax {
            c.polyline([(ax.px(t), ax.y + ax.h), (ax.px(t), ax.y + ax.h + 2.5)], .black, width: 0.6)
            c.text(Axes.tickLabel(t, step: step), ax.px(t), ax.y + ax.h + 4, size: Page.font, h: .center, v: .top)
        }
        c.text("time in clip (s)", ax.x + ax.w / 2, ax.y + ax.h + 15, size: Page.font + 0.5, h: .center, v: .top)
        ColorBar(scale: sc, label: unit).draw(c, x: ax.x + ax.w + 32, y: ax.y, h: max(ax.h, 100))
        return try c.png(name: name)
    }
}
