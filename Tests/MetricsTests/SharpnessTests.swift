import Foundation
import Media
import Testing
@testable import Metrics

@Test(arguments: FidelityFixtures.images.cases.filter { $0.sharpness != nil })
func sharpnessMatchesOpenCV(_ c: FidelityFixtures.ImageCase) throws {
    let (_, b) = c.frames()
    let mask = try c.regionMask()
    #expect(mask.mouthBox == Box(x: c.mouth_box[0], y: c.mouth_box[1], width: c.mouth_box[2], height: c.mouth_box[3]))
    let mouth = try Sharpness.laplacianVariance(b, box: mask.boundingBox(.mouth))
    let full = try Sharpness.laplacianVariance(b)
    #expect(relativelyClose(mouth, c.sharpness!["mouth"]!, 1e-6), "mouth \(mouth) vs OpenCV \(c.sharpness!["mouth"]!)")
    #expect(relativelyClose(full, c.sharpness!["full"]!, 1e-6), "full \(full) vs OpenCV \(c.sharpness!["full"]!)")
    // The float path quantises back to the same bytes.
    let viaImage = try Sharpness.laplacianVariance(b.image(), box: mask.mouthBox)
    #expect(viaImage == mouth)
}

@Test func sharpnessEdgeCases() throws {
    // A flat crop has zero Laplacian; a one-pixel crop reflects onto itself (OpenCV gives 0).
    let flat = Frame(width: 5, height: 4, rgb: [UInt8](repeating: 77, count: 60))
    #expect(try Sharpness.laplacianVariance(flat) == 0)
    #expect(try Sharpness.laplacianVariance(flat, box: Box(x: 2, y: 2, width: 1, height: 1)) == 0)
    // Row [1, 2, 9] (grey): OpenCV gives Laplacian [2, 6, -14].
    #expect(Sharpness.laplacianVariance(grey: [1, 2, 9], width: 3, height: 1) == [2.0, 6, -14].variance)
    #expect(throws: MetricsError.self) { try Sharpness.laplacianVariance(flat, box: Box(x: 3, y: 0, width: 3, height: 2)) }
    var bad = flat.image()
    bad.data[0] = .nan
    #expect(throws: MetricsError.self) { try Sharpness.laplacianVariance(bad) }
}

extension Array where Element == Double {
    var variance: Double {
        let m = reduce(0, +) / Double(count)
        return map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(count)
    }
}
