import Foundation
import Media

/// SyncNet-v2 exactly as `S(num_layers_in_fc_layers=1024)` in syncnet_python's SyncNetModel.py,
/// in eval mode: every BatchNorm (running statistics, ε = 1e-5) is folded into the layer before
/// it at load time, convolutions are im2col + sgemm batched over windows.
///
/// Inputs are prepared as `SyncNetInstance.evaluate` prepares them:
/// - lip stream: 5-frame windows of 224x224 face crops, BGR channel order, 0–255 scale
///   (window `i` = frames `i..<i+5`);
/// - audio stream: 13x20 windows of `python_speech_features.mfcc` output (13 coefficients ×
///   20 MFCC frames; window `i` = MFCC frames `4i..<4i+20`, 4 MFCC frames per 25 fps video frame).
///
/// Embeddings are returned row-major `[windows x 1024]`, the layout the LSE code consumes.
/// `SyncNetInstance.evaluate` scores `min(frames, floor(samples / 640)) - 5` windows; pass that
/// as `windows` to reproduce it (the default is every full window).
public struct SyncNet: Sendable {
    // MARK: - Geometry

    /// Length of one video or audio embedding.
    public static let embeddingSize = 1024
    /// Side of the face crop the lip stream takes, in pixels (syncnet_python's 224).
    public static let cropSize = 224
    /// Video frames per window (0.2 s at 25 fps).
    public static let windowFrames = 5
    /// MFCC coefficients per row the audio stream takes.
    public static let mfccCoefficients = 13
    /// MFCC rows per window (0.2 s at 100 rows/s).
    public static let mfccWindow = 20
    /// MFCC rows per video frame, the stride between windows' audio.
    public static let mfccPerFrame = 4
    static let converter = "tools/convert_syncnet.py"
    /// Windows per chunk: bounds the im2col buffers (~100 MB for the lip stem) while keeping
    /// every sgemm wide.
    static let lipChunk = 8
    static let audioChunk = 64

    // MARK: - Weights

    /// Lip stem (Conv3d 3→96, kernel 5x7x7, stride 1x2x2) rearranged as `96 x [t][c][7][7]`
    /// (t-major), matching the frame-major patch rows of ``lipFeatures(_:start:windows:scratch:)``.
    let lipStemWeight: [Float]
    let lipStemBias: [Float]
    let lipConvs: [ConvLayer]
    let audioConvs: [ConvLayer]
    let lipFC: (DenseLayer, DenseLayer)
    let audioFC: (DenseLayer, DenseLayer)
    let file: SafeTensors
    /// SHA-256 of the weights file, for provenance next to every score.
    public func weightsSHA256() -> String { file.sha256() }
    /// The converter's metadata (source file and its sha256).
    public let weightsMetadata: [String: String]

    /// Loads weights converted by `tools/convert_syncnet.py` from syncnet_python's
    /// `syncnet_v2.model`.
    /// - throws: ``NetsError`` naming the file, or the tensor that is missing or misshapen.
    public init(weights: URL) throws {
        try self.init(tensors: SafeTensors(contentsOf: weights, converter: Self.converter))
    }

    /// Builds the network from tensors already loaded (tests pass formula weights held in memory).
    package init(tensors file: SafeTensors) throws {
        let t = try file.load(Self.tensorSpecs)
        self.file = file
        weightsMetadata = file.metadata
        func conv(_ prefix: String, _ index: Int, in ci: Int, out co: Int, kernel: (Int, Int),
                  stride: (Int, Int) = (1, 1), padding: (Int, Int) = (0, 0)) -> ConvLayer {
            var layer = ConvLayer(weight: t["\(prefix).\(index).weight"]!, bias: t["\(prefix).\(index).bias"]!,
                                  outChannels: co, inChannels: ci, kernel: kernel, stride: stride, padding: padding)
            let bn = "\(prefix).\(index + 1)"
            layer.foldBatchNorm(gamma: t["\(bn).weight"]!, beta: t["\(bn).bias"]!,
                                mean: t["\(bn).running_mean"]!, variance: t["\(bn).running_var"]!)
            return layer
        }
        audioConvs = [
            conv("netcnnaud", 0, in: 1, out: 64, kernel: (3, 3), padding: (1, 1)),
            conv("netcnnaud", 4, in: 64, out: 192, kernel: (3, 3), padding: (1, 1)),
            conv("netcnnaud", 8, in: 192, out: 384, kernel: (3, 3), padding: (1, 1)),
            conv("netcnnaud", 11, in: 384, out: 256, kernel: (3, 3), padding: (1, 1)),
            conv("netcnnaud", 14, in: 256, out: 256, kernel: (3, 3), padding: (1, 1)),
            conv("netcnnaud", 18, in: 256, out: 512, kernel: (5, 4)),
        ]
        let stem = conv("netcnnlip", 0, in: 15, out: 96, kernel: (7, 7), stride: (2, 2))
        var rearranged = [Float](repeating: 0, count: stem.weight.count)
        for o in 0..<96 { for c in 0..<3 { for f in 0..<5 { for k in 0..<49 {
            rearranged[((o * 5 + f) * 3 + c) * 49 + k] = stem.weight[((o * 3 + c) * 5 + f) * 49 + k]
        } } } }
        lipStemWeight = rearranged
        lipStemBias = stem.bias
        lipConvs = [
            conv("netcnnlip", 4, in: 96, out: 256, kernel: (5, 5), stride: (2, 2), padding: (1, 1)),
            conv("netcnnlip", 8, in: 256, out: 256, kernel: (3, 3), padding: (1, 1)),
            conv("netcnnlip", 11, in: 256, out: 256, kernel: (3, 3), padding: (1, 1)),
            conv("netcnnlip", 14, in: 256, out: 256, kernel: (3, 3), padding: (1, 1)),
            conv("netcnnlip", 18, in: 256, out: 512, kernel: (6, 6)),
        ]
        func fc(_ prefix: String) -> (DenseLayer, DenseLayer) {
            var first = DenseLayer(weight: t["\(prefix).0.weight"]!, bias: t["\(prefix).0.bias"]!, outputs: 512, inputs: 512)
            foldBatchNormInto(weight: &first.weight, bias: &first.bias, rows: 512,
                              gamma: t["\(prefix).1.weight"]!, beta: t["\(prefix).1.bias"]!,
                              mean: t["\(prefix).1.running_mean"]!, variance: t["\(prefix).1.running_var"]!,
                              epsilon: 1e-5)
            return (first, DenseLayer(weight: t["\(prefix).3.weight"]!, bias: t["\(prefix).3.bias"]!,
                                      outputs: Self.embeddingSize, inputs: 512))
        }
        lipFC = fc("netfclip")
        audioFC = fc("netfcaud")
    }

    /// Every tensor of syncnet_python's state dict except `num_batches_tracked`, in its order.
    package static var tensorSpecs: [TensorSpec] {
        var specs: [TensorSpec] = []
        func conv(_ name: String, _ shape: [Int]) {
            specs.append(TensorSpec("\(name).weight", shape, .weight))
            specs.append(TensorSpec("\(name).bias", [shape[0]], .bias))
        }
        func bn(_ name: String, _ c: Int) {
            specs.append(TensorSpec("\(name).weight", [c], .batchNormWeight))
            specs.append(TensorSpec("\(name).bias", [c], .batchNormBias))
            specs.append(TensorSpec("\(name).running_mean", [c], .batchNormMean))
            specs.append(TensorSpec("\(name).running_var", [c], .batchNormVariance))
        }
        for (i, shape) in [(0, [64, 1, 3, 3]), (4, [192, 64, 3, 3]), (8, [384, 192, 3, 3]), (11, [256, 384, 3, 3]),
                           (14, [256, 256, 3, 3]), (18, [512, 256, 5, 4])] {
            conv("netcnnaud.\(i)", shape)
            bn("netcnnaud.\(i + 1)", shape[0])
        }
        for prefix in ["netfcaud", "netfclip"] {
            conv("\(prefix).0", [512, 512])
            bn("\(prefix).1", 512)
            conv("\(prefix).3", [embeddingSize, 512])
        }
        for (i, shape) in [(0, [96, 3, 5, 7, 7]), (4, [256, 96, 1, 5, 5]), (8, [256, 256, 1, 3, 3]),
                           (11, [256, 256, 1, 3, 3]), (14, [256, 256, 1, 3, 3]), (18, [512, 256, 1, 6, 6])] {
            conv("netcnnlip.\(i)", shape)
            bn("netcnnlip.\(i + 1)", shape[0])
        }
        return specs
    }

    // MARK: - Lip stream

    /// Lip embeddings from prepared crops: `lipInput` is `frameCount x 3 x 224 x 224`, each frame
    /// as B, G, R planes in 0–255 (``lipInput(frames:crop:)`` makes it from decoded frames).
    /// - Returns: `[windows x 1024]`, row-major; window `i` covers frames `i..<i+5`.
    public func embedVideo(lipInput: [Float], frameCount: Int, windows: Int? = nil) throws -> [Float] {
        let plane = Self.cropSize * Self.cropSize
        guard lipInput.count == frameCount * 3 * plane else {
            throw NetsError.sizeMismatch(what: "SyncNet lip input",
                                         detail: "\(lipInput.count) values for \(frameCount) frames of 3x224x224")
        }
        let available = frameCount - Self.windowFrames + 1
        let count = windows ?? available
        guard available >= 1, count >= 1, count <= available else {
            throw NetsError.notEnoughFrames(what: "SyncNet video (\(count) windows asked)", count: frameCount,
                                            minimum: max(count, 1) + Self.windowFrames - 1)
        }
        guard lipInput.allSatisfy(\.isFinite) else { throw NetsError.nonFinite(what: "SyncNet lip input") }
        var out = [Float](repeating: 0, count: count * Self.embeddingSize)
        // One patch buffer for all chunks: a fresh 80 MB allocation per chunk costs its page
        // faults every time.
        let patches = Self.stemPatchCount(frames: min(Self.lipChunk, count) + Self.windowFrames - 1)
        var scratch = [Float](unsafeUninitializedCapacity: patches) { _, filled in filled = patches }
        var start = 0
        while start < count {
            let n = min(Self.lipChunk, count - start)
            let features = lipFeatures(lipInput, start: start, windows: n, scratch: &scratch)
            let embedded = Self.dense(features, lipFC)
            out.replaceSubrange(start * Self.embeddingSize..<(start + n) * Self.embeddingSize, with: embedded)
            start += n
        }
        return out
    }

    /// Floats of the stem's patch matrix for `frames` frames (109 x 109 outputs x 147 each).
    static func stemPatchCount(frames: Int) -> Int { 109 * 109 * frames * 147 }

    /// `netcnnlip` for windows `start..<start+n`: `512 x n` (channel-major).
    ///
    /// The stem is computed pixel-major: `patches[p][f][c,kh,kw]` holds frame `f`'s 7x7x3 patch
    /// for output pixel `p`, frames side by side, so window `i`'s `P x 735` patch matrix is the
    /// strided view starting at frame `i` (row stride `frames * 147`): every frame is unrolled
    /// once, and each window is one sgemm `96 x 735 x P` (the view transposed) written straight
    /// into the channel-major layout of the later layers over the bias; the ReLU comes after the
    /// first max-pool (they commute), on a quarter of the values.
    func lipFeatures(_ input: [Float], start: Int, windows n: Int, scratch: inout [Float]) -> FeatureMap {
        let size = Self.cropSize, plane = size * size
        let frames = n + Self.windowFrames - 1
        let oh = (size - 7) / 2 + 1, ow = oh, p = oh * ow
        let rowStride = frames * 147
        precondition(scratch.count >= Self.stemPatchCount(frames: frames), "SyncNet: stem scratch too small")
        var x = FeatureMap(channels: 96, batch: n, height: oh, width: ow, uninitialized: ())
        input.withUnsafeBufferPointer { src in
            scratch.withUnsafeMutableBufferPointer { patches in
                let patchAddress = UInt(bitPattern: patches.baseAddress!), srcAddress = UInt(bitPattern: src.baseAddress!)
                // Rows of output pixels split over the cores; each writes its own patch rows.
                let chunks = 16
                DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
                    let patches = UnsafeMutablePointer<Float>(bitPattern: patchAddress)!
                    let src = UnsafePointer<Float>(bitPattern: srcAddress)!
                    for y in (chunk * oh / chunks)..<((chunk + 1) * oh / chunks) {
                        for f in 0..<frames {
                            let framePlanes = src + (start + f) * 3 * plane
                            for xo in 0..<ow {
                                var dst = patches + (y * ow + xo) * rowStride + f * 147
                                for c in 0..<3 {
                                    var row = framePlanes + c * plane + (2 * y) * size + 2 * xo
                                    for _ in 0..<7 {
                                        dst.update(from: row, count: 7)
                                        dst += 7
                                        row += size
                                    }
                                }
                            }
                        }
                    }
                }
                lipStemWeight.withUnsafeBufferPointer { w in
                    x.data.withUnsafeMutableBufferPointer { out in
                        lipStemBias.withUnsafeBufferPointer { b in
                            for c in 0..<96 { (out.baseAddress! + c * n * p).update(repeating: b[c], count: n * p) }
                        }
                        for i in 0..<n {
                            sgemm(transB: true, m: 96, n: p, k: 735, a: w.baseAddress!, lda: 735,
                                  b: patches.baseAddress! + i * 147, ldb: rowStride, beta: 1,
                                  c: out.baseAddress! + i * p, ldc: n * p)
                        }
                    }
                }
            }
        }
        x = MaxPool(kernelH: 3, kernelW: 3, strideH: 2, strideW: 2)(x)
        x.data.withUnsafeMutableBufferPointer { reluInPlace($0) }
        x = lipConvs[0](x, relu: true, scratch: &scratch)
        x = MaxPool(kernelH: 3, kernelW: 3, strideH: 2, strideW: 2, padH: 1, padW: 1)(x)
        x = lipConvs[1](x, relu: true, scratch: &scratch)
        x = lipConvs[2](x, relu: true, scratch: &scratch)
        x = lipConvs[3](x, relu: true, scratch: &scratch)
        x = MaxPool(kernelH: 3, kernelW: 3, strideH: 2, strideW: 2)(x)
        return lipConvs[4](x, relu: true, scratch: &scratch)
    }

    // MARK: - Audio stream

    /// Audio embeddings from MFCCs laid out as `python_speech_features.mfcc` returns them:
    /// `frameCount x 13`, row-major (one row per 10 ms MFCC frame).
    /// - Returns: `[windows x 1024]`, row-major; window `i` covers MFCC frames `4i..<4i+20`.
    public func embedAudio(mfcc: [Float], frameCount: Int, windows: Int? = nil) throws -> [Float] {
        let coefficients = Self.mfccCoefficients
        guard mfcc.count == frameCount * coefficients else {
            throw NetsError.sizeMismatch(what: "SyncNet MFCC input", detail: "\(mfcc.count) values for \(frameCount) frames x 13")
        }
        let available = frameCount >= Self.mfccWindow ? (frameCount - Self.mfccWindow) / Self.mfccPerFrame + 1 : 0
        let count = windows ?? available
        guard available >= 1, count >= 1, count <= available else {
            throw NetsError.notEnoughFrames(what: "SyncNet MFCC (\(count) windows asked)", count: frameCount,
                                            minimum: (max(count, 1) - 1) * Self.mfccPerFrame + Self.mfccWindow)
        }
        guard mfcc.allSatisfy(\.isFinite) else { throw NetsError.nonFinite(what: "SyncNet MFCC input") }
        var out = [Float](repeating: 0, count: count * Self.embeddingSize)
        var scratch: [Float] = []
        var start = 0
        while start < count {
            let n = min(Self.audioChunk, count - start)
            var x = FeatureMap(channels: 1, batch: n, height: coefficients, width: Self.mfccWindow)
            x.data.withUnsafeMutableBufferPointer { dst in
                mfcc.withUnsafeBufferPointer { src in
                    for w in 0..<n {
                        for t in 0..<Self.mfccWindow {
                            let row = ((start + w) * Self.mfccPerFrame + t) * coefficients
                            for h in 0..<coefficients { dst[(w * coefficients + h) * Self.mfccWindow + t] = src[row + h] }
                        }
                    }
                }
            }
            x = audioConvs[0](x, relu: true, scratch: &scratch)
            x = audioConvs[1](x, relu: true, scratch: &scratch)
            x = MaxPool(kernelH: 3, kernelW: 3, strideH: 1, strideW: 2)(x)
            x = audioConvs[2](x, relu: true, scratch: &scratch)
            x = audioConvs[3](x, relu: true, scratch: &scratch)
            x = audioConvs[4](x, relu: true, scratch: &scratch)
            x = MaxPool(kernelH: 3, kernelW: 3, strideH: 2, strideW: 2)(x)
            x = audioConvs[5](x, relu: true, scratch: &scratch)
            let embedded = Self.dense(x, audioFC)
            out.replaceSubrange(start * Self.embeddingSize..<(start + n) * Self.embeddingSize, with: embedded)
            start += n
        }
        return out
    }

    /// `netfc*` on `512 x n` channel-major features: Linear+BN (folded), ReLU, Linear.
    static func dense(_ features: FeatureMap, _ fc: (DenseLayer, DenseLayer)) -> [Float] {
        precondition(features.channels == 512 && features.plane == 1, "SyncNet: trunk output \(features.channels)x\(features.height)x\(features.width)")
        var hidden = fc.0.apply(features.data, batch: features.batch, inputIsChannelMajor: true)
        hidden.withUnsafeMutableBufferPointer { reluInPlace($0) }
        return fc.1.apply(hidden, batch: features.batch, inputIsChannelMajor: false)
    }
}
