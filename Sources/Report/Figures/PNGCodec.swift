import CPNG

/// 8-bit RGB PNG encoding and decoding through libpng's simplified API (no setjmp in Swift).
///
/// The encoder writes no time or text chunks, so the same pixels give the same bytes.
public enum PNGCodec {
    /// Encodes interleaved RGB (`width * height * 3` bytes) without time or text chunks;
    /// `name` labels errors.
    public static func encode(rgb: [UInt8], width: Int, height: Int, name: String) throws(ReportError) -> [UInt8] {
        precondition(rgb.count == width * height * 3, "RGB buffer size does not match \(width)x\(height)")
        var image = png_image()
        image.version = UInt32(PNG_IMAGE_VERSION)
        image.width = UInt32(width)
        image.height = UInt32(height)
        image.format = UInt32(PNG_FORMAT_RGB)
        var size: Int = 0
        let ok1 = rgb.withUnsafeBufferPointer { png_image_write_to_memory(&image, nil, &size, 0, $0.baseAddress, 0, nil) }
        guard ok1 != 0, size > 0 else { throw .renderFailed(figure: name, problem: pngMessage(image)) }
        var out = [UInt8](repeating: 0, count: size)
        let ok2 = rgb.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBytes { png_image_write_to_memory(&image, $0.baseAddress, &size, 0, src.baseAddress, 0, nil) }
        }
        png_image_free(&image)
        guard ok2 != 0 else { throw .renderFailed(figure: name, problem: pngMessage(image)) }
        return Array(out.prefix(size))
    }

    /// Decodes any PNG to 8-bit RGB (alpha composited on black by libpng when present).
    public static func decode(_ bytes: [UInt8], name: String) throws(ReportError) -> (width: Int, height: Int, rgb: [UInt8]) {
        var image = png_image()
        image.version = UInt32(PNG_IMAGE_VERSION)
        let ok = bytes.withUnsafeBytes { png_image_begin_read_from_memory(&image, $0.baseAddress, $0.count) }
        guard ok != 0 else { throw .pngDecodeFailed(file: name, problem: pngMessage(image)) }
        image.format = UInt32(PNG_FORMAT_RGB)
        let w = Int(image.width), h = Int(image.height)
        var rgb = [UInt8](repeating: 0, count: w * h * 3)
        let ok2 = rgb.withUnsafeMutableBytes { png_image_finish_read(&image, nil, $0.baseAddress, 0, nil) }
        guard ok2 != 0 else { throw .pngDecodeFailed(file: name, problem: pngMessage(image)) }
        return (w, h, rgb)
    }

    private static func pngMessage(_ image: png_image) -> String {
        var m = image.message
        return withUnsafeBytes(of: &m) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
    }
}
