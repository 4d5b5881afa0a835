import Foundation
import Testing
@testable import Media

@Test func pngRoundTripAndDeterminism() throws {
    let scratch = Scratch()
    for channels in 1...4 {
        let w = 13, h = 7
        let pixels = (0..<(w * h * channels)).map { UInt8(($0 * 37) % 256) }
        let raster = Raster(width: w, height: h, channels: channels, pixels: pixels)
        let a = scratch.path("a\(channels).png"), b = scratch.path("b\(channels).png")
        try PNG.write(raster, to: a)
        try PNG.write(raster, to: b)
        #expect(try PNG.read(path: a) == raster)
        #expect(try Data(contentsOf: URL(fileURLWithPath: a)) == Data(contentsOf: URL(fileURLWithPath: b)))
    }
}

@Test func pngBadInput() throws {
    let scratch = Scratch()
    #expect(throws: MediaError.fileNotFound(path: scratch.path("none.png"))) { try PNG.read(path: scratch.path("none.png")) }
    let junk = scratch.path("junk.png")
    try Data("not a png at all".utf8).write(to: URL(fileURLWithPath: junk))
    #expect(throws: MediaError.self) { try PNG.read(path: junk) }
    let good = scratch.path("good.png")
    try PNG.write(Raster(width: 64, height: 64, channels: 3, pixels: (0..<(64 * 64 * 3)).map { UInt8(($0 * 7919) % 251) }), to: good)
    let bytes = try Data(contentsOf: URL(fileURLWithPath: good))
    let cut = scratch.path("cut.png")
    try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: cut))
    do { _ = try PNG.read(path: cut); Issue.record("truncated PNG read as whole") }
    catch { #expect(error.description.hasPrefix(cut)) }
}
