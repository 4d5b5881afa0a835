import Foundation

/// One decoded video frame: 8-bit RGB, interleaved, rows top to bottom, no padding
/// (`rgb.count == width * height * 3`). This is what `VideoReader` hands out and `VideoWriter`
/// takes, so that nothing above Media ever sees a libav line size or pixel format.
public struct Frame: Sendable, Equatable {
    /// Width in pixels.
    public var width: Int
    /// Height in pixels.
    public var height: Int
    /// `width * height * 3` bytes, R, G, B per pixel, row by row.
    public var rgb: [UInt8]
    /// Index of the frame in the (possibly resampled) output sequence.
    public var index: Int

    /// Checks that `rgb` holds exactly `width * height * 3` bytes; a mismatch is a programming error.
    public init(width: Int, height: Int, rgb: [UInt8], index: Int = 0) {
        precondition(width > 0 && height > 0 && rgb.count == width * height * 3,
                     "Frame: \(rgb.count) bytes for \(width)x\(height)x3")
        self.width = width
        self.height = height
        self.rgb = rgb
        self.index = index
    }

    /// The frame as a float image in [0, 1] (value / 255), the scale DESIGN.md's pixel metrics use.
    public func image() -> Image {
        Image(width: width, height: height, channels: 3, data: rgb.map { Float($0) * (1 / 255) })
    }
}

/// A float image, interleaved channels (HWC), contiguous. Metrics take and return these.
public struct Image: Sendable, Equatable {
    /// Width in pixels.
    public var width: Int
    /// Height in pixels.
    public var height: Int
    /// Values per pixel (1 for grey, 3 for RGB).
    public var channels: Int
    /// `width * height * channels` values, pixel by pixel, row by row.
    public var data: [Float]

    /// Checks that `data` holds exactly `width * height * channels` values; a mismatch is a programming error.
    public init(width: Int, height: Int, channels: Int, data: [Float]) {
        precondition(width > 0 && height > 0 && channels > 0 && data.count == width * height * channels,
                     "Image: \(data.count) values for \(width)x\(height)x\(channels)")
        self.width = width
        self.height = height
        self.channels = channels
        self.data = data
    }

    /// An image with every value set to `value` (black by default), for masks and accumulators.
    public init(width: Int, height: Int, channels: Int, repeating value: Float = 0) {
        self.init(width: width, height: height, channels: channels,
                  data: [Float](repeating: value, count: width * height * channels))
    }

    /// Value of channel `c` at column `x`, row `y`.
    @inlinable public subscript(x: Int, y: Int, c: Int) -> Float {
        get { data[(y * width + x) * channels + c] }
        set { data[(y * width + x) * channels + c] = newValue }
    }
}

/// A rectangle in pixel coordinates (origin top-left), used for crops and `--box x,y,w,h`.
public struct Box: Sendable, Equatable, Hashable, Codable, CustomStringConvertible {
    /// Left edge, in pixels from the frame's left.
    public var x: Int
    /// Top edge, in pixels from the frame's top.
    public var y: Int
    /// Width in pixels.
    public var width: Int
    /// Height in pixels.
    public var height: Int

    /// A box as given; ``fits(width:height:)`` checks it against a frame.
    public init(x: Int, y: Int, width: Int, height: Int) {
        self.x = x
        self.y = y
        self.width = width
        self.height = height
    }

    /// Parses `x,y,w,h` as the command line writes it.
    public init?(parsing text: String) {
        let parts = text.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard parts.count == 4, let x = parts[0], let y = parts[1], let w = parts[2], let h = parts[3],
              w > 0, h > 0 else { return nil }
        self.init(x: x, y: y, width: w, height: h)
    }

    /// `x,y,w,h`, the form ``init(parsing:)`` reads back.
    public var description: String { "\(x),\(y),\(width),\(height)" }

    /// Whether the box lies wholly inside a `width` x `height` frame.
    public func fits(width frameWidth: Int, height frameHeight: Int) -> Bool {
        x >= 0 && y >= 0 && width > 0 && height > 0 && x + width <= frameWidth && y + height <= frameHeight
    }
}
