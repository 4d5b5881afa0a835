/// A rectangle in points (origin top left).
struct LabelBox: Equatable {
    var x: Double, y: Double, w: Double, h: Double

    func intersects(_ o: LabelBox) -> Bool { x < o.x + o.w && o.x < x + w && y < o.y + o.h && o.y < y + h }
    func inside(_ o: LabelBox) -> Bool { x >= o.x && y >= o.y && x + w <= o.x + o.w && y + h <= o.y + o.h }
}

/// Places labels where they overlap neither data nor each other: the figure marks what it drew
/// (points, whiskers, lines) as taken, then each label takes the first free spot of its
/// candidates, in the order the figure prefers them.
///
/// A greedy check over boxes is enough here: a figure has tens of labels and hundreds of marks,
/// and the same inputs always give the same spots (figures stay byte-identical).
struct LabelPlacer {
    /// Labels must stay inside this box.
    var bounds: LabelBox
    private(set) var taken: [LabelBox] = []

    init(bounds: LabelBox) { self.bounds = bounds }

    mutating func block(_ b: LabelBox) { taken.append(b) }

    /// Marks a drawn polyline as taken, as boxes of at most `step` points along it.
    mutating func block(polyline points: [(Double, Double)], width: Double = 1, step: Double = 2) {
        guard points.count > 1 else {
            if let p = points.first { block(LabelBox(x: p.0 - width, y: p.1 - width, w: 2 * width, h: 2 * width)) }
            return
        }
        for (a, b) in zip(points, points.dropFirst()) {
            let dx = b.0 - a.0, dy = b.1 - a.1
            let n = max(1, Int((max(abs(dx), abs(dy)) / step).rounded(.up)))
            for k in 0..<n {
                let x0 = a.0 + dx * Double(k) / Double(n), y0 = a.1 + dy * Double(k) / Double(n)
                let x1 = a.0 + dx * Double(k + 1) / Double(n), y1 = a.1 + dy * Double(k + 1) / Double(n)
                block(LabelBox(x: min(x0, x1) - width / 2, y: min(y0, y1) - width / 2, w: abs(x1 - x0) + width, h: abs(y1 - y0) + width))
            }
        }
    }

    func isFree(_ b: LabelBox) -> Bool { b.inside(bounds) && !taken.contains { $0.intersects(b) } }

    /// The first free candidate, now taken; nil when every candidate overlaps something.
    mutating func place(_ candidates: [LabelBox]) -> LabelBox? {
        guard let b = candidates.first(where: isFree) else { return nil }
        taken.append(b)
        return b
    }
}
