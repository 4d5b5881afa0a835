import Foundation
import Media
import Testing
@testable import Metrics

@Test func measurerAgreesWithTheSingleMetrics() throws {
    let cases = FidelityFixtures.images.cases.filter { $0.width == 40 && $0.height == 40 && $0.channels == 3 }
    let c = try #require(cases.first)
    let (a, b) = c.images()
    let mask = try c.regionMask()
    // Three frames: the fixture pair, the pair swapped, and b against itself shifted in value.
    var b2 = b
    for i in b2.data.indices { b2.data[i] = min(1, b2.data[i] + 0.01) }
    let report = try FidelityMeasurer(regions: mask).measure(reference: [a, b, b], prediction: [b, a, b2])
    #expect(report.frames == 3)
    #expect(report.measured.count == 11)
    for region in Region.allCases {
        #expect(relativelyClose(report.perFrame("mse", region)![0], c.mse[region], 1e-6))
        #expect(relativelyClose(report.perFrame("psnr", region)![0], c.psnr[region], 1e-6))
        #expect(abs(report.perFrame("ssim", region)![0] - c.ssim_gaussian![region]) <= 1e-9)
        // SSIM and MSE are symmetric in their arguments.
        #expect(abs(report.perFrame("ssim", region)![1] - c.ssim_gaussian![region]) <= 1e-12)
        let m = report.perFrame("mse", region)!
        #expect(abs(report.mean("mse", region)! - (m[0] + m[1] + m[2]) / 3) <= 1e-15)
    }
    #expect(relativelyClose(report.perFrame("sharpness", .mouth)![0], c.sharpness!["mouth"]!, 1e-6))
    #expect(report.perFrame("sharpness", .upperFace) == nil)
    // Without a mask only `full` is measured.
    let plain = try FidelityMeasurer().measure(reference: [a], prediction: [b])
    #expect(plain.measured.map(\.region).allSatisfy { $0 == .full })
    #expect(plain.measured.count == 4)
}

@Test func measurerRejectsBadClips() throws {
    let a = Image(width: 16, height: 16, channels: 3, repeating: 0.5)
    var nan = a
    nan.data[7] = .nan
    #expect(throws: MetricsError.self) { try FidelityMeasurer().measure(reference: [a, a], prediction: [a]) }
    #expect(throws: MetricsError.emptyInput(source: "clip reference")) { try FidelityMeasurer().measure(reference: [Image](), prediction: []) }
    #expect(throws: MetricsError.nonFinite(source: "clip predicted frame 1", index: 7)) {
        try FidelityMeasurer().measure(reference: [a, a], prediction: [a, nan])
    }
    let mask = try RegionMask(box: Box(x: 1, y: 1, width: 4, height: 4), width: 20, height: 16)
    #expect(throws: MetricsError.self) { try FidelityMeasurer(regions: mask).measure(reference: [a], prediction: [a]) }
}

@Test func measurerOnFramesEqualsMeasurerOnImages() throws {
    let c = try #require(FidelityFixtures.images.cases.first { $0.channels == 3 && $0.ssim_gaussian != nil })
    let (fa, fb) = c.frames()
    let (ia, ib) = c.images()
    let m = FidelityMeasurer(regions: try c.regionMask())
    #expect(try m.measure(reference: [fa, fb], prediction: [fb, fa]) == m.measure(reference: [ia, ib], prediction: [ib, ia]))
    #expect(throws: MetricsError.self) {
        try m.measure(reference: [fa], prediction: [Frame(width: c.width + 1, height: c.height, rgb: [UInt8](repeating: 0, count: (c.width + 1) * c.height * 3))])
    }
}
