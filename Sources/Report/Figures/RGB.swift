/// An opaque 8-bit colour.
public struct RGB: Hashable, Sendable, CustomStringConvertible {
    /// Red, green and blue, 0...255.
    public var r: UInt8, g: UInt8, b: UInt8
    /// A colour from its three components.
    public init(_ r: UInt8, _ g: UInt8, _ b: UInt8) { self.r = r; self.g = g; self.b = b }
    /// A colour from `0xRRGGBB`, as palettes are usually written.
    public init(hex: UInt32) { self.init(UInt8(hex >> 16 & 0xFF), UInt8(hex >> 8 & 0xFF), UInt8(hex & 0xFF)) }
    /// `rgb(r,g,b)`, the form SVG and CSS read.
    public var description: String { "rgb(\(r),\(g),\(b))" }

    static let black = RGB(0, 0, 0), white = RGB(255, 255, 255)
    static let grey = RGB(120, 120, 120), lightGrey = RGB(225, 225, 225)
    /// No-CFG and CFG arms in every curve figure (Okabe–Ito blue and vermillion: apart under
    /// every common colour-vision deficiency and in greyscale; no-CFG is also dashed).
    static let noCFG = RGB(hex: 0x0072B2), cfg = RGB(hex: 0xD55E00)
    /// The sync window's shading.
    static let window = RGB(250, 220, 120)
    /// Okabe–Ito colours: distinguishable under the common colour-vision deficiencies.
    static let series: [RGB] = [RGB(hex: 0x0072B2), RGB(hex: 0xD55E00), RGB(hex: 0x009E73), RGB(hex: 0xCC79A7),
                                RGB(hex: 0xE69F00), RGB(hex: 0x56B4E9), RGB(hex: 0x000000), RGB(hex: 0xF0E442)]
}

/// The colour maps of the figures.
public enum ColorMap: Sendable {
    /// matplotlib's viridis, for magnitudes (perceptually uniform, monotone in lightness).
    case viridis
    /// ColorBrewer RdBu reversed, for signed differences: blue < 0, white at 0, red > 0.
    case diverging

    /// viridis(10) anchors (R viridisLite, identical to matplotlib at these points), linearly
    /// interpolated.
    static let viridisAnchors: [RGB] = [0x440154, 0x482878, 0x3E4A89, 0x31688E, 0x26828E,
                                        0x1F9E89, 0x35B779, 0x6DCD59, 0xB4DE2C, 0xFDE725].map { RGB(hex: $0) }
    static let divergingAnchors: [RGB] = [0x053061, 0x2166AC, 0x4393C3, 0x92C5DE, 0xD1E5F0, 0xF7F7F7,
                                          0xFDDBC7, 0xF4A582, 0xD6604D, 0xB2182B, 0x67001F].map { RGB(hex: $0) }

    /// Colour at position x in [0, 1] (clamped; NaN gives light grey, the "no data" colour).
    public func color(at x: Double) -> RGB {
        guard x.isFinite else { return RGB(200, 200, 200) }
        let anchors = self == .viridis ? ColorMap.viridisAnchors : ColorMap.divergingAnchors
        let p = min(max(x, 0), 1) * Double(anchors.count - 1)
        let i = min(Int(p), anchors.count - 2)
        let f = p - Double(i)
        func mix(_ a: UInt8, _ b: UInt8) -> UInt8 { UInt8((Double(a) + (Double(b) - Double(a)) * f).rounded()) }
        let a = anchors[i], b = anchors[i + 1]
        return RGB(mix(a.r, b.r), mix(a.g, b.g), mix(a.b, b.b))
    }
}

/// Maps data values to colours: [lo, hi] for viridis; symmetric [−m, m] around 0 for diverging.
public struct ColorScale: Sendable {
    /// Which colour map.
    public var map: ColorMap
    /// Value drawn at the low end of the map.
    public var lo: Double
    /// Value drawn at the high end of the map.
    public var hi: Double

    /// A scale fitted to the finite `values`: their range for viridis, ±their largest magnitude for
    /// diverging (so 0 is white); an empty or flat range falls back to a unit span.
    public init(map: ColorMap, values: [Double]) {
        self.map = map
        let finite = values.filter(\.isFinite)
        if map == .diverging {
            let m = finite.map(abs).max() ?? 1
            lo = -(m > 0 ? m : 1); hi = -lo
        } else {
            lo = finite.min() ?? 0; hi = finite.max() ?? 1
            if hi <= lo { hi = lo + 1 }
        }
    }

    /// A scale with explicit ends, so several figures can share one.
    public init(map: ColorMap, lo: Double, hi: Double) { self.map = map; self.lo = lo; self.hi = hi }

    /// Colour of `v`; values outside `lo...hi` take the end colours, NaN the "no data" grey.
    public func color(_ v: Double) -> RGB { map.color(at: (v - lo) / (hi - lo)) }
}
