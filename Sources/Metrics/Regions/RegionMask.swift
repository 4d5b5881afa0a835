import Media

/// Which pixels of a frame belong to the mouth; `upper_face` is the rest, `full` everything.
///
/// Built once per clip from LatentSync's `mask.png` convention (white = kept upper face,
/// black = mouth) or from a mouth box, then shared by every frame and metric, so the mouth of
/// MSE, SSIM and sharpness is the same set of pixels.
public struct RegionMask: Sendable, Equatable {
    /// Frame width the mask was made for.
    public let width: Int
    /// Frame height the mask was made for.
    public let height: Int
    /// Row-major, 1 = mouth, 0 = upper face.
    public let mouth: [UInt8]
    /// Number of mouth pixels (> 0) and of upper-face pixels (> 0).
    public let mouthCount: Int
    /// Number of upper-face pixels (> 0).
    public let upperCount: Int
    /// Tight bounding box of the mouth pixels: the crop for sharpness and mouth LPIPS.
    public let mouthBox: Box

    /// The mouth is `box`; everything else is the upper face.
    public init(box: Box, width: Int, height: Int, source: String = "--box") throws(MetricsError) {
        guard width > 0, height > 0 else { throw .emptyInput(source: source) }
        guard box.fits(width: width, height: height) else {
            throw .boxOutsideFrame(source: source, box: box.description, width: width, height: height)
        }
        var m = [UInt8](repeating: 0, count: width * height)
        for y in box.y..<(box.y + box.height) {
            for x in box.x..<(box.x + box.width) { m[y * width + x] = 1 }
        }
        try self.init(mouth: m, width: width, height: height, source: source)
    }

    /// Resizes a grey mask to the frame with nearest-neighbour sampling at pixel centres
    /// (source index `floor((i + 0.5) * src / dst)`, as PIL's NEAREST and OpenCV's
    /// INTER_NEAREST_EXACT), then thresholds: grey < 128 is mouth (black), otherwise upper face.
    /// The mask must have the frame's aspect ratio, so a mask meant for another crop is caught.
    public init(mask: GreyPNG, width: Int, height: Int, source: String) throws(MetricsError) {
        guard width > 0, height > 0 else { throw .emptyInput(source: source) }
        guard mask.width * height == mask.height * width else {
            throw .maskMismatch(source: source, detail: "mask is \(mask.width)x\(mask.height), frame is \(width)x\(height): aspect ratios differ")
        }
        var m = [UInt8](repeating: 0, count: width * height)
        for y in 0..<height {
            let sy = min(mask.height - 1, (2 * y + 1) * mask.height / (2 * height))
            for x in 0..<width {
                let sx = min(mask.width - 1, (2 * x + 1) * mask.width / (2 * width))
                m[y * width + x] = mask.pixels[sy * mask.width + sx] < 128 ? 1 : 0
            }
        }
        try self.init(mouth: m, width: width, height: height, source: source)
    }

    /// Reads a mask PNG and fits it to the frame.
    public init(maskPath: String, width: Int, height: Int) throws(MetricsError) {
        try self.init(mask: GreyPNG(contentsOf: maskPath), width: width, height: height, source: maskPath)
    }

    /// From a 0/1 mouth map; both regions must be non-empty.
    public init(mouth: [UInt8], width: Int, height: Int, source: String) throws(MetricsError) {
        guard width > 0, height > 0, mouth.count == width * height else {
            throw .sizeMismatch(source: source, detail: "\(mouth.count) mask values for \(width)x\(height)")
        }
        var count = 0
        var x0 = width, y0 = height, x1 = -1, y1 = -1
        for y in 0..<height {
            for x in 0..<width where mouth[y * width + x] != 0 {
                count += 1
                x0 = min(x0, x); x1 = max(x1, x); y0 = min(y0, y); y1 = max(y1, y)
            }
        }
        guard count > 0 else { throw .emptyRegion(source: source, region: Region.mouth.rawValue) }
        guard count < width * height else { throw .emptyRegion(source: source, region: Region.upperFace.rawValue) }
        self.width = width
        self.height = height
        self.mouth = mouth.map { $0 != 0 ? 1 : 0 }
        self.mouthCount = count
        self.upperCount = width * height - count
        self.mouthBox = Box(x: x0, y: y0, width: x1 - x0 + 1, height: y1 - y0 + 1)
    }

    /// Pixel count of a region.
    public func count(_ region: Region) -> Int {
        switch region {
        case .mouth: return mouthCount
        case .upperFace: return upperCount
        case .full: return width * height
        }
    }

    /// Bounding box of a region (the crop sharpness is computed on).
    public func boundingBox(_ region: Region) -> Box {
        region == .mouth ? mouthBox : Box(x: 0, y: 0, width: width, height: height)
    }

    func check(width w: Int, height h: Int, source: String) throws(MetricsError) {
        guard w == width, h == height else {
            throw .sizeMismatch(source: source, detail: "frame is \(w)x\(h), region mask is \(width)x\(height)")
        }
    }
}
