import Foundation
import Media
import Testing
@testable import Metrics

@Test(arguments: FidelityFixtures.images.cases)
func mseAndPSNRMatchReference(_ c: FidelityFixtures.ImageCase) throws {
    let (a, b) = c.images()
    let mse = try PixelError.mse(a, b, regions: try c.regionMask())
    for region in Region.allCases {
        let got = try #require(mse[region])
        #expect(relativelyClose(got, c.mse[region], 1e-6), "MSE \(region): \(got) vs \(c.mse[region])")
        #expect(relativelyClose(PixelError.psnr(mse: got), c.psnr[region], 1e-6), "PSNR \(region)")
    }
    // Without a mask only the full frame is reported, with the same value.
    let plain = try PixelError.mse(a, b)
    #expect(plain.keys.sorted(by: { $0.rawValue < $1.rawValue }) == [.full])
    #expect(relativelyClose(plain[.full]!, c.mse.full, 1e-12))
}

@Test func identicalFramesHaveInfinitePSNR() throws {
    let a = Image(width: 8, height: 8, channels: 3, repeating: 0.25)
    #expect(try PixelError.mse(a, a)[.full] == 0)
    #expect(PixelError.psnr(mse: 0) == .infinity)
}

@Test func pixelErrorRejectsBadInput() {
    let a = Image(width: 8, height: 8, channels: 3, repeating: 0.25)
    var b = a
    b.data[5] = .infinity
    #expect(throws: MetricsError.nonFinite(source: "f (second image)", index: 5)) { try PixelError.mse(a, b, source: "f") }
    #expect(throws: MetricsError.self) { try PixelError.mse(a, Image(width: 8, height: 8, channels: 1)) }
}
