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

/// The in-memory codec (report figures) and the file codec (masks, demo data) are one: memory
/// round-trips every layout, decodes what `write` wrote to the raster `read` returns, and converts
/// grey to RGB (replicated) and RGB to grey (libpng's sRGB luma, monotone: black 0, white 255).
@Test func pngMemoryCodecMatchesFiles() throws {
    let scratch = Scratch()
    for channels in 1...4 {
        let w = 11, h = 5
        let raster = Raster(width: w, height: h, channels: channels, pixels: (0..<(w * h * channels)).map { UInt8(($0 * 53) % 256) })
        let bytes = try PNG.encode(raster, name: "m.png")
        #expect(Array(bytes.prefix(8)) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        #expect(try PNG.decode(bytes, name: "m.png") == raster)
        #expect(try PNG.encode(raster, name: "again.png") == bytes)
        let path = scratch.path("f\(channels).png")
        try PNG.write(raster, to: path)
        let file = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        #expect(try PNG.decode(file, name: path) == PNG.read(path: path))
    }
    let grey = Raster(width: 3, height: 1, channels: 1, pixels: [0, 128, 255])
    let asRGB = try PNG.decode(try PNG.encode(grey, name: "g.png"), name: "g.png", channels: 3)
    #expect(asRGB.channels == 3 && asRGB.pixels == [0, 0, 0, 128, 128, 128, 255, 255, 255])
    let rgb = Raster(width: 2, height: 1, channels: 3, pixels: [0, 0, 0, 255, 255, 255])
    let asGrey = try PNG.decode(try PNG.encode(rgb, name: "c.png"), name: "c.png", channels: 1)
    #expect(asGrey.channels == 1 && asGrey.pixels == [0, 255])
    #expect(throws: MediaError.self) { try PNG.decode([1, 2, 3], name: "bad.png") }
}
