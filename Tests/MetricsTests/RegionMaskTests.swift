import Foundation
import Media
import Testing
@testable import Metrics

@Test(arguments: FidelityFixtures.images.cases.filter { $0.mask != nil })
func maskPNGRoundTripAndNearestResize(_ c: FidelityFixtures.ImageCase) throws {
    let m = c.mask!
    let png = GreyPNG(width: m.width, height: m.height, pixels: FidelityFixtures.bytes(m.pixels))
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("trajprobe-mask-\(UUID().uuidString).png").path
    defer { try? FileManager.default.removeItem(atPath: path) }
    try png.write(to: path)
    #expect(try GreyPNG(contentsOf: path) == png)
    let mask = try RegionMask(maskPath: path, width: c.width, height: c.height)
    #expect(mask.mouthCount == c.mouth_count)
    #expect(mask.count(.mouth) + mask.count(.upperFace) == mask.count(.full))
}

@Test func maskErrors() throws {
    let white = GreyPNG(width: 8, height: 8, pixels: [UInt8](repeating: 255, count: 64))
    #expect(throws: MetricsError.emptyRegion(source: "m.png", region: "mouth")) {
        try RegionMask(mask: white, width: 16, height: 16, source: "m.png")
    }
    let black = GreyPNG(width: 8, height: 8, pixels: [UInt8](repeating: 0, count: 64))
    #expect(throws: MetricsError.emptyRegion(source: "m.png", region: "upper_face")) {
        try RegionMask(mask: black, width: 16, height: 16, source: "m.png")
    }
    #expect(throws: MetricsError.self) { try RegionMask(mask: white, width: 16, height: 12, source: "m.png") }
    #expect(throws: MetricsError.boxOutsideFrame(source: "--box", box: "10,10,8,8", width: 16, height: 16)) {
        try RegionMask(box: Box(x: 10, y: 10, width: 8, height: 8), width: 16, height: 16)
    }
    #expect(throws: MetricsError.self) { try GreyPNG(contentsOf: "/nonexistent/mask.png") }
    let notPNG = FileManager.default.temporaryDirectory.appendingPathComponent("trajprobe-not-\(UUID().uuidString).png").path
    try Data("not a png".utf8).write(to: URL(fileURLWithPath: notPNG))
    defer { try? FileManager.default.removeItem(atPath: notPNG) }
    #expect(throws: MetricsError.self) { try GreyPNG(contentsOf: notPNG) }
}

@Test func boxRegion() throws {
    let mask = try RegionMask(box: Box(x: 2, y: 3, width: 4, height: 2), width: 10, height: 8)
    #expect(mask.mouthCount == 8)
    #expect(mask.upperCount == 72)
    #expect(mask.mouthBox == Box(x: 2, y: 3, width: 4, height: 2))
    #expect(mask.mouth[3 * 10 + 2] == 1 && mask.mouth[3 * 10 + 1] == 0)
}

@Test func colourMaskWithAlphaReadsAsGrey() throws {
    // RGBA: white upper half, black lower half, alpha varying (ignored).
    var px = [UInt8]()
    for y in 0..<4 { for _ in 0..<4 { px += y < 2 ? [255, 255, 255, 10] : [0, 0, 0, 255] } }
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("trajprobe-rgba-\(UUID().uuidString).png").path
    defer { try? FileManager.default.removeItem(atPath: path) }
    try PNG.write(Raster(width: 4, height: 4, channels: 4, pixels: px), to: path)
    let grey = try GreyPNG(contentsOf: path)
    #expect(grey.pixels == [UInt8](repeating: 255, count: 8) + [UInt8](repeating: 0, count: 8))
    let mask = try RegionMask(maskPath: path, width: 8, height: 8)
    #expect(mask.mouthBox == Box(x: 0, y: 4, width: 8, height: 4))
}
