import Foundation

/// A plot area inside a canvas with linear data → point mapping, ticks and labels.
struct Axes {
    var x: Double, y: Double, w: Double, h: Double
    var xMin: Double, xMax: Double, yMin: Double, yMax: Double

    func px(_ v: Double) -> Double { x + (v - xMin) / (xMax - xMin) * w }
    func py(_ v: Double) -> Double { y + h - (v - yMin) / (yMax - yMin) * h }

    /// "Nice" tick positions (1, 2, 2.5, 5 × 10^k) covering [lo, hi].
    static func ticks(_ lo: Double, _ hi: Double, target: Int = 5) -> [Double] {
        guard hi > lo, lo.isFinite, hi.isFinite else { return [lo] }
        let raw = (hi - lo) / Double(target)
        let mag = pow(10, floor(log10(raw)))
        let step = [1, 2, 2.5, 5, 10].map { $0 * mag }.first { $0 >= raw } ?? 10 * mag
        var out: [Double] = []
        var v = ceil(lo / step - 1e-9) * step
        while v <= hi + step * 1e-9 { out.append(abs(v) < step * 1e-9 ? 0 : v); v += step }
        return out
    }

    static func tickLabel(_ v: Double, step: Double) -> String {
        let digits = max(0, min(4, Int(-floor(log10(step) + 1e-9))))
        let scaled = step * pow(10, Double(digits))
        return Fmt.f(v, digits + (abs(scaled - scaled.rounded()) < 1e-6 ? 0 : 1))
    }

    /// t with two decimals, but t_0 = 0.999 as itself rather than "1.00".
    static func tLabel(_ t: Double) -> String { t > 0.995 && t < 1 ? Fmt.f(t, 3) : Fmt.f(t, 2) }

    /// Padded data range of values (never empty).
    static func range(_ values: [Double], pad: Double = 0.06, include: [Double] = []) -> (Double, Double) {
        let v = (values + include).filter(\.isFinite)
        guard var lo = v.min(), var hi = v.max() else { return (0, 1) }
        if hi - lo < 1e-12 { lo -= 0.5 * max(abs(lo), 1e-3); hi += 0.5 * max(abs(hi), 1e-3) }
        let p = (hi - lo) * pad
        return (lo - p, hi + p)
    }

    func frame(_ c: Canvas) { c.strokeRect(x, y, w, h, .black, width: 0.6) }

    /// Y ticks, tick labels and grid lines; the axis title rotated on the left.
    func yAxis(_ c: Canvas, title: String, size: Double = 6.5, grid: Bool = true) {
        let ticks = Axes.ticks(yMin, yMax, target: 5)
        let step = ticks.count > 1 ? ticks[1] - ticks[0] : 1
        var widest = 0.0
        for t in ticks where t >= yMin - 1e-12 && t <= yMax + 1e-12 {
            let yy = py(t)
            if grid { c.polyline([(x, yy), (x + w, yy)], .lightGrey, width: 0.4) }
            c.polyline([(x - 2.5, yy), (x, yy)], .black, width: 0.6)
            let label = Axes.tickLabel(t, step: step)
            widest = max(widest, c.textWidth(label, size: size))
            c.text(label, x - 4, yy, size: size, h: .right, v: .center)
        }
        c.text(title, x - 8 - widest, y + h / 2, size: size + 0.5, h: .center, v: .bottom, rotated: true)
    }

    /// The x-axis title of step axes: the axis is linear in the step index j (not categorical:
    /// 0..8 is four times as wide as 28..30), and t, which is not linear in j, is on top.
    static let stepTitle = "ODE step j (linear; t on top)"

    /// Step ticks along the bottom and the matching t values along the top.
    ///
    /// Every probed step gets a tick (the ticks say which steps were measured); labels go on
    /// multiples of 1, 5 or 10 by span, or on every probed step when there are few, and a label
    /// that would touch its neighbour is left out, so the axis never prints "283032".
    func stepAxis(_ c: Canvas, steps: [Int], tOf: (Int) -> Double?, size: Double = 6.5, title: Bool = true, tAxis: Bool = true,
                  stepLabels: Bool = true, titleText: String = Axes.stepTitle) {
        guard let lo = steps.min(), let hi = steps.max() else { return }
        let span = Double(hi - lo)
        let every = span <= 12 ? 1 : (span <= 30 ? 5 : 10)
        let labelAll = steps.count <= 12
        var lastStepEdge = -Double.infinity, lastTEdge = -Double.infinity
        for j in steps {
            let xx = px(Double(j))
            let labelled = labelAll || j % every == 0 || j == hi
            c.polyline([(xx, y + h), (xx, y + h + (labelled ? 2.5 : 1.5))], .black, width: 0.6)
            if stepLabels && labelled {
                let label = "\(j)", half = c.textWidth(label, size: size) / 2
                if xx - half >= lastStepEdge + 2 {
                    c.text(label, xx, y + h + 4, size: size, h: .center, v: .top)
                    lastStepEdge = xx + half
                }
            }
            if tAxis, let t = tOf(j) {
                c.polyline([(xx, y), (xx, y - (labelled ? 2.5 : 1.5))], .black, width: 0.6)
                guard labelled else { continue }
                let tl = Axes.tLabel(t), th = c.textWidth(tl, size: size - 0.5) / 2
                if xx - th >= lastTEdge + 3 {
                    c.text(tl, xx, y - 4, size: size - 0.5, h: .center, v: .bottom, color: RGB(60, 60, 60))
                    lastTEdge = xx + th
                }
            }
        }
        if title && stepLabels { c.text(titleText, x + w / 2, y + h + 4 + size + 4, size: size + 0.5, h: .center, v: .top) }
        if tAxis { c.text("t", max(x + w + 3, lastTEdge + 2), y - 4, size: size, h: .left, v: .bottom, color: RGB(60, 60, 60)) }
    }
}

/// Legend entries drawn in a row or column.
struct Legend {
    enum Mark {
        case line(RGB, dash: [Double]), box(RGB, alpha: Double), dot(RGB)
        /// A series as the curves draw it: line, dash and an open or filled probed-step marker.
        case series(RGB, dash: [Double], filled: Bool)
        /// A CI band as the curves draw it: light fill between two thin outlines.
        case band(RGB)
    }
    var entries: [(Mark, String)]

    /// Width needed by a single row.
    func rowWidth(_ c: Canvas, size: Double) -> Double {
        entries.map { 14 + c.textWidth($0.1, size: size) + 8 }.reduce(0, +)
    }

    /// Draws the entries left to right from (x, y), wrapping at maxWidth; returns the height used.
    @discardableResult
    func draw(_ c: Canvas, x: Double, y: Double, maxWidth: Double, size: Double = 6.5) -> Double {
        var cx = x, cy = y
        for (mark, label) in entries {
            let wEntry = 14 + c.textWidth(label, size: size) + 8
            if cx + wEntry > x + maxWidth && cx > x { cx = x; cy += size + 4 }
            switch mark {
            case .line(let col, let dash): c.polyline([(cx, cy), (cx + 11, cy)], col, width: 1.3, dash: dash)
            case .box(let col, let alpha): c.fillRect(cx, cy - 3, 11, 6, col, alpha: alpha)
            case .dot(let col): c.circle(cx + 5.5, cy, 2, fill: col)
            case .series(let col, let dash, let filled):
                c.polyline([(cx, cy), (cx + 11, cy)], col, width: 1.2, dash: dash)
                c.circle(cx + 5.5, cy, 1.6, fill: filled ? col : .white, stroke: col, width: 0.7)
            case .band(let col):
                c.fillRect(cx, cy - 3, 11, 6, col, alpha: PanelFigure.bandAlpha)
                c.polyline([(cx, cy - 3), (cx + 11, cy - 3)], col, width: 0.5, alpha: PanelFigure.bandEdgeAlpha)
                c.polyline([(cx, cy + 3), (cx + 11, cy + 3)], col, width: 0.5, alpha: PanelFigure.bandEdgeAlpha)
            }
            c.text(label, cx + 14, cy, size: size, v: .center)
            cx += wEntry
        }
        return cy - y + size + 4
    }
}

/// A vertical colour bar with its ticks and the unit label.
struct ColorBar {
    var scale: ColorScale
    var label: String

    func draw(_ c: Canvas, x: Double, y: Double, w: Double = 7, h: Double, size: Double = 6.5) {
        let n = 64
        for i in 0..<n {
            let v0 = scale.lo + (scale.hi - scale.lo) * Double(i) / Double(n)
            let vc = scale.lo + (scale.hi - scale.lo) * (Double(i) + 0.5) / Double(n)
            let yy = y + h - (v0 - scale.lo) / (scale.hi - scale.lo) * h - h / Double(n)
            c.fillCell(x, yy, w, h / Double(n) + 0.05, scale.color(vc))
        }
        c.strokeRect(x, y, w, h, .black, width: 0.5)
        let ticks = Axes.ticks(scale.lo, scale.hi, target: 4)
        let step = ticks.count > 1 ? ticks[1] - ticks[0] : 1
        var widest = 0.0
        for t in ticks {
            let yy = y + h - (t - scale.lo) / (scale.hi - scale.lo) * h
            c.polyline([(x + w, yy), (x + w + 2, yy)], .black, width: 0.5)
            let s = Axes.tickLabel(t, step: step)
            widest = max(widest, c.textWidth(s, size: size))
            c.text(s, x + w + 3.5, yy, size: size, v: .center)
        }
        // "\n" splits a long unit into two rotated lines.
        for (k, line) in label.split(separator: "\n").enumerated() {
            c.text(String(line), x + w + 6 + widest + size + Double(k) * (size + 2), y + h / 2, size: size, h: .center, v: .bottom, rotated: true)
        }
    }
}
