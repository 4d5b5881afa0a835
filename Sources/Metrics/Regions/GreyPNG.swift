import CPNG
import Foundation

/// An 8-bit grey image read from a PNG file: the one thing Metrics needs from PNG (mask images).
///
/// libpng's simplified API converts every PNG flavour (palette, 16-bit, RGB, alpha) to 8-bit grey,
/// so a mask drawn in any editor reads the same. This is the only file that touches libpng here.
public struct GreyPNG: Sendable, Equatable {
    public var width: Int
    public var height: Int
    /// Row-major grey values, `width * height`.
    public var pixels: [UInt8]

    public init(width: Int, height: Int, pixels: [UInt8]) {
        precondition(width > 0 && height > 0 && pixels.count == width * height)
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// Reads `path`; a missing or undecodable file is ``MetricsError/png(source:detail:)``.
    public init(contentsOf path: String) throws(MetricsError) {
        guard FileManager.default.fileExists(atPath: path) else {
            throw .png(source: path, detail: "no such file")
        }
        var image = png_image()
        image.version = UInt32(PNG_IMAGE_VERSION)
        guard png_image_begin_read_from_file(&image, path) != 0 else {
            let message = Self.message(of: image)
            png_image_free(&image)
            throw .png(source: path, detail: message)
        }
        image.format = UInt32(PNG_FORMAT_GRAY)
        let w = Int(image.width), h = Int(image.height)
        guard w > 0, h > 0 else {
            png_image_free(&image)
            throw .png(source: path, detail: "zero-sized image")
        }
        var buffer = [UInt8](repeating: 0, count: w * h)
        let ok = buffer.withUnsafeMutableBytes { raw in
            png_image_finish_read(&image, nil, raw.baseAddress, Int32(w), nil)
        }
        guard ok != 0 else {
            let message = Self.message(of: image)
            png_image_free(&image)
            throw .png(source: path, detail: message)
        }
        png_image_free(&image)
        self.init(width: w, height: h, pixels: buffer)
    }

    private static func message(of image: png_image) -> String {
        var copy = image.message
        return withUnsafeBytes(of: &copy) { raw in
            let bytes = raw.bindMemory(to: UInt8.self)
            let end = bytes.firstIndex(of: 0) ?? bytes.count
            return String(decoding: bytes[..<end], as: UTF8.self)
        }
    }
}

extension GreyPNG {
    /// Writes the image as an 8-bit grey PNG (tests and tools draw masks with it).
    public func write(to path: String) throws(MetricsError) {
        var image = png_image()
        image.version = UInt32(PNG_IMAGE_VERSION)
        image.width = UInt32(width)
        image.height = UInt32(height)
        image.format = UInt32(PNG_FORMAT_GRAY)
        let ok = pixels.withUnsafeBytes { raw in
            png_image_write_to_file(&image, path, 0, raw.baseAddress, Int32(width), nil)
        }
        let message = Self.message(of: image)
        png_image_free(&image)
        guard ok != 0 else { throw .png(source: path, detail: "write failed: \(message)") }
    }
}
