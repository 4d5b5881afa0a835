/// One 2-D convolution (cross-correlation, as PyTorch's `Conv2d`), with any batch-norm that
/// follows it folded in, computed as im2col + one sgemm over the whole batch.
///
/// PyTorch's `Conv3d` layers whose temporal kernel is 1 (SyncNet's lip stream after its first
/// layer, where the time axis is already 1) are this same operation with the weight's unit
/// temporal axis dropped.
struct ConvLayer: Sendable {
    // MARK: - Geometry and weights

    let outChannels: Int
    let inChannels: Int
    let kernelH: Int
    let kernelW: Int
    let strideH: Int
    let strideW: Int
    let padH: Int
    let padW: Int
    /// `outChannels x (inChannels * kernelH * kernelW)`, PyTorch's weight layout flattened.
    private(set) var weight: [Float]
    private(set) var bias: [Float]
    /// The Winograd form of stride-1 3x3 and 5x5 layers, and of stride-2 5x5 layers as a 3x3
    /// layer over the input's four polyphase components (``isPolyphase``), when there are enough
    /// input channels for the transforms to pay (see ``WinogradConv``); nil for the rest, which
    /// run as im2col + sgemm.
    private(set) var winograd: WinogradConv?
    /// The stride-2 layer `y = Σ w[i][j] x[2Y+i][2X+j]` is run as the stride-1 3x3 layer
    /// `Σ w[2a+p][2b+q] x_pq[Y+a][X+b]` over the components `x_pq[u][v] = x[2u+p][2v+q]`
    /// (`4 Cin` channels, taps past the 5x5 kernel zero).
    var isPolyphase: Bool { strideH == 2 }

    // MARK: - Construction

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
        winograd = makeWinograd()
    }

    func makeWinograd() -> WinogradConv? {
        guard kernelH == kernelW, strideH == strideW, padH == padW, inChannels >= 16 else { return nil }
        if strideH == 1 && (kernelH == 3 || kernelH == 5) {
            return WinogradConv(weight: weight, outChannels: outChannels, inChannels: inChannels, kernel: kernelH, pad: padH)
        }
        guard strideH == 2 && kernelH == 5 else { return nil }
        let k = kernelH, cin = inChannels
        var phased = [Float](repeating: 0, count: outChannels * 4 * cin * 9)
        for o in 0..<outChannels {
            for phase in 0..<4 {
                let p = phase / 2, q = phase % 2
                for c in 0..<cin {
                    for a in 0..<3 where 2 * a + p < k {
                        for b in 0..<3 where 2 * b + q < k {
                            phased[((o * 4 + phase) * cin + c) * 9 + a * 3 + b] = weight[((o * cin + c) * k + 2 * a + p) * k + 2 * b + q]
                        }
                    }
                }
            }
        }
        return WinogradConv(weight: phased, outChannels: outChannels, inChannels: 4 * cin, kernel: 3, pad: 0)
    }

    /// The four polyphase components of the zero-padded input, `4 Cin` channels (phase-major)
    /// of `(oh + 2) x (ow + 2)` (see ``isPolyphase``).
    func polyphase(_ input: FeatureMap, oh: Int, ow: Int) -> FeatureMap {
        let ph = oh + 2, pw = ow + 2, h = input.height, w = input.width, pad = padH
        let planes = input.channels * input.batch
        var phases = FeatureMap(channels: 4 * input.channels, batch: input.batch, height: ph, width: pw)
        input.data.withUnsafeBufferPointer { x in
            phases.data.withUnsafeMutableBufferPointer { out in
                for phase in 0..<4 {
                    let p = phase / 2, q = phase % 2
                    for plane in 0..<planes {
                        let src = x.baseAddress! + plane * h * w
                        let dst = out.baseAddress! + (phase * planes + plane) * ph * pw
                        for u in 0..<ph {
                            let y = 2 * u + p - pad
                            if y < 0 || y >= h { continue }
                            for v in 0..<pw {
                                let xx = 2 * v + q - pad
                                if xx >= 0 && xx < w { dst[u * pw + v] = src[y * w + xx] }
                            }
                        }
                    }
                }
            }
        }
        return phases
    }

    var patchSize: Int { inChannels * kernelH * kernelW }

    /// Floats of patch matrix a serial call unrolls at a time (see
    /// ``callAsFunction(_:relu:scratch:parallel:)``): 2 MB, within a core's share of the L3
    /// (100 mouth crops: 0.45 s against 0.49 s unrolling whole 32-image batches).
    static let serialPatchBudget = 1 << 19

    // MARK: - Batch-norm folding and output size

    /// Folds an eval-mode BatchNorm (`y = γ (x - μ) / sqrt(σ² + ε) + β`) into the weights and
    /// bias, in Double so the folding adds no error of its own beyond the final rounding.
    mutating func foldBatchNorm(gamma: [Float], beta: [Float], mean: [Float], variance: [Float],
                                epsilon: Double = 1e-5) {
        foldBatchNormInto(weight: &weight, bias: &bias, rows: outChannels,
                      gamma: gamma, beta: beta, mean: mean, variance: variance, epsilon: epsilon)
        winograd = makeWinograd()
    }

    func outputSize(height: Int, width: Int) -> (height: Int, width: Int) {
        ((height + 2 * padH - kernelH) / strideH + 1, (width + 2 * padW - kernelW) / strideW + 1)
    }

    // MARK: - Forward pass

    /// The convolution of `input` (C x N x H x W), then ReLU if asked.
    func callAsFunction(_ input: FeatureMap, relu: Bool) -> FeatureMap {
        var scratch: [Float] = []
        return callAsFunction(input, relu: relu, scratch: &scratch)
    }

    /// As above, with the im2col matrix in `scratch` (grown when too small): callers running
    /// many layers or chunks pass one buffer, so tens of megabytes are not mapped and faulted
    /// in again for every call.
    ///
    /// `parallel: false` keeps the layer's own loops on the calling thread, for callers that
    /// already run one batch per core (see ``LPIPS``).
    func callAsFunction(_ input: FeatureMap, relu: Bool, scratch: inout [Float], parallel: Bool = true) -> FeatureMap {
        precondition(input.channels == inChannels, "ConvLayer: \(input.channels) channels, expected \(inChannels)")
        let (oh, ow) = outputSize(height: input.height, width: input.width)
        precondition(oh > 0 && ow > 0, "ConvLayer: input \(input.height)x\(input.width) smaller than kernel")
        if let winograd {
            let x = isPolyphase ? polyphase(input, oh: oh, ow: ow) : input
            return winograd.apply(x, bias: bias, relu: relu, scratch: &scratch, parallel: parallel)
        }
        let columns = input.batch * oh * ow
        var output = FeatureMap(channels: outChannels, batch: input.batch, height: oh, width: ow, uninitialized: ())
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
                    // Serial callers (one batch per core) unroll a few images at a time, so the
                    // patch matrix is still in cache when the sgemm reads it back; threaded
                    // callers unroll the whole batch into one wide sgemm for OpenBLAS to split.
                    let batch = input.batch, plane = input.plane, perImage = patchSize * oh * ow
                    let chunk = parallel ? batch : max(1, min(batch, Self.serialPatchBudget / perImage))
                    let count = chunk * perImage
                    if scratch.count < count {
                        scratch = [Float](unsafeUninitializedCapacity: count) { _, filled in filled = count }
                    }
                    scratch.withUnsafeMutableBufferPointer { c in
                        for n0 in stride(from: 0, to: batch, by: chunk) {
                            let images = min(chunk, batch - n0)
                            let geometry = Im2col(channels: inChannels, batch: images, height: input.height,
                                                  width: input.width, kernelH: kernelH, kernelW: kernelW,
                                                  strideH: strideH, strideW: strideW, padH: padH, padW: padW)
                            // im2col writes every element (zeros included).
                            geometry.fill(c.baseAddress!, from: x.baseAddress!, parallel: parallel) { ci, n in (ci * batch + n0 + n) * plane }
                            sgemm(m: outChannels, n: images * oh * ow, k: patchSize, a: w.baseAddress!, lda: patchSize,
                                  b: c.baseAddress!, ldb: images * oh * ow, beta: 1,
                                  c: out.baseAddress! + n0 * oh * ow, ldc: columns)
                        }
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

/// ReLU as PyTorch computes it (NaN stays NaN), 16 lanes at a time: the scalar loop's branch
/// on the sign of every activation mispredicts half the time.
func reluInPlace(_ x: UnsafeMutableBufferPointer<Float>) {
    guard let base = x.baseAddress else { return }
    let raw = UnsafeMutableRawPointer(base)
    var i = 0
    while i + 16 <= x.count {
        let v = raw.loadUnaligned(fromByteOffset: 4 * i, as: SIMD16<Float>.self)
        raw.storeBytes(of: v.replacing(with: 0, where: v .< 0), toByteOffset: 4 * i, as: SIMD16<Float>.self)
        i += 16
    }
    while i < x.count {
        if x[i] < 0 { x[i] = 0 }
        i += 1
    }
}
