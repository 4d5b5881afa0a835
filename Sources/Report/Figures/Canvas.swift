import CCairo
import Foundation
import Media

/// A cairo image surface drawn in points (1/72 in) at a fixed resolution; the only file that
/// touches cairo pointers.
///
/// Text uses DejaVu Sans through cairo's toy text API with fixed font options (grey antialiasing,
/// no hinting), so a figure's bytes depend only on its data, cairo and the font file.
final class Canvas {
    let widthPt: Double
    let heightPt: Double
    let scale: Double
    let pixelWidth: Int
    let pixelHeight: Int
    private let surface: OpaquePointer
    private let cr: OpaquePointer

    enum HAlign { case left, center, right }
    enum VAlign { case baseline, center, top, bottom }

    // MARK: - Lifecycle

    /// - parameter dpi: 200 by default: a 7-inch (504 pt) full-width figure is 1400 px wide.
    init(widthPt: Double, heightPt: Double, dpi: Double = 200) {
        self.widthPt = widthPt; self.heightPt = heightPt
        scale = dpi / 72
        pixelWidth = Int((widthPt * scale).rounded())
        pixelHeight = Int((heightPt * scale).rounded())
        surface = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, Int32(pixelWidth), Int32(pixelHeight))
        cr = cairo_create(surface)
        cairo_scale(cr, scale, scale)
        let options = cairo_font_options_create()
        cairo_font_options_set_antialias(options, CAIRO_ANTIALIAS_GRAY)
        cairo_font_options_set_hint_style(options, CAIRO_HINT_STYLE_NONE)
        cairo_font_options_set_hint_metrics(options, CAIRO_HINT_METRICS_OFF)
        cairo_set_font_options(cr, options)
        cairo_font_options_destroy(options)
        cairo_set_source_rgb(cr, 1, 1, 1)
        cairo_paint(cr)
        cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND)
    }

    deinit {
        cairo_destroy(cr)
        cairo_surface_destroy(surface)
    }

    // MARK: - Shapes

    private func source(_ c: RGB, alpha: Double = 1) {
        cairo_set_source_rgba(cr, Double(c.r) / 255, Double(c.g) / 255, Double(c.b) / 255, alpha)
    }

    func fillRect(_ x: Double, _ y: Double, _ w: Double, _ h: Double, _ c: RGB, alpha: Double = 1) {
        cairo_rectangle(cr, x, y, w, h)
        source(c, alpha: alpha)
        cairo_fill(cr)
    }

    /// A cell filled without antialiasing, so neighbouring cells meet exactly and every interior
    /// pixel carries the colour map's colour.
    func fillCell(_ x: Double, _ y: Double, _ w: Double, _ h: Double, _ c: RGB) {
        cairo_set_antialias(cr, CAIRO_ANTIALIAS_NONE)
        fillRect(x, y, w, h, c)
        cairo_set_antialias(cr, CAIRO_ANTIALIAS_DEFAULT)
    }

    func strokeRect(_ x: Double, _ y: Double, _ w: Double, _ h: Double, _ c: RGB, width: Double = 0.6, dash: [Double] = []) {
        cairo_rectangle(cr, x, y, w, h)
        stroke(c, width: width, dash: dash)
    }

    func polyline(_ points: [(Double, Double)], _ c: RGB, width: Double = 1, dash: [Double] = [], alpha: Double = 1) {
        guard let first = points.first else { return }
        cairo_move_to(cr, first.0, first.1)
        for p in points.dropFirst() { cairo_line_to(cr, p.0, p.1) }
        stroke(c, width: width, dash: dash, alpha: alpha)
    }

    func polygon(_ points: [(Double, Double)], _ c: RGB, alpha: Double) {
        guard let first = points.first else { return }
        cairo_move_to(cr, first.0, first.1)
        for p in points.dropFirst() { cairo_line_to(cr, p.0, p.1) }
        cairo_close_path(cr)
        source(c, alpha: alpha)
        cairo_fill(cr)
    }

    func circle(_ x: Double, _ y: Double, _ r: Double, fill: RGB, stroke strokeColor: RGB? = nil, width: Double = 0.5) {
        cairo_new_sub_path(cr)
        cairo_arc(cr, x, y, r, 0, 2 * Double.pi)
        source(fill)
        if let s = strokeColor {
            cairo_fill_preserve(cr)
            stroke(s, width: width)
        } else {
            cairo_fill(cr)
        }
    }

    private func stroke(_ c: RGB, width: Double, dash: [Double] = [], alpha: Double = 1) {
        source(c, alpha: alpha)
        cairo_set_line_width(cr, width)
        dash.withUnsafeBufferPointer { cairo_set_dash(cr, $0.baseAddress, Int32($0.count), 0) }
        cairo_stroke(cr)
        cairo_set_dash(cr, nil, 0, 0)
    }

    // MARK: - Clipping

    func clip(_ x: Double, _ y: Double, _ w: Double, _ h: Double) {
        cairo_save(cr)
        cairo_rectangle(cr, x, y, w, h)
        cairo_clip(cr)
    }

    func unclip() { cairo_restore(cr) }

    // MARK: - Text

    private func font(_ size: Double, bold: Bool) {
        cairo_select_font_face(cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL, bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL)
        cairo_set_font_size(cr, size)
    }

    func textWidth(_ s: String, size: Double, bold: Bool = false) -> Double {
        font(size, bold: bold)
        var ext = cairo_text_extents_t()
        cairo_text_extents(cr, s, &ext)
        return ext.x_advance
    }

    /// Draws UTF-8 text anchored at (x, y); `rotated` turns it 90° counter-clockwise (y labels).
    func text(_ s: String, _ x: Double, _ y: Double, size: Double = 7, h: HAlign = .left, v: VAlign = .baseline,
              color: RGB = .black, bold: Bool = false, rotated: Bool = false) {
        font(size, bold: bold)
        var ext = cairo_text_extents_t()
        cairo_text_extents(cr, s, &ext)
        var fe = cairo_font_extents_t()
        cairo_font_extents(cr, &fe)
        let dx: Double = h == .left ? 0 : (h == .center ? -ext.x_advance / 2 : -ext.x_advance)
        // Cap-height-based centring: DejaVu's ascent includes accents; 0.72 em is its cap height.
        let cap = 0.72 * size
        let dy: Double
        switch v {
        case .baseline: dy = 0
        case .center: dy = cap / 2
        case .top: dy = cap
        case .bottom: dy = -fe.descent
        }
        cairo_save(cr)
        cairo_translate(cr, x, y)
        if rotated { cairo_rotate(cr, -Double.pi / 2) }
        cairo_move_to(cr, dx, dy)
        source(color)
        cairo_show_text(cr, s)
        cairo_restore(cr)
    }

    // MARK: - Images and output

    /// Draws an RGB image scaled into a rectangle with nearest-neighbour sampling.
    func image(rgb: [UInt8], width: Int, height: Int, x: Double, y: Double, w: Double, h: Double) {
        let stride = Int(cairo_format_stride_for_width(CAIRO_FORMAT_RGB24, Int32(width)))
        var data = [UInt8](repeating: 0, count: stride * height)
        for row in 0..<height {
            for col in 0..<width {
                let s = (row * width + col) * 3, d = row * stride + col * 4
                data[d] = rgb[s + 2]; data[d + 1] = rgb[s + 1]; data[d + 2] = rgb[s]; data[d + 3] = 255
            }
        }
        data.withUnsafeMutableBufferPointer { buf in
            let img = cairo_image_surface_create_for_data(buf.baseAddress, CAIRO_FORMAT_RGB24, Int32(width), Int32(height), Int32(stride))
            cairo_save(cr)
            cairo_translate(cr, x, y)
            cairo_scale(cr, w / Double(width), h / Double(height))
            cairo_set_source_surface(cr, img, 0, 0)
            cairo_pattern_set_filter(cairo_get_source(cr), CAIRO_FILTER_NEAREST)
            cairo_rectangle(cr, 0, 0, Double(width), Double(height))
            cairo_fill(cr)
            cairo_restore(cr)
            cairo_surface_destroy(img)
        }
    }

    /// The surface's pixels as packed RGB (the surface is opaque: alpha is always 255).
    func rgbPixels() -> [UInt8] {
        cairo_surface_flush(surface)
        let stride = Int(cairo_image_surface_get_stride(surface))
        guard let base = cairo_image_surface_get_data(surface) else { return [] }
        var out = [UInt8](repeating: 0, count: pixelWidth * pixelHeight * 3)
        out.withUnsafeMutableBufferPointer { dst in
            for row in 0..<pixelHeight {
                let line = base + row * stride
                for col in 0..<pixelWidth {
                    // ARGB32 is native-endian 0xAARRGGBB: bytes B, G, R, A on little-endian.
                    let px = UnsafeRawPointer(line + col * 4).loadUnaligned(as: UInt32.self)
                    let d = (row * pixelWidth + col) * 3
                    dst[d] = UInt8(px >> 16 & 0xFF); dst[d + 1] = UInt8(px >> 8 & 0xFF); dst[d + 2] = UInt8(px & 0xFF)
                }
            }
        }
        return out
    }

    func png(name: String) throws(ReportError) -> [UInt8] {
        guard cairo_status(cr) == CAIRO_STATUS_SUCCESS else {
            throw .renderFailed(figure: name, problem: String(cString: cairo_status_to_string(cairo_status(cr))))
        }
        do { return try PNG.encode(Raster(width: pixelWidth, height: pixelHeight, channels: 3, pixels: rgbPixels()), name: name) } catch {
            throw .renderFailed(figure: name, problem: error.description)
        }
    }
}
