import Foundation
import Media
import Support

/// LPIPS with the AlexNet trunk, equal to the `lpips` package (v0.1, `net='alex'`, eval mode):
/// ScalingLayer, torchvision AlexNet's five ReLU taps, channel normalisation
/// (`x / (sqrt(Σ_c x²) + 1e-10)`), squared difference, the linear 1x1 heads, spatial mean, sum
/// over the five layers.
///
/// Images are trajprobe's float RGB images in [0, 1]; they are mapped to the network's [-1, 1]
/// input by `2x - 1`, exactly as `lpips.LPIPS.forward(..., normalize=True)` does.
/// Weights come from one safetensors file made by `tools/convert_lpips.py` (torchvision's
/// AlexNet weights + the package's `weights/v0.1/alex.pth` heads); nothing is downloaded.
public struct LPIPS: Sendable {
    // MARK: - Weights

    /// The smallest side AlexNet's stride-4 stem and two max-pools leave at least one pixel for
    /// (the `lpips` package fails on smaller inputs too).
    public static let minimumSide = 31
    /// The `ScalingLayer` constants of lpips v0.1.
    static let shift: [Float] = [-0.030, -0.088, -0.188]
    static let scale: [Float] = [0.458, 0.448, 0.450]
    static let converter = "tools/convert_lpips.py"

    let convs: [ConvLayer]
    let heads: [[Float]]
    let file: SafeTensors
    /// SHA-256 of the weights file, for provenance next to every score.
    public func weightsSHA256() -> String { file.sha256() }
    /// The converter's metadata (source files and their sha256).
    public let weightsMetadata: [String: String]

    /// Loads the converted weights (see `tools/convert_lpips.py`).
    /// - throws: ``NetsError`` naming the file, or the tensor that is missing or misshapen.
    public init(weights: URL) throws {
        try self.init(tensors: SafeTensors(contentsOf: weights, converter: Self.converter))
    }

    /// Builds the network from tensors already loaded (tests pass formula weights held in memory).
    package init(tensors file: SafeTensors) throws {
        let t = try file.load(Self.tensorSpecs)
        var convs: [ConvLayer] = []
        for (index, co, ci, k, s, p) in Self.convGeometry {
            convs.append(ConvLayer(weight: t["features.\(index).weight"]!, bias: t["features.\(index).bias"]!,
                                   outChannels: co, inChannels: ci, kernel: (k, k), stride: (s, s), padding: (p, p)))
        }
        self.convs = convs
        self.heads = (0..<5).map { t["lin\($0).model.1.weight"]! }
        self.file = file
        weightsMetadata = file.metadata
    }

    // MARK: - Architecture

    /// torchvision `alexnet().features` indices of the five convolutions, with
    /// (out, in, kernel, stride, padding).
    static let convGeometry: [(Int, Int, Int, Int, Int, Int)] = [
        (0, 64, 3, 11, 4, 2), (3, 192, 64, 5, 1, 2), (6, 384, 192, 3, 1, 1),
        (8, 256, 384, 3, 1, 1), (10, 256, 256, 3, 1, 1),
    ]
    static let channels = [64, 192, 384, 256, 256]

    /// The tensors the weights file must hold, in the order the converter and the test formula use.
    package static var tensorSpecs: [TensorSpec] {
        var specs: [TensorSpec] = []
        for (index, co, ci, k, _, _) in convGeometry {
            specs.append(TensorSpec("features.\(index).weight", [co, ci, k, k], .weight))
            specs.append(TensorSpec("features.\(index).bias", [co], .bias))
        }
        for (l, c) in channels.enumerated() { specs.append(TensorSpec("lin\(l).model.1.weight", [1, c, 1, 1], .linearHead)) }
        return specs
    }

    // MARK: - Distances

    /// LPIPS distance between two same-size RGB images in [0, 1] (whole frames).
    public func distance(_ a: Image, _ b: Image) throws -> Float {
        try layerDistances(a, b).reduce(0, +)
    }

    /// LPIPS on a crop: `box` (a mouth mask's bounding box, say) padded by `padding` pixels on
    /// every side and clipped to the frame, the convention trajprobe reports LPIPS-mouth with.
    public func distance(_ a: Image, _ b: Image, box: Box, padding: Int = mouthPadding) throws -> Float {
        try checkPair(a, b)
        let crop = try Self.paddedBox(box, padding: padding, width: a.width, height: a.height)
        return try distance(Self.crop(a, crop), Self.crop(b, crop))
    }

    /// `box` grown by `padding` on each side, clipped to the frame; the box itself must lie in
    /// the frame.
    public static func paddedBox(_ box: Box, padding: Int, width: Int, height: Int) throws -> Box {
        guard box.fits(width: width, height: height) else {
            throw NetsError.boxOutsideFrame(box: box, width: width, height: height)
        }
        let x0 = max(0, box.x - padding), y0 = max(0, box.y - padding)
        let x1 = min(width, box.x + box.width + padding), y1 = min(height, box.y + box.height + padding)
        return Box(x: x0, y: y0, width: x1 - x0, height: y1 - y0)
    }

    static func crop(_ image: Image, _ box: Box) -> Image {
        var data = [Float](repeating: 0, count: box.width * box.height * image.channels)
        let rowLength = box.width * image.channels
        image.data.withUnsafeBufferPointer { src in
            data.withUnsafeMutableBufferPointer { dst in
                for y in 0..<box.height {
                    let from = src.baseAddress! + ((box.y + y) * image.width + box.x) * image.channels
                    (dst.baseAddress! + y * rowLength).update(from: from, count: rowLength)
                }
            }
        }
        return Image(width: box.width, height: box.height, channels: image.channels, data: data)
    }

    func checkPair(_ a: Image, _ b: Image) throws {
        guard a.channels == 3, b.channels == 3 else {
            throw NetsError.sizeMismatch(what: "LPIPS input", detail: "\(a.channels) and \(b.channels) channels, expected RGB (3)")
        }
        guard a.width == b.width, a.height == b.height else {
            throw NetsError.sizeMismatch(what: "LPIPS input",
                                         detail: "images are \(a.width)x\(a.height) and \(b.width)x\(b.height)")
        }
    }

    /// The five per-layer terms (`retPerLayer=True` in the package); their sum is the distance.
    package func layerDistances(_ a: Image, _ b: Image) throws -> [Float] {
        try batchLayerDistances([(a, b)])[0]
    }

    /// LPIPS for many pairs (the frames of a clip, a set of mouth crops): runs of consecutive
    /// same-size pairs go through the network together, up to ``batchPairs`` at a time, so each
    /// convolution is one wide sgemm instead of many thin ones. Equal to calling
    /// ``distance(_:_:)`` on each pair.
    public func distances(_ pairs: [(Image, Image)]) throws -> [Float] {
        try batchLayerDistances(pairs).map { $0.reduce(0, +) }
    }

    /// LPIPS on the same padded box of many pairs (see ``distance(_:_:box:padding:)``).
    public func distances(_ pairs: [(Image, Image)], box: Box, padding: Int = mouthPadding) throws -> [Float] {
        let cropped = try pairs.map { pair -> (Image, Image) in
            try checkPair(pair.0, pair.1)
            let crop = try Self.paddedBox(box, padding: padding, width: pair.0.width, height: pair.0.height)
            return (Self.crop(pair.0, crop), Self.crop(pair.1, crop))
        }
        return try distances(cropped)
    }

    // MARK: - Batched network evaluation

    /// Pairs per network pass at most: wide enough that the thin late layers (a few dozen
    /// pixels per image) fill an sgemm, small enough that their Winograd buffers stay in cache
    /// (100 mouth crops, 2 cores: 0.32-0.33 s in batches of 7, 0.33-0.36 s of 12, 0.37-0.43 s
    /// of 16).
    public static let batchPairs = 8

    func batchLayerDistances(_ pairs: [(Image, Image)]) throws -> [[Float]] {
        for (a, b) in pairs {
            try checkPair(a, b)
            guard a.width >= Self.minimumSide, a.height >= Self.minimumSide else {
                throw NetsError.inputTooSmall(what: "LPIPS input", width: a.width, height: a.height, minimum: Self.minimumSide)
            }
            guard a.data.allSatisfy(\.isFinite), b.data.allSatisfy(\.isFinite) else {
                throw NetsError.nonFinite(what: "LPIPS input")
            }
        }
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let groups = Self.batches(sizes: pairs.map { ($0.0.width, $0.0.height) }, cores: cores)
        guard groups.count > 1 && cores > 1 else {
            var scratch: [Float] = []
            return groups.flatMap { layerTerms(Array(pairs[$0]), scratch: &scratch, parallel: true) }
        }
        // One batch per core, each on single-threaded BLAS: the cores then never wait on each
        // other inside a layer. Each core keeps its scratch from batch to batch: tens of
        // megabytes mapped and faulted in afresh per batch cost more than the layer loops.
        let slots = BatchSlots(groups.count)
        let net = self, workers = min(cores, groups.count)
        withSingleThreadedBLAS {
            DispatchQueue.concurrentPerform(iterations: workers) { worker in
                var scratch: [Float] = []
                for g in stride(from: worker, to: groups.count, by: workers) {
                    slots.set(g, net.layerTerms(Array(pairs[groups[g]]), scratch: &scratch, parallel: false))
                }
            }
        }
        return slots.values.flatMap { $0 }
    }

    /// Runs of consecutive same-size pairs (one network pass needs one size), cut into batches
    /// of at most ``batchPairs``, as many as a multiple of `cores` so the cores finish together.
    /// A run shorter than `cores` stays one batch (threaded inside); a short run of large frames
    /// is still cut, one batch per core (8 pairs of 512x512: 0.90 s as one threaded batch, 0.52 s
    /// as two).
    static func batches(sizes: [(Int, Int)], cores: Int) -> [Range<Int>] {
        var batches: [Range<Int>] = []
        var start = 0
        while start < sizes.count {
            var end = start + 1
            while end < sizes.count, sizes[end] == sizes[start] { end += 1 }
            let n = end - start
            let count = n < cores ? 1 : (n + cores * batchPairs - 1) / (cores * batchPairs) * cores
            for k in 0..<count where start + k * n / count < start + (k + 1) * n / count {
                batches.append((start + k * n / count)..<(start + (k + 1) * n / count))
            }
            start = end
        }
        return batches
    }

    /// The five layer terms of every pair of one same-size batch.
    func layerTerms(_ group: [(Image, Image)], scratch: inout [Float], parallel: Bool) -> [[Float]] {
        var x = Self.networkInput(group)
        var terms = [[Float]](repeating: [], count: group.count)
        for (l, conv) in convs.enumerated() {
            if l == 1 || l == 2 { x = MaxPool(kernelH: 3, kernelW: 3, strideH: 2, strideW: 2)(x, parallel: parallel) }
            x = conv(x, relu: true, scratch: &scratch, parallel: parallel)
            for (j, term) in Self.headTerms(x, head: heads[l]).enumerated() { terms[j].append(term) }
        }
        return terms
    }

    /// Same-size pairs as one batch `a0, b0, a1, b1, ...`, channel-major, through `2x - 1` and
    /// the ScalingLayer in the package's float32 order of operations.
    static func networkInput(_ pairs: [(Image, Image)]) -> FeatureMap {
        let width = pairs[0].0.width, height = pairs[0].0.height, plane = width * height
        let batch = 2 * pairs.count
        var map = FeatureMap(channels: 3, batch: batch, height: height, width: width, uninitialized: ())
        map.data.withUnsafeMutableBufferPointer { out in
            for (j, pair) in pairs.enumerated() {
                for (k, image) in [pair.0, pair.1].enumerated() {
                    image.data.withUnsafeBufferPointer { src in
                        // One pass over the interleaved pixels into the three planes.
                        let r = out.baseAddress! + (2 * j + k) * plane, g = r + batch * plane, b = g + batch * plane
                        let (s0, s1, s2) = (Self.shift[0], Self.shift[1], Self.shift[2])
                        let (d0, d1, d2) = (Self.scale[0], Self.scale[1], Self.scale[2])
                        let x = src.baseAddress!
                        for p in 0..<plane {
                            r[p] = ((2 * x[3 * p] - 1) - s0) / d0
                            g[p] = ((2 * x[3 * p + 1] - 1) - s1) / d1
                            b[p] = ((2 * x[3 * p + 2] - 1) - s2) / d2
                        }
                    }
                }
            }
        }
        return map
    }

    /// `spatial_average(lin(‖f̂₀ - f̂₁‖²))` for one tap and every pair of the batch, f̂ the
    /// channel-normalised features.
    static func headTerms(_ x: FeatureMap, head: [Float]) -> [Float] {
        let plane = x.plane, channels = x.channels, batch = x.batch
        var terms: [Float] = []
        var norm0 = [Float](repeating: 0, count: plane), norm1 = norm0, acc = norm0
        x.data.withUnsafeBufferPointer { f in
            for j in 0..<(batch / 2) {
                for p in 0..<plane { norm0[p] = 0; norm1[p] = 0; acc[p] = 0 }
                for c in 0..<channels {
                    let p0 = f.baseAddress! + (c * batch + 2 * j) * plane, p1 = p0 + plane
                    for p in 0..<plane {
                        norm0[p] += p0[p] * p0[p]
                        norm1[p] += p1[p] * p1[p]
                    }
                }
                for p in 0..<plane {
                    norm0[p] = 1 / (norm0[p].squareRoot() + 1e-10)
                    norm1[p] = 1 / (norm1[p].squareRoot() + 1e-10)
                }
                for c in 0..<channels {
                    let p0 = f.baseAddress! + (c * batch + 2 * j) * plane, p1 = p0 + plane
                    let w = head[c]
                    for p in 0..<plane {
                        let d = p0[p] * norm0[p] - p1[p] * norm1[p]
                        acc[p] += w * d * d
                    }
                }
                var sum: Double = 0
                for v in acc { sum += Double(v) }
                terms.append(Float(sum / Double(plane)))
            }
        }
        return terms
    }
}

/// Per-batch results of ``LPIPS``, written by concurrent batches and read once all have
/// returned.
final class BatchSlots: Sendable {
    private let slots: Locked<[[[Float]]]>
    init(_ count: Int) { slots = Locked(Array(repeating: [], count: count)) }
    func set(_ index: Int, _ terms: [[Float]]) { slots.withLock { $0[index] = terms } }
    var values: [[[Float]]] { slots.snapshot }
}

