import Dispatch

/// One 2-D convolution (cross-correlation, as PyTorch's `Conv2d`), with any batch-norm that
/// follows it folded in, computed as im2col + one sgemm over the whole batch.
///
/// PyTorch's `Conv3d` layers whose temporal kernel is 1 (SyncNet's lip stream after its first
/// layer, where the time axis is already 1) are this same operation with the weight's unit
/// temporal axis dropped.
struct ConvLayer: Sendable {
    let outChannels: Int
    let inChannels: Int
    let kernelH: Int
    let kernelW: Int
    let strideH: Int
    let strideW: Int
    let padH: Int
    let padW: Int
    /// `outChannels x (inChannels * kernelH * kernelW)`, PyTorch's weight layout flattened.
    var weight: [Float]
    var bias: [Float]

    init(weight: [Float], bias: [Float]?, outChannels: Int, inChannels: Int,
         kernel: (Int, Int), stride: (Int, Int) = (1, 1), padding: (Int, Int) = (0, 0)) {
        precondition(weight.count == outChannels * inChannels * kernel.0 * kernel.1, "ConvLayer: weight count")
        self.outChannels = outChannels
        self.inChannels = inChannels
        (kernelH, kernelW) = kernel
        (strideH, strideW) = stride
        (padH, padW) = padding
        self.weight = weight
        self.bias = bias ?? [Float](repeating: 0, count: outChannels)
    }

    var patchSize: Int { inChannels * kernelH * kernelW }

    /// Folds an eval-mode BatchNorm (`y = γ (x - μ) / sqrt(σ² + ε) + β`) into the weights and
    /// bias, in Double so the folding adds no error of its own beyond the final rounding.
    mutating func foldBatchNorm(gamma: [Float], beta: [Float], mean: [Float], variance: [Float],
                                epsilon: Double = 1e-5) {
        foldBatchNormInto(weight: &weight, bias: &bias, rows: outChannels,
                      gamma: gamma, beta: beta, mean: mean, variance: variance, epsilon: epsilon)
    }

    func outputSize(height: Int, width: Int) -> (height: Int, width: Int) {
        ((height + 2 * padH - kernelH) / strideH + 1, (width + 2 * padW - kernelW) / strideW + 1)
    }

    /// The convolution of `input` (C x N x H x W), then ReLU if asked.
    func callAsFunction(_ input: FeatureMap, relu: Bool) -> FeatureMap {
        precondition(input.channels == inChannels, "ConvLayer: \(input.channels) channels, expected \(inChannels)")
        let (oh, ow) = outputSize(height: input.height, width: input.width)
        precondition(oh > 0 && ow > 0, "ConvLayer: input \(input.height)x\(input.width) smaller than kernel")
        let columns = input.batch * oh * ow
        var output = FeatureMap(channels: outChannels, batch: input.batch, height: oh, width: ow)
        let isPointwise = kernelH == 1 && kernelW == 1 && strideH == 1 && strideW == 1 && padH == 0 && padW == 0
        output.data.withUnsafeMutableBufferPointer { out in
            fillBias(out.baseAddress!, rows: outChannels, columns: columns)
            weight.withUnsafeBufferPointer { w in
                input.data.withUnsafeBufferPointer { x in
                    if isPointwise {
                        sgemm(m: outChannels, n: columns, k: inChannels, a: w.baseAddress!, lda: inChannels,
                              b: x.baseAddress!, ldb: columns, beta: 1, c: out.baseAddress!, ldc: columns)
                        return
                    }
                    var col = [Float](repeating: 0, count: patchSize * columns)
                    col.withUnsafeMutableBufferPointer { c in
                        let geometry = Im2col(channels: inChannels, batch: input.batch, height: input.height,
                                              width: input.width, kernelH: kernelH, kernelW: kernelW,
                                              strideH: strideH, strideW: strideW, padH: padH, padW: padW)
                        let batch = input.batch, plane = input.plane
                        geometry.fill(c.baseAddress!, from: x.baseAddress!) { ci, n in (ci * batch + n) * plane }
                        sgemm(m: outChannels, n: columns, k: patchSize, a: w.baseAddress!, lda: patchSize,
                              b: c.baseAddress!, ldb: columns, beta: 1, c: out.baseAddress!, ldc: columns)
                    }
                }
            }
            if relu { reluInPlace(out) }
        }
        return output
    }

    func fillBias(_ out: UnsafeMutablePointer<Float>, rows: Int, columns: Int) {
        bias.withUnsafeBufferPointer { b in
            for r in 0..<rows { (out + r * columns).update(repeating: b[r], count: columns) }
        }
    }
}

/// Folds batch-norm statistics into `rows x K` weights and their bias (shared by convolutions
/// and SyncNet's fully connected layers).
func foldBatchNormInto(weight: inout [Float], bias: inout [Float], rows: Int,
                   gamma: [Float], beta: [Float], mean: [Float], variance: [Float], epsilon: Double) {
    precondition(gamma.count == rows && beta.count == rows && mean.count == rows && variance.count == rows
                 && bias.count == rows && weight.count % rows == 0, "foldBatchNorm: sizes")
    let k = weight.count / rows
    for r in 0..<rows {
        let scale = Double(gamma[r]) / (Double(variance[r]) + epsilon).squareRoot()
        for j in 0..<k { weight[r * k + j] = Float(Double(weight[r * k + j]) * scale) }
        bias[r] = Float((Double(bias[r]) - Double(mean[r])) * scale + Double(beta[r]))
    }
}

func reluInPlace(_ x: UnsafeMutableBufferPointer<Float>) {
    for i in x.indices where x[i] < 0 { x[i] = 0 }
}

/// The im2col layout: row `(ci * kernelH + i) * kernelW + j`, column `(n * oh + y) * ow + x`
/// holds input channel `ci` of image `n` at `(y * strideH - padH + i, x * strideW - padW + j)`,
/// zero outside the image.
struct Im2col: Sendable {
    var channels: Int
    var batch: Int
    var height: Int
    var width: Int
    var kernelH: Int
    var kernelW: Int
    var strideH: Int
    var strideW: Int
    var padH: Int
    var padW: Int

    var outHeight: Int { (height + 2 * padH - kernelH) / strideH + 1 }
    var outWidth: Int { (width + 2 * padW - kernelW) / strideW + 1 }
    var rows: Int { channels * kernelH * kernelW }
    var columns: Int { batch * outHeight * outWidth }

    /// Fills `col` (`rows x columns`); `planeOffset(ci, n)` locates the `height x width` plane of
    /// channel `ci` of image `n` in `source`, so callers can gather channels from anywhere (the lip
    /// stream reads its 5-frame windows straight out of the frame sequence without copying).
    /// Rows are split over the cores: for the large first layers im2col is memory-bound work
    /// that would otherwise sit beside an idle core.
    func fill(_ col: UnsafeMutablePointer<Float>, from source: UnsafePointer<Float>,
              planeOffset: (Int, Int) -> Int) {
        let oh = outHeight, ow = outWidth, rowLength = columns
        let rows = self.rows
        let offsets = (0..<(channels * batch)).map { planeOffset($0 / batch, $0 % batch) }
        let colAddress = UInt(bitPattern: col), srcAddress = UInt(bitPattern: source)
        let work: @Sendable (Int) -> Void = { row in
            let col = UnsafeMutablePointer<Float>(bitPattern: colAddress)!
            let source = UnsafePointer<Float>(bitPattern: srcAddress)!
            let ci = row / (kernelH * kernelW)
            let i = (row / kernelW) % kernelH
            let j = row % kernelW
            // Valid output columns x: 0 <= x * strideW - padW + j < width.
            let xLo = max(0, (padW - j + strideW - 1) / strideW)
            let xHi = min(ow, (width - 1 + padW - j) / strideW + 1)
            for n in 0..<batch {
                let plane = source + offsets[ci * batch + n]
                var dst = col + row * rowLength + n * oh * ow
                for y in 0..<oh {
                    let iy = y * strideH - padH + i
                    if iy < 0 || iy >= height || xHi <= xLo {
                        dst.update(repeating: 0, count: ow)
                    } else {
                        if xLo > 0 { dst.update(repeating: 0, count: xLo) }
                        if xHi < ow { (dst + xHi).update(repeating: 0, count: ow - xHi) }
                        let src = plane + iy * width - padW + j
                        if strideW == 1 {
                            (dst + xLo).update(from: src + xLo, count: xHi - xLo)
                        } else {
                            var x = xLo
                            while x < xHi { dst[x] = src[x * strideW]; x += 1 }
                        }
                    }
                    dst += ow
                }
            }
        }
        if rows * rowLength >= 1 << 20 {
            let chunks = min(rows, 16)
            DispatchQueue.concurrentPerform(iterations: chunks) { c in
                var row = c * rows / chunks
                while row < (c + 1) * rows / chunks { work(row); row += 1 }
            }
        } else {
            for row in 0..<rows { work(row) }
        }
    }
}
