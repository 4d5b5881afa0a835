import Testing
@testable import Metrics

/// Direct (six nested loops) convolution in Double: the definition im2col + sgemm must equal.
private func naiveConv(_ x: FeatureMap, _ layer: ConvLayer) -> [Double] {
    let (oh, ow) = layer.outputSize(height: x.height, width: x.width)
    var out = [Double](repeating: 0, count: layer.outChannels * x.batch * oh * ow)
    for o in 0..<layer.outChannels { for n in 0..<x.batch { for y in 0..<oh { for xo in 0..<ow {
        var s = Double(layer.bias[o])
        for c in 0..<layer.inChannels { for i in 0..<layer.kernelH { for j in 0..<layer.kernelW {
            let iy = y * layer.strideH - layer.padH + i, ix = xo * layer.strideW - layer.padW + j
            guard iy >= 0, iy < x.height, ix >= 0, ix < x.width else { continue }
            s += Double(layer.weight[((o * layer.inChannels + c) * layer.kernelH + i) * layer.kernelW + j])
                * Double(x.data[((c * x.batch + n) * x.height + iy) * x.width + ix])
        } } }
        out[((o * x.batch + n) * oh + y) * ow + xo] = s
    } } } }
    return out
}

struct ConvCase: Sendable, CustomTestStringConvertible {
    var inC: Int, outC: Int, batch: Int, h: Int, w: Int, kernel: (Int, Int), stride: (Int, Int), pad: (Int, Int)
    var testDescription: String { "\(inC)->\(outC) \(h)x\(w) k\(kernel) s\(stride) p\(pad)" }
    /// Error bound relative to `max(1, |exact|)`: Winograd F(2x2, 5x5) rounds about 3x more than
    /// the im2col path (its transforms scale values by up to 5/4 and back), the rest stay at 1e-5.
    var tolerance: Double { inC >= 16 && kernel == (5, 5) && stride == (1, 1) ? 5e-5 : 1e-5 }
}

@Test(arguments: [
    ConvCase(inC: 3, outC: 4, batch: 2, h: 23, w: 19, kernel: (11, 11), stride: (4, 4), pad: (2, 2)),
    ConvCase(inC: 5, outC: 3, batch: 3, h: 9, w: 11, kernel: (3, 2), stride: (2, 1), pad: (1, 0)),
    ConvCase(inC: 2, outC: 6, batch: 1, h: 13, w: 20, kernel: (3, 3), stride: (1, 1), pad: (1, 1)),
    ConvCase(inC: 4, outC: 5, batch: 2, h: 5, w: 4, kernel: (5, 4), stride: (1, 1), pad: (0, 0)),
    ConvCase(inC: 7, outC: 2, batch: 2, h: 6, w: 5, kernel: (1, 1), stride: (1, 1), pad: (0, 0)),
    ConvCase(inC: 3, outC: 3, batch: 1, h: 12, w: 12, kernel: (5, 5), stride: (2, 2), pad: (1, 1)),
    // Winograd (16+ input channels), odd and even output sides: F(2x2, 3x3) and F(2x2, 5x5).
    ConvCase(inC: 16, outC: 5, batch: 2, h: 13, w: 20, kernel: (3, 3), stride: (1, 1), pad: (1, 1)),
    ConvCase(inC: 19, outC: 4, batch: 3, h: 5, w: 9, kernel: (3, 3), stride: (1, 1), pad: (1, 1)),
    ConvCase(inC: 17, outC: 3, batch: 2, h: 11, w: 19, kernel: (5, 5), stride: (1, 1), pad: (2, 2)),
    ConvCase(inC: 16, outC: 5, batch: 3, h: 6, w: 7, kernel: (5, 5), stride: (1, 1), pad: (2, 2)),
    ConvCase(inC: 20, outC: 2, batch: 1, h: 9, w: 8, kernel: (5, 5), stride: (1, 1), pad: (0, 0)),
    // Stride-2 5x5 as F(2x2, 3x3) over the four polyphase components.
    ConvCase(inC: 16, outC: 3, batch: 2, h: 15, w: 14, kernel: (5, 5), stride: (2, 2), pad: (1, 1)),
    ConvCase(inC: 16, outC: 2, batch: 1, h: 12, w: 13, kernel: (5, 5), stride: (2, 2), pad: (0, 0)),
])
func im2colConvolutionEqualsDirect(_ c: ConvCase) {
    let weight = NetsFormula.unit(1, c.outC * c.inC * c.kernel.0 * c.kernel.1)
    let layer = ConvLayer(weight: weight, bias: NetsFormula.unit(2, c.outC), outChannels: c.outC, inChannels: c.inC,
                          kernel: c.kernel, stride: c.stride, padding: c.pad)
    let x = FeatureMap(channels: c.inC, batch: c.batch, height: c.h, width: c.w,
                       data: NetsFormula.unit(3, c.inC * c.batch * c.h * c.w))
    let got = layer(x, relu: false)
    let want = naiveConv(x, layer)
    let (oh, ow) = layer.outputSize(height: c.h, width: c.w)
    #expect(got.height == oh && got.width == ow && got.batch == c.batch && got.channels == c.outC)
    for (g, e) in zip(got.data, want) { #expect(abs(Double(g) - e) <= c.tolerance * max(1, abs(e))) }
    let relu = layer(x, relu: true)
    #expect(relu.data == got.data.map { max(0, $0) })
    // The serial path (one batch per core, the caller's threads) computes the same layer.
    var scratch: [Float] = []
    let serial = layer(x, relu: false, scratch: &scratch, parallel: false)
    for (g, e) in zip(serial.data, want) { #expect(abs(Double(g) - e) <= c.tolerance * max(1, abs(e))) }
}

@Test func serialConvolutionUnrollsAFewImagesAtATime() {
    // LPIPS's stem on four mouth-crop-sized images: the patch matrix of the batch is over the
    // serial budget, so the layer runs image by image into the strided output.
    let c = ConvCase(inC: 3, outC: 4, batch: 4, h: 96, w: 160, kernel: (11, 11), stride: (4, 4), pad: (2, 2))
    let layer = ConvLayer(weight: NetsFormula.unit(11, c.outC * c.inC * 121), bias: NetsFormula.unit(12, c.outC),
                          outChannels: c.outC, inChannels: c.inC, kernel: c.kernel, stride: c.stride, padding: c.pad)
    let x = FeatureMap(channels: c.inC, batch: c.batch, height: c.h, width: c.w,
                       data: NetsFormula.unit(13, c.inC * c.batch * c.h * c.w))
    let (oh, ow) = layer.outputSize(height: c.h, width: c.w)
    #expect(layer.patchSize * oh * ow * c.batch > ConvLayer.serialPatchBudget)
    var scratch: [Float] = []
    let got = layer(x, relu: true, scratch: &scratch, parallel: false)
    #expect(scratch.count < layer.patchSize * oh * ow * c.batch)
    let want = naiveConv(x, layer).map { max(0, $0) }
    #expect(got.data.count == want.count)
    var worst = 0.0
    for (g, e) in zip(got.data, want) { worst = max(worst, abs(Double(g) - e) / max(1, abs(e))) }
    #expect(worst <= 1e-5)
}

@Test func serialWinogradRunsImageByImageWhenTheBatchOutgrowsTheCache() throws {
    // LPIPS's conv2 (64 -> 192, 5x5) on eight 11x19 maps: V and M of the whole batch exceed
    // the one-pass budget, so the serial path transforms one image at a time into the strided
    // output. Sampled outputs against the definition; the whole map against the one-pass result.
    let (cin, cout, batch, h, w) = (64, 192, 8, 11, 19)
    let layer = ConvLayer(weight: NetsFormula.unit(21, cout * cin * 25).map { $0 * 0.05 }, bias: NetsFormula.unit(22, cout),
                          outChannels: cout, inChannels: cin, kernel: (5, 5), stride: (1, 1), padding: (2, 2))
    let winograd = try #require(layer.winograd)
    #expect(36 * (cin + cout) * 60 * batch > WinogradConv.onePassBudget)
    let x = FeatureMap(channels: cin, batch: batch, height: h, width: w, data: NetsFormula.unit(23, cin * batch * h * w).map { max(0, $0) })
    var scratch: [Float] = []
    let serial = layer(x, relu: false, scratch: &scratch, parallel: false)
    #expect(scratch.count < 36 * (cin + cout) * 60 * batch)
    let whole = winograd.apply(x, bias: layer.bias, relu: false, scratch: &scratch, parallel: true)
    // The two runs block the transform-domain sgemm differently (one image against the whole
    // batch), so their float32 sums round in different orders. Each is within the F(2x2, 5x5)
    // form's bound of the exact result (5e-5 relative, checked against the definition below),
    // so they differ by at most twice that; the same bits are not promised across CPUs (OpenBLAS
    // picks its kernel, and so its summation order, by CPU).
    var worst: Float = 0
    for (a, b) in zip(serial.data, whole.data) { worst = max(worst, abs(a - b) / max(1, abs(b))) }
    #expect(worst <= 2 * 5e-5)
    for k in 0..<97 {
        let o = (k * 37) % cout, n = k % batch, y = (k * 5) % h, xo = (k * 11) % w
        var e = Double(layer.bias[o])
        for c in 0..<cin { for i in 0..<5 { for j in 0..<5 {
            let iy = y - 2 + i, ix = xo - 2 + j
            guard iy >= 0, iy < h, ix >= 0, ix < w else { continue }
            e += Double(layer.weight[((o * cin + c) * 5 + i) * 5 + j]) * Double(x.data[((c * batch + n) * h + iy) * w + ix])
        } } }
        let g = Double(serial.data[((o * batch + n) * h + y) * w + xo])
        #expect(abs(g - e) <= 5e-5 * max(1, abs(e)), "output \(o) image \(n) at \(y),\(xo)")
    }
}

@Test(arguments: [9, 18, 19, 33, 34, 41])
func maxPoolStrideTwoMatchesDefinition(width: Int) {
    // The vectorised 3-wide stride-2 path and its scalar tail.
    let h = 7, data = NetsFormula.unit(5, 2 * h * width)
    let x = FeatureMap(channels: 2, batch: 1, height: h, width: width, data: data)
    let y = MaxPool(kernelH: 3, kernelW: 3, strideH: 2, strideW: 2)(x)
    #expect(MaxPool(kernelH: 3, kernelW: 3, strideH: 2, strideW: 2)(x, parallel: false).data == y.data)
    let ow = (width - 3) / 2 + 1
    #expect(y.height == 3 && y.width == ow)
    for p in 0..<2 { for oy in 0..<3 { for ox in 0..<ow {
        var m = -Float.infinity
        for iy in (oy * 2)..<(oy * 2 + 3) { for ix in (ox * 2)..<(ox * 2 + 3) { m = max(m, data[(p * h + iy) * width + ix]) } }
        #expect(y.data[(p * 3 + oy) * ow + ox] == m)
    } } }
}

@Test func maxPoolMatchesDefinitionWithPadding() {
    // 1 channel, 2 images of 5x6; kernel 3, stride 2, padding 1 (padding never wins).
    let data = NetsFormula.unit(4, 60)
    let x = FeatureMap(channels: 1, batch: 2, height: 5, width: 6, data: data)
    let y = MaxPool(kernelH: 3, kernelW: 3, strideH: 2, strideW: 2, padH: 1, padW: 1)(x)
    #expect(y.height == 3 && y.width == 3)
    for n in 0..<2 { for oy in 0..<3 { for ox in 0..<3 {
        var m = -Float.infinity
        for iy in max(0, oy * 2 - 1)..<min(5, oy * 2 + 2) { for ix in max(0, ox * 2 - 1)..<min(6, ox * 2 + 2) {
            m = max(m, data[(n * 5 + iy) * 6 + ix])
        } }
        #expect(y.data[(n * 3 + oy) * 3 + ox] == m)
    } } }
    // SyncNet's audio pool: kernel 3x3, stride (1, 2) on 13x20 gives 11x9.
    let a = MaxPool(kernelH: 3, kernelW: 3, strideH: 1, strideW: 2)(FeatureMap(channels: 2, batch: 1, height: 13, width: 20))
    #expect(a.height == 11 && a.width == 9)
}

@Test func foldedBatchNormEqualsConvThenBatchNorm() {
    let c = 3, k = 2
    let weight = NetsFormula.unit(5, c * 2 * k * k)
    var layer = ConvLayer(weight: weight, bias: NetsFormula.unit(6, c), outChannels: c, inChannels: 2, kernel: (k, k))
    let x = FeatureMap(channels: 2, batch: 2, height: 4, width: 5, data: NetsFormula.unit(7, 80))
    let plain = layer(x, relu: false)
    let gamma: [Float] = [1.5, 0.5, -0.75], beta: [Float] = [0.1, -0.2, 0.3]
    let mean: [Float] = [0.05, -0.4, 0.2], variance: [Float] = [0.5, 2, 1.25]
    layer.foldBatchNorm(gamma: gamma, beta: beta, mean: mean, variance: variance)
    let folded = layer(x, relu: false)
    let per = plain.batch * plain.plane
    for (i, v) in plain.data.enumerated() {
        let o = i / per
        let bn = Double(gamma[o]) * (Double(v) - Double(mean[o])) / (Double(variance[o]) + 1e-5).squareRoot() + Double(beta[o])
        #expect(abs(Double(folded.data[i]) - bn) <= 1e-5)
    }
}
