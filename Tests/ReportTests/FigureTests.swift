import Foundation
import Testing
@testable import Report
import Store

@Suite struct FigureTests {
    static let report: StudyReport = try! StudyReport(study: Planted.study(clips: 6, extras: true))
    static let figures: [Figure] = try! ReportFigures.render(report)

    /// Writes every figure to $TRAJPROBE_REPORT_SAMPLES (when set) for a human to look at.
    @Test func writeSamplesWhenAsked() throws {
        guard let dir = ProcessInfo.processInfo.environment["TRAJPROBE_REPORT_SAMPLES"] else { return }
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        for f in Self.figures { try Data(f.png).write(to: URL(fileURLWithPath: "\(dir)/\(f.name)")) }
        #expect(Self.figures.count == 11)
    }

    @Test func everyFigureIsRenderedAndDecodes() throws {
        let names = Self.figures.map(\.name)
        #expect(names == ["sync_gain_by_scale.png", "fidelity_cost_by_scale.png", "sync_gain_by_clip.png", "fidelity_cost_by_clip.png",
                          "curves_sync.png", "curves_fidelity.png", "euler_jump_factorial.png", "tradeoff.png",
                          "spatial_maps.png", "sync_strips.png", "pareto.png"])
        for f in Self.figures {
            let img = try PNGCodec.decode(f.png, name: f.name)
            #expect(img.width == (f.name == "tradeoff.png" || f.name == "pareto.png" ? 944 : (f.name == "spatial_maps.png" ? img.width : 1400)), "\(f.name) width \(img.width)")
            #expect(img.height > 200 && img.height < 2000, "\(f.name) height \(img.height)")
            // Not blank: at least 3% of pixels are not white.
            var ink = 0
            for p in stride(from: 0, to: img.rgb.count, by: 3) where img.rgb[p] < 250 || img.rgb[p + 1] < 250 || img.rgb[p + 2] < 250 { ink += 1 }
            #expect(Double(ink) / Double(img.width * img.height) > 0.03, "\(f.name) is nearly blank")
        }
    }
}
