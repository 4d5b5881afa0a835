/// Fidelity cost (x) against Sync-C gain (y), one point per item with CI whiskers; points in
/// `highlight` outlined; an optional vertical tolerance line and a colour bar for the point colour.
struct ScatterFigure {
    struct Point {
        var x: Double, y: Double
        var xLo: Double?, xHi: Double?, yLo: Double?, yHi: Double?
        var colorValue: Double
        var label: String?
        var highlight: Bool
    }

    var name: String
    var title: String
    var xTitle: String
    var yTitle: String
    var points: [Point]
    var colorLabel: String
    var tolerance: Double?
    var connect: [Int] = []
    var circled: Int?
    var note: String?

    func render() throws(ReportError) -> [UInt8] {
        let width = 340.0, height = 260.0
        let c = Canvas(widthPt: width, heightPt: height)
        c.text(title, 8, 11, size: Page.titleFont, bold: true)
        var xv: [Double] = [], yv: [Double] = []
        for p in points {
            xv += [p.x, p.xLo ?? p.x, p.xHi ?? p.x]; yv += [p.y, p.yLo ?? p.y, p.yHi ?? p.y]
        }
        let (x0, x1) = Axes.range(xv, pad: 0.08, include: (tolerance.map { [$0] } ?? []) + [0])
        let (y0, y1) = Axes.range(yv, pad: 0.08, include: [0])
        let ax = Axes(x: 50, y: 26, w: width - 50 - 78, h: height - 26 - 44, xMin: x0, xMax: x1, yMin: y0, yMax: y1)
        ax.yAxis(c, title: yTitle)
        let xt = Axes.ticks(x0, x1)
        let xStep = xt.count > 1 ? xt[1] - xt[0] : 1
        for t in xt where t >= x0 && t <= x1 {
            c.polyline([(ax.px(t), ax.y), (ax.px(t), ax.y + ax.h)], .lightGrey, width: 0.4)
            c.polyline([(ax.px(t), ax.y + ax.h), (ax.px(t), ax.y + ax.h + 2.5)], .black, width: 0.6)
            c.text(Axes.tickLabel(t, step: xStep), ax.px(t), ax.y + ax.h + 4, size: Page.font, h: .center, v: .top)
        }
        c.text(xTitle, ax.x + ax.w / 2, ax.y + ax.h + 16, size: Page.font + 0.5, h: .center, v: .top)
        c.clip(ax.x, ax.y, ax.w, ax.h)
        c.polyline([(ax.x, ax.py(0)), (ax.x + ax.w, ax.py(0))], .grey, width: 0.6)
        if let tol = tolerance {
            c.fillRect(ax.px(tol), ax.y, ax.x + ax.w - ax.px(tol), ax.h, RGB(200, 200, 200), alpha: 0.25)
            c.polyline([(ax.px(tol), ax.y), (ax.px(tol), ax.y + ax.h)], RGB(90, 90, 90), width: 0.8, dash: [3, 2])
        }
        let vals = points.map(\.colorValue)
        let scale = ColorScale(map: .viridis, values: vals)
        if connect.count >= 2 {
            c.polyline(connect.map { (ax.px(points[$0].x), ax.py(points[$0].y)) }, .black, width: 0.7, dash: [2, 1.5])
        }
        for p in points {
            let col = scale.color(p.colorValue)
            if let lo = p.xLo, let hi = p.xHi { c.polyline([(ax.px(lo), ax.py(p.y)), (ax.px(hi), ax.py(p.y))], col, width: 0.6) }
            if let lo = p.yLo, let hi = p.yHi { c.polyline([(ax.px(p.x), ax.py(lo)), (ax.px(p.x), ax.py(hi))], col, width: 0.6) }
        }
        for p in points {
            c.circle(ax.px(p.x), ax.py(p.y), p.highlight ? 2.6 : 1.9, fill: scale.color(p.colorValue),
                     stroke: p.highlight ? .black : nil, width: 0.7)
        }
        if let k = circled { c.circle(ax.px(points[k].x), ax.py(points[k].y), 5, fill: .white, stroke: .black, width: 0.9)
            c.circle(ax.px(points[k].x), ax.py(points[k].y), 2.6, fill: scale.color(points[k].colorValue), stroke: .black, width: 0.7) }
        c.unclip()
        // Labels: the first of eight spots around the point that overlaps no point and no
        // earlier label (greedy; falls back to upper right).
        let size = Page.font - 1
        var taken: [(Double, Double, Double, Double)] = points.indices.map { k in
            let r = k == circled ? 5.5 : 3.0
            return (ax.px(points[k].x) - r, ax.py(points[k].y) - r, 2 * r, 2 * r)
        }
        func overlaps(_ r: (Double, Double, Double, Double)) -> Bool {
            r.0 < ax.x || r.0 + r.2 > ax.x + ax.w || r.1 < ax.y || r.1 + r.3 > ax.y + ax.h ||
                taken.contains { r.0 < $0.0 + $0.2 && $0.0 < r.0 + r.2 && r.1 < $0.1 + $0.3 && $0.1 < r.1 + r.3 }
        }
        for p in points {
            guard let l = p.label else { continue }
            let tw = c.textWidth(l, size: size), th = size * 0.9
            let px = ax.px(p.x), py = ax.py(p.y)
            let d = (points.firstIndex { $0.label == l && $0.x == p.x && $0.y == p.y } == circled) ? 6.0 : 4.5
            let spots: [(Double, Double)] = [(px + d, py - 3 - th), (px + d, py + 3), (px - d - tw, py - 3 - th), (px - d - tw, py + 3),
                                             (px - tw / 2, py - 5 - th), (px - tw / 2, py + 5), (px + 5, py - th / 2), (px - 5 - tw, py - th / 2)]
            let spot = spots.first { !overlaps(($0.0, $0.1, tw, th)) } ?? spots[0]
            taken.append((spot.0, spot.1, tw, th))
            c.text(l, spot.0, spot.1 + th, size: size, v: .baseline)
        }
        if let tol = tolerance, ax.px(tol) < ax.x + ax.w - 4 {
            c.text("tolerance \(Fmt.g(tol))", ax.px(tol) + 2, ax.y + 8, size: Page.font - 1, color: RGB(70, 70, 70))
        }
        if let note { c.text(note, ax.x, height - 6, size: Page.font - 1, color: RGB(70, 70, 70)) }
        ax.frame(c)
        ColorBar(scale: scale, label: colorLabel).draw(c, x: ax.x + ax.w + 10, y: ax.y, h: ax.h)
        return try c.png(name: name)
    }
}
