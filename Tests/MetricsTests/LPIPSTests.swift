import Foundation
import Media
import Testing
@testable import Metrics

/// The fixture's image pair: a = (unit(s)+1)*0.5, b = a*0.7 + (unit(s+1)+1)*0.5*0.3, CHW in the
/// fixture, turned into trajprobe's HWC `Image`.
private func imagePair(stream: Int, height: Int, width: Int) -> (Image, Image) {
    let n = 3 * height * width
    let u0 = NetsFormula.unit(stream, n), u1 = NetsFormula.unit(stream + 1, n)
    var a = [Float](repeating: 0, count: n), b = a
    for c in 0..<3 {
        for p in 0..<(height * width) {
            let va = (u0[c * height * width + p] + 1) * Float(0.5)
            let vb = va * Float(0.7) + ((u1[c * height * width + p] + 1) * Float(0.5)) * Float(0.3)
            a[p * 3 + c] = va
            b[p * 3 + c] = vb
        }
    }
    return (Image(width: width, height: height, channels: 3, data: a), Image(width: width, height: height, channels: 3, data: b))
}

private func formulaLPIPS() throws -> LPIPS {
    let url = try NetsFormula.weightsFile(LPIPS.tensorSpecs, name: "lpips")
    defer { try? FileManager.default.removeItem(at: url) }
    return try LPIPS(weights: url)
}

@Test func lpipsMatchesThePackage() throws {
    let fixture = try NetsFormula.fixture("lpips_alex")
    let cases = try #require(fixture["cases"] as? [[String: Any]])
    #expect(cases.count == 5)
    let lpips = try formulaLPIPS()
    for c in cases {
        let stream = c["stream"] as! Int, h = c["height"] as! Int, w = c["width"] as! Int
        let (a, b) = imagePair(stream: stream, height: h, width: w)
        let expected = Float((c["lpips"] as! NSNumber).doubleValue)
        let perLayer = NetsFormula.floats(c["per_layer"])
        let value: Float
        if let box = c["box"] as? [Int] {
            let crop = NetsFormula.floats(c["crop"]).map { Int($0) }
            let padded = try LPIPS.paddedBox(Box(x: box[0], y: box[1], width: box[2], height: box[3]),
                                             padding: 4, width: w, height: h)
            #expect([padded.x, padded.y, padded.width, padded.height] == crop)
            value = try lpips.distance(a, b, box: Box(x: box[0], y: box[1], width: box[2], height: box[3]))
        } else {
            value = try lpips.distance(a, b)
            let layers = try lpips.layerDistances(a, b)
            for (got, want) in zip(layers, perLayer) { #expect(abs(got - want) <= 1e-5, "layer of case \(stream)") }
        }
        #expect(abs(value - expected) <= 1e-4, "case \(stream): \(value) vs \(expected)")
        #expect(abs(value - expected) <= 1e-6 * 10, "case \(stream) tight: \(value) vs \(expected)")
    }
}

@Test func lpipsIsZeroForIdenticalImagesAndSymmetric() throws {
    let lpips = try formulaLPIPS()
    let (a, b) = imagePair(stream: 1000, height: 40, width: 36)
    // The two copies sit in different columns of the batched float32 sgemm, which OpenBLAS may
    // round differently (edge tiles, CPU-specific kernels): each unit-normalised feature moves by
    // at most K·u (K = 384·3·3, u = 2⁻²⁴, ≈ 2.1e-4) and LPIPS is quadratic in the difference:
    // 5 layers × (2 × 2.1e-4)² × head weights ≤ 1 bounds it by 1e-6.
    #expect(try lpips.distance(a, a) <= 1e-6)
    #expect(abs(try lpips.distance(a, b) - lpips.distance(b, a)) <= 1e-7)
}

@Test func batchedDistancesEqualSinglePairs() throws {
    // Mixed sizes split the batch; the 35 same-size pairs after the odd one are cut into
    // batches that run side by side on the cores.
    let lpips = try formulaLPIPS()
    var pairs = (0..<40).map { imagePair(stream: 4000 + 2 * $0, height: 33, width: 40) }
    pairs.insert(imagePair(stream: 1010, height: 37, width: 45), at: 5)
    let batched = try lpips.distances(pairs)
    #expect(batched.count == pairs.count)
    for (i, pair) in pairs.enumerated() {
        #expect(abs(batched[i] - (try lpips.distance(pair.0, pair.1))) <= 1e-7, "pair \(i)")
    }
    // The fixture's value for the 37x45 case, through the batch.
    let fixture = try NetsFormula.fixture("lpips_alex")
    let cases = try #require(fixture["cases"] as? [[String: Any]])
    #expect(abs(batched[5] - Float((cases[1]["lpips"] as! NSNumber).doubleValue)) <= 1e-4)
    let box = Box(x: 5, y: 2, width: 26, height: 25)
    let boxed = try lpips.distances(Array(pairs.prefix(3)), box: box)
    #expect(abs(boxed[2] - (try lpips.distance(pairs[2].0, pairs[2].1, box: box))) <= 1e-7)
}

@Test func batchesAreSameSizeRunsCutEvenlyOverTheCores() {
    #expect(LPIPS.batchPairs == 8)
    let a = (33, 40), b = (37, 45)
    let sizes = Array(repeating: a, count: 5) + [b] + Array(repeating: a, count: 40) + Array(repeating: b, count: 16)
    // 5 pairs: one batch per core; 1 pair (fewer than the cores): one batch; 40 pairs: cut into
    // ceil(40 / 16) * 2 = 6 batches of 6 or 7; 16 pairs into 2 of 8.
    #expect(LPIPS.batches(sizes: sizes, cores: 2)
            == [0..<2, 2..<5, 5..<6, 6..<12, 12..<19, 19..<26, 26..<32, 32..<39, 39..<46, 46..<54, 54..<62])
    #expect(LPIPS.batches(sizes: Array(repeating: a, count: 3), cores: 4) == [0..<3])
    #expect(LPIPS.batches(sizes: Array(repeating: a, count: 17), cores: 1) == [0..<5, 5..<11, 11..<17])
    let hundred = LPIPS.batches(sizes: Array(repeating: a, count: 100), cores: 2)
    #expect(hundred.count == 14 && hundred.allSatisfy { $0.count == 7 || $0.count == 8 } && hundred.last?.upperBound == 100)
    #expect(LPIPS.batches(sizes: [], cores: 2).isEmpty)
}

@Test func lpipsRejectsBadInput() throws {
    let lpips = try formulaLPIPS()
    let (a, b) = imagePair(stream: 1000, height: 40, width: 36)
    let small = Image(width: 30, height: 40, channels: 3)
    #expect(throws: NetsError.inputTooSmall(what: "LPIPS input", width: 30, height: 40, minimum: 31)) {
        try lpips.distance(small, small)
    }
    #expect(throws: NetsError.self) { try lpips.distance(a, Image(width: 36, height: 41, channels: 3)) }
    #expect(throws: NetsError.self) { try lpips.distance(a, Image(width: 36, height: 40, channels: 1)) }
    var nan = b
    nan.data[17] = .nan
    #expect(throws: NetsError.nonFinite(what: "LPIPS input")) { try lpips.distance(a, nan) }
    #expect(throws: NetsError.boxOutsideFrame(box: Box(x: 30, y: 0, width: 10, height: 10), width: 36, height: 40)) {
        try lpips.distance(a, b, box: Box(x: 30, y: 0, width: 10, height: 10))
    }
}
