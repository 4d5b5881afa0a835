/// Max pooling as PyTorch's `MaxPool2d` (and `MaxPool3d` with a unit temporal kernel) computes
/// it in its default floor mode: padding never wins (it acts as -inf), output size
/// `floor((H + 2p - k) / s) + 1`.
struct MaxPool: Sendable {
    var kernelH: Int
    var kernelW: Int
    var strideH: Int
    var strideW: Int
    var padH: Int = 0
    var padW: Int = 0

    func callAsFunction(_ input: FeatureMap) -> FeatureMap {
        let oh = (input.height + 2 * padH - kernelH) / strideH + 1
        let ow = (input.width + 2 * padW - kernelW) / strideW + 1
        precondition(oh > 0 && ow > 0, "MaxPool: input \(input.height)x\(input.width) smaller than kernel")
        var output = FeatureMap(channels: input.channels, batch: input.batch, height: oh, width: ow)
        let h = input.height, w = input.width, planes = input.channels * input.batch
        input.data.withUnsafeBufferPointer { x in
            output.data.withUnsafeMutableBufferPointer { out in
                for p in 0..<planes {
                    let src = x.baseAddress! + p * h * w
                    let dst = out.baseAddress! + p * oh * ow
                    for y in 0..<oh {
                        let y0 = max(0, y * strideH - padH), y1 = min(h, y * strideH - padH + kernelH)
                        for xo in 0..<ow {
                            let x0 = max(0, xo * strideW - padW), x1 = min(w, xo * strideW - padW + kernelW)
                            var m = -Float.infinity
                            for yy in y0..<y1 {
                                let row = src + yy * w
                                for xx in x0..<x1 where row[xx] > m { m = row[xx] }
                            }
                            dst[y * ow + xo] = m
                        }
                    }
                }
            }
        }
        return output
    }
}
