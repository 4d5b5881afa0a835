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

    static let width = 340.0, height = 260.0

    /// The plot area and its data ranges (whiskers, 0 and the tolerance included).
    func axes() -> Axes {
        var xv: [Double] = [], yv: [Double] = []
        for p in points {
            xv += [p.x, p.xLo ?? p.x, p.xHi ?? p.x]; yv += [p.y, p.yLo ?? p.y, p.yHi ?? p.y]
        }
        let (x0, x1) = Axes.range(xv, pad: 0.08, include: (tolerance.map { [$0] } ?? []) + [0])
        let (y0, y1) = Axes.range(yv, pad: 0.08, include: [0])
        return Axes(x: 50, y: 26, w: Self.width - 50 - 78, h: Self.height - 26 - 44, xMin: x0, xMax: x1, yMin: y0, yMax: y1)
    }

    struct PlacedLabel { var index: Int; var box: LabelBox; var leader: Bool }

    /// Where the point labels go: the nearest spot around the point (eight directions, then
    /// farther rings, drawn with a leader line) that overlaps no point, no whisker and no earlier
    /// label (reference lines are not data: a label may cross them). A label with no free spot
    /// is left out. Returns the placer too, so later labels (the tolerance's) avoid these.
    func labels(_ c: Canvas, ax: Axes) -> (placed: [PlacedLabel], placer: LabelPlacer) {
        let size = Page.font - 1
        var placer = LabelPlacer(bounds: LabelBox(x: ax.x + 1, y: ax.y + 1, w: ax.w - 2, h: ax.h - 2))
        for (k, p) in points.enumerated() {
            let r = k == circled ? 5.5 : 3.0
            placer.block(LabelBox(x: ax.px(p.x) - r, y: ax.py(p.y) - r, w: 2 * r, h: 2 * r))
            if let lo = p.xLo, let hi = p.xHi { placer.block(polyline: [(ax.px(lo), ax.py(p.y)), (ax.px(hi), ax.py(p.y))], width: 1) }
            if let lo = p.yLo, let hi = p.yHi { placer.block(polyline: [(ax.px(p.x), ax.py(lo)), (ax.px(p.x), ax.py(hi))], width: 1) }
        }
        var placed: [PlacedLabel] = []
        for (k, p) in points.enumerated() {
            guard let l = p.label else { continue }
            let tw = c.textWidth(l, size: size), th = size * 0.9
            let px = ax.px(p.x), py = ax.py(p.y)
            var spots: [(LabelBox, Bool)] = []
            for (ring, d) in [(k == circled ? 6.0 : 4.5), 11, 18, 26].enumerated() {
                spots += [(px + d, py - d * 0.6 - th), (px + d, py + d * 0.6), (px - d - tw, py - d * 0.6 - th), (px - d - tw, py + d * 0.6),
                          (px - tw / 2, py - d - 1 - th), (px - tw / 2, py + d + 1), (px + d + 1, py - th / 2), (px - d - 1 - tw, py - th / 2)]
                    .map { (LabelBox(x: $0.0, y: $0.1, w: tw, h: th), ring > 0) }
            }
            guard let chosen = spots.first(where: { placer.isFree($0.0) }) else { continue }
            placer.block(chosen.0)
            placed.append(PlacedLabel(index: k, box: chosen.0, leader: chosen.1))
        }
        return (placed, placer)
    }

    func render() throws(ReportError) -> [UInt8] {
        let width = Self.width, height = Self.height
        let c = Canvas(widthPt: width, heightPt: height)
        c.text(title, 8, 11, size: Page.titleFont, bold: true)
        let ax = axes()
        let (x0, x1) = (ax.xMin, ax.xMax)
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
        var (placed, placer) = labels(c, ax: ax)
        let size = Page.font - 1
        for label in placed {
            let p = points[label.index], b = label.box, th = size * 0.9
            if label.leader {
                // Leader from the label's nearest edge to the point's rim.
                let px = ax.px(p.x), py = ax.py(p.y)
                let lx = min(max(px, b.x), b.x + b.w), ly = min(max(py, b.y), b.y + b.h)
                let dx = lx - px, dy = ly - py, dist = (dx * dx + dy * dy).squareRoot()
                let rim = (label.index == circled ? 5.0 : 2.8) / max(dist, 1e-9)
                c.polyline([(px + dx * rim, py + dy * rim), (lx, ly)], RGB(90, 90, 90), width: 0.4)
            }
            c.text(p.label!, b.x, b.y + th, size: size, v: .baseline)
        }
        if let tol = tolerance, ax.px(tol) < ax.x + ax.w - 4 {
            let l = "tolerance \(Fmt.g(tol))", tw = c.textWidth(l, size: size), th = size * 0.9, xx = ax.px(tol)
            let spots = [ax.y + 3, ax.y + ax.h - 3 - th].flatMap { y in
                [LabelBox(x: xx + 2, y: y, w: tw, h: th), LabelBox(x: xx - 2 - tw, y: y, w: tw, h: th)]
            }
            if let b = placer.place(spots) { c.text(l, b.x, b.y + th, size: size, color: RGB(70, 70, 70)) }
        }
        if let note { c.text(note, ax.x, height - 6, size: Page.font - 1, color: RGB(70, 70, 70)) }
        ax.frame(c)
        ColorBar(scale: scale, label: colorLabel).draw(c, x: ax.x + ax.w + 10, y: ax.y, h: ax.h)
        return try c.png(name: name)
    }
}
