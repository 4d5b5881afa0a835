import Media

extension SyncNet {
    /// Where the face crop of each frame comes from.
    public enum Crop: Sendable, Equatable {
        /// The whole frame is a pre-aligned face crop (LatentSync/Hallo3 data, Lip Forcing's
        /// reward scorer). Face detection (S3FD in syncnet_python) is out of scope: supply boxes
        /// for unaligned video.
        case wholeFrame
        /// One fixed box for every frame.
        case box(Box)
        /// One box per frame (e.g. read from a JSON file of face tracks).
        case perFrame([Box])
    }

    /// Lip-stream input from decoded RGB frames: each frame's crop resized to 224x224 with
    /// OpenCV's `cv2.resize(..., interpolation=cv2.INTER_LINEAR)` convention on 8-bit images
    /// (half-pixel centres, edge clamping, 11-bit fixed-point weights, no antialiasing), then
    /// stored as B, G, R planes in 0–255 as `cv2.imread` + syncnet_python hand them to the net.
    /// - Returns: `frames.count x 3 x 224 x 224`.
    public static func lipInput(frames: [Frame], crop: Crop = .wholeFrame) throws -> [Float] {
        if case .perFrame(let boxes) = crop, boxes.count != frames.count {
            throw NetsError.sizeMismatch(what: "SyncNet crops", detail: "\(boxes.count) boxes for \(frames.count) frames")
        }
        let size = cropSize, plane = size * size
        var out = [Float](repeating: 0, count: frames.count * 3 * plane)
        for (f, frame) in frames.enumerated() {
            let box: Box
            switch crop {
            case .wholeFrame: box = Box(x: 0, y: 0, width: frame.width, height: frame.height)
            case .box(let b): box = b
            case .perFrame(let boxes): box = boxes[f]
            }
            guard box.fits(width: frame.width, height: frame.height) else {
                throw NetsError.boxOutsideFrame(box: box, width: frame.width, height: frame.height)
            }
            let resized = LinearResize(sourceWidth: box.width, sourceHeight: box.height,
                                       width: size, height: size).apply(frame.rgb, stride: frame.width * 3,
                                                                       offset: (box.y * frame.width + box.x) * 3)
            out.withUnsafeMutableBufferPointer { dst in
                let base = dst.baseAddress! + f * 3 * plane
                for p in 0..<plane {
                    base[p] = Float(resized[p * 3 + 2])              // B
                    base[plane + p] = Float(resized[p * 3 + 1])      // G
                    base[2 * plane + p] = Float(resized[p * 3])      // R
                }
            }
        }
        return out
    }

    /// Lip embeddings straight from decoded frames (see ``lipInput(frames:crop:)`` and
    /// ``embedVideo(lipInput:frameCount:windows:)``). Crops are prepared a few dozen windows at a
    /// time, so memory stays flat however long the clip (a 60 s clip's crops alone would be
    /// 900 MB of floats).
    public func embedVideo(frames: [Frame], crop: Crop = .wholeFrame, windows: Int? = nil) throws -> [Float] {
        if case .perFrame(let boxes) = crop, boxes.count != frames.count {
            throw NetsError.sizeMismatch(what: "SyncNet crops", detail: "\(boxes.count) boxes for \(frames.count) frames")
        }
        let available = frames.count - Self.windowFrames + 1
        let count = windows ?? available
        guard available >= 1, count >= 1, count <= available else {
            throw NetsError.notEnoughFrames(what: "SyncNet video (\(count) windows asked)", count: frames.count,
                                            minimum: max(count, 1) + Self.windowFrames - 1)
        }
        let chunk = 4 * Self.lipChunk
        var out: [Float] = []
        out.reserveCapacity(count * Self.embeddingSize)
        var start = 0
        while start < count {
            let n = min(chunk, count - start)
            let range = start..<(start + n + Self.windowFrames - 1)
            var part = crop
            if case .perFrame(let boxes) = crop { part = .perFrame(Array(boxes[range])) }
            let input = try Self.lipInput(frames: Array(frames[range]), crop: part)
            out += try embedVideo(lipInput: input, frameCount: range.count, windows: n)
            start += n
        }
        return out
    }
}

/// Bilinear resize of 8-bit interleaved RGB as OpenCV's `resize` with `INTER_LINEAR` computes it
/// for `CV_8U` (bit for bit against opencv-python 5.0 in the tests): source coordinate
/// `(d + 0.5) * scale - 0.5` in float, both weights rounded to 11-bit integers
/// (`INTER_RESIZE_COEF_SCALE` 2048), a horizontal pass into integers, then the vertical pass
/// rounded as OpenCV's SIMD kernel (`VResizeLinearVec_32s8u`) rounds it:
/// `(((r0 >> 4) * b0 >> 16) + ((r1 >> 4) * b1 >> 16) + 2) >> 2`.
struct LinearResize: Sendable {
    let sourceWidth: Int
    let sourceHeight: Int
    let width: Int
    let height: Int

    /// Per output coordinate: first source index and the two fixed-point weights.
    /// OpenCV clamps the horizontal taps (weight moves onto the edge pixel) but not the vertical
    /// ones: a row above or below the image is read as the edge row with its own weight, which
    /// the rounding of the vertical pass can tell apart.
    static func taps(source: Int, destination: Int, clampWeights: Bool) -> (index: [Int], weight0: [Int32], weight1: [Int32]) {
        let scale = Double(source) / Double(destination)
        var index = [Int](repeating: 0, count: destination)
        var w0 = [Int32](repeating: 0, count: destination), w1 = w0
        for d in 0..<destination {
            var f = Float((Double(d) + 0.5) * scale - 0.5)
            var s = Int(f.rounded(.down))
            f -= Float(s)
            if clampWeights && s < 0 { f = 0; s = 0 }
            if clampWeights && s >= source - 1 { f = 0; s = source - 1 }
            index[d] = s
            w0[d] = Int32(((Float(1) - f) * 2048).rounded(.toNearestOrEven))
            w1[d] = Int32((f * 2048).rounded(.toNearestOrEven))
        }
        return (index, w0, w1)
    }

    /// Resizes the `sourceWidth x sourceHeight` window of `pixels` starting at byte `offset`
    /// with row stride `stride` bytes; returns `width x height x 3` bytes.
    func apply(_ pixels: [UInt8], stride: Int, offset: Int) -> [UInt8] {
        let xs = Self.taps(source: sourceWidth, destination: width, clampWeights: true)
        let ys = Self.taps(source: sourceHeight, destination: height, clampWeights: false)
        var out = [UInt8](repeating: 0, count: width * height * 3)
        var rows = [Int32](repeating: 0, count: 2 * width * 3)
        pixels.withUnsafeBufferPointer { src in
            rows.withUnsafeMutableBufferPointer { buf in
                out.withUnsafeMutableBufferPointer { dst in
                    for y in 0..<height {
                        let sy0 = min(max(ys.index[y], 0), sourceHeight - 1)
                        let sy1 = min(max(ys.index[y] + 1, 0), sourceHeight - 1)
                        for (k, sy) in [sy0, sy1].enumerated() {
                            let row = src.baseAddress! + offset + sy * stride
                            let acc = buf.baseAddress! + k * width * 3
                            for x in 0..<width {
                                let sx0 = xs.index[x] * 3, sx1 = min(xs.index[x] + 1, sourceWidth - 1) * 3
                                let a = xs.weight0[x], b = xs.weight1[x]
                                for c in 0..<3 { acc[x * 3 + c] = Int32(row[sx0 + c]) * a + Int32(row[sx1 + c]) * b }
                            }
                        }
                        let b0 = ys.weight0[y], b1 = ys.weight1[y]
                        let r0 = buf.baseAddress!, r1 = r0 + width * 3
                        let line = dst.baseAddress! + y * width * 3
                        for i in 0..<(width * 3) {
                            let v = ((((r0[i] >> 4) * b0) >> 16) + (((r1[i] >> 4) * b1) >> 16) + 2) >> 2
                            line[i] = UInt8(clamping: v)
                        }
                    }
                }
            }
        }
        return out
    }
}
