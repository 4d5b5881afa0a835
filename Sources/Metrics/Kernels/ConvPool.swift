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

    func callAsFunction(_ input: FeatureMap, parallel: Bool = true) -> FeatureMap {
        let oh = (input.height + 2 * padH - kernelH) / strideH + 1
        let ow = (input.width + 2 * padW - kernelW) / strideW + 1
        precondition(oh > 0 && ow > 0, "MaxPool: input \(input.height)x\(input.width) smaller than kernel")
        var output = FeatureMap(channels: input.channels, batch: input.batch, height: oh, width: ow, uninitialized: ())
        let h = input.height, w = input.width, planes = input.channels * input.batch
        // Separable: the max over the kernel's columns for every input row, then over its rows.
        let pool: @Sendable (UnsafePointer<Float>, UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>) -> Void = { src, dst, rowMax in
            // The common 3-wide, stride-2, unpadded window, 8 outputs at a time:
            // max(x[2o], x[2o+1], x[2o+2]) from the even and odd halves of two 16-float loads.
            let fast = kernelW == 3 && strideW == 2 && padW == 0
            let vectorOutputs = fast && w >= 18 ? ((w - 18) / 16 + 1) * 8 : 0
            for y in 0..<h {
                let row = src + y * w, line = rowMax + y * ow
                var xo = 0
                while xo < vectorOutputs {
                    let a = UnsafeRawPointer(row + 2 * xo).loadUnaligned(as: SIMD16<Float>.self)
                    let b = UnsafeRawPointer(row + 2 * xo + 2).loadUnaligned(as: SIMD16<Float>.self)
                    let m = Self.larger(Self.larger(a.evenHalf, a.oddHalf), b.evenHalf)
                    UnsafeMutableRawPointer(line + xo).storeBytes(of: m, as: SIMD8<Float>.self)
                    xo += 8
                }
                for xo in xo..<ow {
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
                    var xo = 0
                    while xo + 8 <= ow {
                        let v = UnsafeRawPointer(line + xo).loadUnaligned(as: SIMD8<Float>.self)
                        let o = UnsafeRawPointer(out + xo).loadUnaligned(as: SIMD8<Float>.self)
                        UnsafeMutableRawPointer(out + xo).storeBytes(of: Self.larger(v, o), as: SIMD8<Float>.self)
                        xo += 8
                    }
                    for xo in xo..<ow {
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
                let chunks = parallel && planes * h * w >= 1 << 18 ? min(planes, 8) : 1
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

    /// Lane-wise max as compare and select (the generic `pointwiseMax` is not inlined).
    @inline(__always)
    static func larger(_ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD8<Float> {
        a.replacing(with: b, where: b .> a)
    }
}
