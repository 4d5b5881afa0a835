import Foundation

/// Number formatting shared by tables, figures and configs (C locale, fixed digits).
enum Fmt {
    static func f(_ x: Double, _ digits: Int) -> String {
        guard x.isFinite else { return x.isNaN ? "n/a" : (x > 0 ? "inf" : "-inf") }
        let s = String(format: "%.\(digits)f", x)
        return s.hasPrefix("-") && Double(s) == 0 ? String(s.dropFirst()) : s
    }

    /// Shortest form for option values: 0.5, 0.02, 4.5.
    static func g(_ x: Double) -> String { ArmSpecFormat.short(x) }

    static func estimate(_ e: Estimate, _ digits: Int) -> String {
        guard let lo = e.lower, let hi = e.upper else { return "\(f(e.mean, digits)) (no CI)" }
        return "\(f(e.mean, digits)) [\(f(lo, digits)), \(f(hi, digits))]"
    }
}

enum ArmSpecFormat {
    static func short(_ x: Double) -> String {
        if x == x.rounded(), abs(x) < 1e15 { return String(Int64(x)) }
        var s = String(format: "%.6g", x)
        if s.contains("e") { s = "\(x)" }
        return s
    }
}
