import CFFmpeg

/// RGB resizing through libswscale, for crops that must be brought to a network's input size.
enum Resampler {
    static func resizeRGB(_ rgb: [UInt8], width: Int, height: Int, toWidth ow: Int, height oh: Int,
                          path: String) throws(MediaError) -> [UInt8] {
        guard let ctx = sws_getContext(Int32(width), Int32(height), AV_PIX_FMT_RGB24, Int32(ow), Int32(oh),
                                       AV_PIX_FMT_RGB24, SWS_BILINEAR | SWS_ACCURATE_RND, nil, nil, nil) else {
            throw .invalidArgument(path: path, detail: "cannot resize \(width)x\(height) to \(ow)x\(oh)")
        }
        defer { sws_freeContext(ctx) }
        let count = ow * oh * 3
        return rgb.withUnsafeBufferPointer { src in
            [UInt8](unsafeUninitializedCapacity: count) { dst, n in
                var srcPtr: UnsafePointer<UInt8>? = src.baseAddress
                var srcStride = Int32(width * 3)
                var dstPtr: UnsafeMutablePointer<UInt8>? = dst.baseAddress
                var dstStride = Int32(ow * 3)
                _ = sws_scale(ctx, &srcPtr, &srcStride, 0, Int32(height), &dstPtr, &dstStride)
                n = count
            }
        }
    }
}

extension Frame {
    /// This frame resized bilinearly (libswscale) to `width` x `height`.
    public func resized(width: Int, height: Int) throws(MediaError) -> Frame {
        guard width > 0, height > 0 else {
            throw .invalidArgument(path: "<frame>", detail: "resize to \(width)x\(height) is not positive")
        }
        if width == self.width && height == self.height { return self }
        let rgb = try Resampler.resizeRGB(self.rgb, width: self.width, height: self.height,
                                          toWidth: width, height: height, path: "<frame>")
        return Frame(width: width, height: height, rgb: rgb, index: index)
    }

    /// The part of this frame inside `box`.
    public func cropped(to box: Box) throws(MediaError) -> Frame {
        guard box.fits(width: width, height: height) else {
            throw .invalidArgument(path: "<frame>", detail: "box \(box) lies outside the \(width)x\(height) frame")
        }
        var out = [UInt8](repeating: 0, count: box.width * box.height * 3)
        for y in 0..<box.height {
            let s = ((box.y + y) * width + box.x) * 3
            let d = y * box.width * 3
            out[d..<(d + box.width * 3)] = rgb[s..<(s + box.width * 3)]
        }
        return Frame(width: box.width, height: box.height, rgb: out, index: index)
    }
}
