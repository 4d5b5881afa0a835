import CPNG
import Foundation
import Support

/// An 8-bit raster read from or written to PNG: grey (1), grey+alpha (2), RGB (3) or RGBA (4)
/// channels, interleaved, rows top to bottom.
public struct Raster: Sendable, Equatable {
    /// Width in pixels.
    public var width: Int
    /// Height in pixels.
    public var height: Int
    /// Bytes per pixel: 1 grey, 2 grey+alpha, 3 RGB, 4 RGBA.
    public var channels: Int
    /// `width * height * channels` bytes, row by row.
    public var pixels: [UInt8]

    /// Checks sizes and a channel count in 1...4; a mismatch is a programming error.
    public init(width: Int, height: Int, channels: Int, pixels: [UInt8]) {
        precondition(width > 0 && height > 0 && (1...4).contains(channels) && pixels.count == width * height * channels,
                     "Raster: \(pixels.count) bytes for \(width)x\(height)x\(channels)")
        self.width = width
        self.height = height
        self.channels = channels
        self.pixels = pixels
    }
}

/// PNG through libpng's simplified API: deterministic bytes for the same pixels (no time stamps,
/// fixed compression), which is what makes report figures reproducible byte for byte.
public enum PNG {
    // libpng's format flags (its PNG_FORMAT_* combinations are macros Swift cannot import).
    private static let flagAlpha = UInt32(PNG_FORMAT_FLAG_ALPHA)
    private static let flagColor = UInt32(PNG_FORMAT_FLAG_COLOR)

    /// Reads a PNG keeping its own layout: grey stays grey, colour becomes RGB, alpha is kept only
    /// when the file has it (region masks are grey PNGs).
    public static func read(path: String) throws(MediaError) -> Raster {
        guard FileManager.default.fileExists(atPath: path) else { throw .fileNotFound(path: path) }
        var image = png_image()
        image.version = UInt32(PNG_IMAGE_VERSION)
        guard png_image_begin_read_from_file(&image, path) != 0 else {
            throw .image(path: path, detail: "not a readable PNG (\(message(image)))")
        }
        defer { png_image_free(&image) }
        // Keep grey masks grey, colour as RGB; drop alpha only when the file has none.
        let hasColor = image.format & flagColor != 0
        let hasAlpha = image.format & flagAlpha != 0
        image.format = (hasColor ? flagColor : 0) | (hasAlpha ? flagAlpha : 0)
        let channels = (hasColor ? 3 : 1) + (hasAlpha ? 1 : 0)
        let width = Int(image.width), height = Int(image.height)
        guard width > 0, height > 0 else { throw .image(path: path, detail: "PNG has no pixels") }
        var pixels = [UInt8](repeating: 0, count: width * height * channels)
        let ok = pixels.withUnsafeMutableBytes { buf in
            png_image_finish_read(&image, nil, buf.baseAddress, Int32(width * channels), nil)
        }
        guard ok != 0 else { throw .image(path: path, detail: "truncated or corrupt PNG (\(message(image)))") }
        return Raster(width: width, height: height, channels: channels, pixels: pixels)
    }

    /// Writes `raster` through a `.partial` file renamed into place, so a failed write never leaves a
    /// truncated PNG under `path`.
    public static func write(_ raster: Raster, to path: String) throws(MediaError) {
        var image = png_image()
        image.version = UInt32(PNG_IMAGE_VERSION)
        image.width = UInt32(raster.width)
        image.height = UInt32(raster.height)
        image.format = [0, flagAlpha, flagColor, flagColor | flagAlpha][raster.channels - 1]
        do {
            try AtomicFile.write(to: path) { (tmp: String) throws(AtomicFileError) in
                let ok = raster.pixels.withUnsafeBytes { buf in
                    png_image_write_to_file(&image, tmp, 0, buf.baseAddress, Int32(raster.width * raster.channels), nil)
                }
                guard ok != 0 else { throw AtomicFileError(path: path, detail: "libpng: \(message(image))") }
            }
        } catch { throw .writeFailed(path: path, detail: error.detail) }
    }

    /// `raster` as PNG bytes in memory (report figures embedded in HTML): the same libpng
    /// encoder and settings as ``write(_:to:)``, no time or text chunks, so the same pixels give
    /// the same bytes. `name` only labels errors.
    public static func encode(_ raster: Raster, name: String) throws(MediaError) -> [UInt8] {
        var image = png_image()
        image.version = UInt32(PNG_IMAGE_VERSION)
        image.width = UInt32(raster.width)
        image.height = UInt32(raster.height)
        image.format = [0, flagAlpha, flagColor, flagColor | flagAlpha][raster.channels - 1]
        var size: Int = 0
        let ok1 = raster.pixels.withUnsafeBufferPointer { png_image_write_to_memory(&image, nil, &size, 0, $0.baseAddress, 0, nil) }
        guard ok1 != 0, size > 0 else { throw .writeFailed(path: name, detail: "libpng: \(message(image))") }
        var out = [UInt8](repeating: 0, count: size)
        let ok2 = raster.pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBytes { png_image_write_to_memory(&image, $0.baseAddress, &size, 0, src.baseAddress, 0, nil) }
        }
        png_image_free(&image)
        guard ok2 != 0 else { throw .writeFailed(path: name, detail: "libpng: \(message(image))") }
        return Array(out.prefix(size))
    }

    /// Decodes PNG bytes. `channels` 1 (grey) or 3 (RGB) converts to that layout, alpha
    /// composited on black by libpng; nil keeps the file's own layout as ``read(path:)`` does.
    public static func decode(_ bytes: [UInt8], name: String, channels: Int? = nil) throws(MediaError) -> Raster {
        precondition(channels == nil || channels == 1 || channels == 3, "PNG.decode converts to grey (1) or RGB (3) only")
        var image = png_image()
        image.version = UInt32(PNG_IMAGE_VERSION)
        let ok = bytes.withUnsafeBytes { png_image_begin_read_from_memory(&image, $0.baseAddress, $0.count) }
        guard ok != 0 else { throw .image(path: name, detail: "not a readable PNG (\(message(image)))") }
        defer { png_image_free(&image) }
        let hasColor = image.format & flagColor != 0
        let hasAlpha = image.format & flagAlpha != 0
        let count: Int
        if let channels {
            image.format = channels == 3 ? flagColor : 0
            count = channels
        } else {
            image.format = (hasColor ? flagColor : 0) | (hasAlpha ? flagAlpha : 0)
            count = (hasColor ? 3 : 1) + (hasAlpha ? 1 : 0)
        }
        let width = Int(image.width), height = Int(image.height)
        guard width > 0, height > 0 else { throw .image(path: name, detail: "PNG has no pixels") }
        var pixels = [UInt8](repeating: 0, count: width * height * count)
        let ok2 = pixels.withUnsafeMutableBytes { buf in
            png_image_finish_read(&image, nil, buf.baseAddress, Int32(width * count), nil)
        }
        guard ok2 != 0 else { throw .image(path: name, detail: "truncated or corrupt PNG (\(message(image)))") }
        return Raster(width: width, height: height, channels: count, pixels: pixels)
    }

    private static func message(_ image: png_image) -> String {
        var m = image.message
        return withUnsafeBytes(of: &m) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
    }
}
