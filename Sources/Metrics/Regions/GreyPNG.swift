import Foundation
import Media

/// A mask image as 8-bit grey: what region masks are made from.
///
/// Read through Media's ``PNG`` (libpng). Colour masks become grey by OpenCV's 8-bit luma
/// (`(9798 R + 19235 G + 3735 B + 16384) >> 15`); alpha is ignored, so a mask drawn in any editor
/// reads the same as LatentSync's black-and-white `mask.png`.
public struct GreyPNG: Sendable, Equatable {
    /// Width in pixels.
    public var width: Int
    /// Height in pixels.
    public var height: Int
    /// Row-major grey values, `width * height`.
    public var pixels: [UInt8]

    /// Checks that `pixels` holds `width * height` values; a mismatch is a programming error.
    public init(width: Int, height: Int, pixels: [UInt8]) {
        precondition(width > 0 && height > 0 && pixels.count == width * height)
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// Reads `path`; a missing or undecodable file is ``MetricsError/png(source:detail:)``.
    public init(contentsOf path: String) throws(MetricsError) {
        let raster: Raster
        do { raster = try PNG.read(path: path) } catch { throw .png(source: path, detail: error.description) }
        let n = raster.width * raster.height, c = raster.channels
        var grey = [UInt8](repeating: 0, count: n)
        raster.pixels.withUnsafeBufferPointer { p in
            for i in 0..<n {
                grey[i] = c >= 3 ? UInt8(Sharpness.grey(p[i * c], p[i * c + 1], p[i * c + 2])) : p[i * c]
            }
        }
        self.init(width: raster.width, height: raster.height, pixels: grey)
    }

    /// Writes the image as an 8-bit grey PNG (tests and tools draw masks with it).
    public func write(to path: String) throws(MetricsError) {
        do { try PNG.write(Raster(width: width, height: height, channels: 1, pixels: pixels), to: path) } catch {
            throw .png(source: path, detail: error.description)
        }
    }
}
