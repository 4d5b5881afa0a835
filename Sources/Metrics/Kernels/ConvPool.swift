import Dispatch

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
        var output = FeatureMap(channels: input.channels, batch: input.batch, height: oh, width: ow, uninitialized: ())
        let h = input.height, w = input.width, planes = input.channels * input.batch
        // Separable: the max over the kernel's columns for every input row, then over its rows.
        let pool: @Sendable (UnsafePointer<Float>, UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>) -> Void = { src, dst, rowMax in
            for y in 0..<h {
                let row = src + y * w, line = rowMax + y * ow
                for xo in 0..<ow {
                    let x0 = max(0, xo * strideW - padW), x1 = min(w, xo * strideW - padW + kernelW)
                    var m = row[x0]
                    var xx = x0 + 1
                    while xx < x1 {
                        let v = row[xx]
                        m = v > m ? v : m
                        xx += 1
                    }
                    line[xo] = m
                }
            }
            for yo in 0..<oh {
                let y0 = max(0, yo * strideH - padH), y1 = min(h, yo * strideH - padH + kernelH)
                let out = dst + yo * ow
                out.update(from: rowMax + y0 * ow, count: ow)
                var yy = y0 + 1
                while yy < y1 {
                    let line = rowMax + yy * ow
                    for xo in 0..<ow {
                        let v = line[xo]
                        out[xo] = v > out[xo] ? v : out[xo]
                    }
                    yy += 1
                }
            }
        }
        input.data.withUnsafeBufferPointer { x in
            output.data.withUnsafeMutableBufferPointer { out in
                let xAddress = UInt(bitPattern: x.baseAddress!), outAddress = UInt(bitPattern: out.baseAddress!)
                let chunks = planes * h * w >= 1 << 18 ? min(planes, 8) : 1
                DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
                    let src = UnsafePointer<Float>(bitPattern: xAddress)!
                    let dst = UnsafeMutablePointer<Float>(bitPattern: outAddress)!
                    withUnsafeTemporaryAllocation(of: Float.self, capacity: h * ow) { rowMax in
                        for p in (chunk * planes / chunks)..<((chunk + 1) * planes / chunks) {
                            pool(src + p * h * w, dst + p * oh * ow, rowMax.baseAddress!)
                        }
                    }
                }
            }
        }
        return output
    }
}
