import Benchmarks
import Foundation
import Media
import Testing
@testable import Metrics

@Test func fixtureScaleIsTrajprobesFrameScale() {
    // The fixture script built its float images with float32(1)/float32(255); so does Frame.image().
    let one: Float = 1 / 255
    #expect(one.bitPattern == FidelityFixtures.images.scale_bits)
    #expect(FidelityFixtures.images.cases.count >= 20)
}

@Test(arguments: FidelityFixtures.images.cases)
func ssimGaussianMatchesScikitImage(_ c: FidelityFixtures.ImageCase) throws {
    let (a, b) = c.images()
    let mask = try c.regionMask()
    guard let expected = c.ssim_gaussian else {
        // scikit-image refuses images smaller than the 11x11 window; so does trajprobe.
        #expect(throws: MetricsError.self) { try SSIM.standard.compare(a, b, regions: mask) }
        return
    }
    let result = try SSIM.standard.compare(a, b, regions: mask)
    for region in Region.allCases {
        let got = try #require(result.regions[region])
        #expect(abs(got - expected[region]) <= 1e-5, "\(region): \(got) vs scikit-image \(expected[region])")
        #expect(abs(got - expected[region]) <= 1e-9, "\(region) not float64-exact: \(got) vs \(expected[region])")
    }
}

@Test(arguments: FidelityFixtures.images.cases)
func ssimUniform7MatchesScikitImageDefault(_ c: FidelityFixtures.ImageCase) throws {
    let (a, b) = c.images()
    let result = try SSIM.uniform7.compare(a, b, regions: try c.regionMask(), parallel: false)
    for region in Region.allCases {
        let got = try #require(result.regions[region])
        #expect(abs(got - c.ssim_uniform7[region]) <= 1e-9, "\(region): \(got) vs \(c.ssim_uniform7[region])")
    }
}

@Test func ssimMapAveragesToRegions() throws {
    let c = FidelityFixtures.images.cases.first { $0.ssim_gaussian != nil && $0.mask != nil }!
    let (a, b) = c.images()
    let mask = try c.regionMask()
    let result = try SSIM.standard.compare(a, b, regions: mask, keepMap: true)
    let map = try #require(result.map)
    #expect(map.count == c.width * c.height)
    var s = 0.0
    for i in 0..<map.count where mask.mouth[i] == 1 { s += Double(map[i]) }
    #expect(abs(s / Double(mask.mouthCount) - result.regions[.mouth]!) < 1e-6)
    // Identical images score exactly 1 everywhere.
    let same = try SSIM.standard.compare(a, a, regions: mask)
    for r in Region.allCases { #expect(abs(same.regions[r]! - 1) < 1e-12) }
}

@Test func ssimRejectsBadInput() throws {
    let a = Image(width: 16, height: 16, channels: 3, repeating: 0.5)
    let b = Image(width: 16, height: 15, channels: 3, repeating: 0.5)
    #expect(throws: MetricsError.self) { try SSIM.standard.compare(a, b) }
    var nan = a
    nan.data[100] = .nan
    #expect(throws: MetricsError.nonFinite(source: "frame (second image)", index: 100)) { try SSIM.standard.compare(a, nan) }
    let small = Image(width: 10, height: 40, channels: 1, repeating: 0)
    #expect(throws: MetricsError.self) { try SSIM.standard.compare(small, small) }
    let mask = try RegionMask(box: Box(x: 0, y: 0, width: 4, height: 4), width: 20, height: 16)
    #expect(throws: MetricsError.self) { try SSIM.standard.compare(a, a, regions: mask) }
    #expect(throws: MetricsError.self) { try SSIM(window: .uniform(size: 6), useSampleCovariance: true).compare(a, a) }
}

@Test func ssimNamesTheFirstNonFiniteValueOfEitherImage() throws {
    // The kernel notices NaN or infinity while forming its products; the error still names the
    // first bad element of the image it is in, at any position (first row, last row, a tail).
    let w = 37, h = 23
    let a = Image(width: w, height: h, channels: 3, repeating: 0.5)
    for index in [0, 5, w * h * 3 / 2, w * h * 3 - 1] {
        var bad = a
        bad.data[index] = .infinity
        #expect(throws: MetricsError.nonFinite(source: "frame (first image)", index: index)) { try SSIM.standard.compare(bad, a) }
        bad.data[index] = .nan
        #expect(throws: MetricsError.nonFinite(source: "frame (second image)", index: index)) { try SSIM.standard.compare(a, bad, parallel: false) }
    }
    #expect(try SSIM.standard.compare(a, a).regions[.full] == 1)
}

@Test func ssimBandsAreInvisible() throws {
    // 4 bands of rows in parallel vs one serial pass: every row is computed the same way, so the
    // values are identical, map included, for RGB and grey, with and without regions.
    let (a, b) = FidelityBenchmark.pair(3, size: 203)
    let mask = try RegionMask(box: Box(x: 50, y: 120, width: 90, height: 40), width: 203, height: 203)
    for ssim in [SSIM.standard, SSIM.uniform7] {
        let serial = try ssim.compare(a, b, regions: mask, keepMap: true, parallel: false)
        let banded = try ssim.compare(a, b, regions: mask, keepMap: true, parallel: true)
        #expect(serial == banded)
    }
    let grey = Image(width: 203, height: 203, channels: 1, data: Array(a.data.prefix(203 * 203)))
    let grey2 = Image(width: 203, height: 203, channels: 1, data: Array(b.data.prefix(203 * 203)))
    #expect(try SSIM.standard.compare(grey, grey2, parallel: false) == SSIM.standard.compare(grey, grey2))
}
