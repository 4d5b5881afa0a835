import Foundation
import Media
import Testing
@testable import Metrics

/// Loads the JSON fixtures written by tools/fixtures/fidelity_fixtures.py.
enum FidelityFixtures {
    static func data(_ name: String) throws -> Data {
        guard let url = Bundle.module.url(forResource: name, withExtension: "json", subdirectory: "Fixtures") else {
            throw CocoaError(.fileNoSuchFile, userInfo: [NSFilePathErrorKey: "Fixtures/\(name).json"])
        }
        return try Data(contentsOf: url)
    }

    static func bytes(_ base64: String) -> [UInt8] { [UInt8](Data(base64Encoded: base64)!) }

    static func littleEndian<T: FixedWidthInteger>(_ base64: String, as: T.Type) -> [T] {
        let raw = bytes(base64)
        let size = MemoryLayout<T>.size
        return (0..<(raw.count / size)).map { i in
            var v: T = 0
            for b in 0..<size { v |= T(truncatingIfNeeded: raw[i * size + b]) << (8 * b) }
            return v
        }
    }

    static func floats(_ base64: String) -> [Float] {
        littleEndian(base64, as: UInt32.self).map { Float(bitPattern: $0) }
    }

    struct Regions: Decodable, Sendable {
        var full: Double
        var mouth: Double
        var upper_face: Double
        subscript(_ r: Region) -> Double {
            switch r { case .full: full; case .mouth: mouth; case .upperFace: upper_face }
        }
    }

    struct Mask: Decodable, Sendable { var width: Int; var height: Int; var pixels: String }

    struct ImageCase: Decodable, Sendable, CustomTestStringConvertible {
        var name: String
        var width: Int, height: Int, channels: Int
        var a: String, b: String
        var box: [Int]?
        var mask: Mask?
        var mouth_box: [Int]
        var mouth_count: Int
        var ssim_gaussian: Regions?
        var ssim_uniform7: Regions
        var mse: Regions
        var psnr: Regions
        var sharpness: [String: Double]?
        var testDescription: String { name }

        /// Images built as trajprobe builds them from 8-bit frames: `Float(v) * (1/255)`.
        func images() -> (Image, Image) {
            let pa = FidelityFixtures.bytes(a), pb = FidelityFixtures.bytes(b)
            return (Image(width: width, height: height, channels: channels, data: pa.map { Float($0) * (1 / 255) }),
                    Image(width: width, height: height, channels: channels, data: pb.map { Float($0) * (1 / 255) }))
        }

        func frames() -> (Frame, Frame) {
            (Frame(width: width, height: height, rgb: FidelityFixtures.bytes(a)),
             Frame(width: width, height: height, rgb: FidelityFixtures.bytes(b)))
        }

        func regionMask() throws -> RegionMask {
            if let box {
                return try RegionMask(box: Box(x: box[0], y: box[1], width: box[2], height: box[3]), width: width, height: height)
            }
            let m = mask!
            return try RegionMask(mask: GreyPNG(width: m.width, height: m.height, pixels: FidelityFixtures.bytes(m.pixels)),
                                  width: width, height: height, source: name)
        }
    }

    struct ImageFile: Decodable, Sendable { var scale_bits: UInt32; var cases: [ImageCase] }

    static let images: ImageFile = try! JSONDecoder().decode(ImageFile.self, from: data("fidelity_images"))
}

/// |a - b| <= rel * max(|a|, |b|), or exactly equal (infinities).
func relativelyClose(_ a: Double, _ b: Double, _ rel: Double) -> Bool {
    a == b || abs(a - b) <= rel * max(abs(a), abs(b))
}
