import Foundation
import Media
import Testing
@testable import Report
import Store

@Suite struct FigureTests {
    static let report: StudyReport = try! StudyReport(study: Planted.study(clips: 6, extras: true), options: Planted.options(ruleResamples: 30))
    static let figures: [Figure] = try! ReportFigures.render(report)

    /// Writes every figure to $TRAJPROBE_REPORT_SAMPLES (when set) for a human to look at.
    @Test func writeSamplesWhenAsked() throws {
        guard let dir = ProcessInfo.processInfo.environment["TRAJPROBE_REPORT_SAMPLES"] else { return }
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        for f in Self.figures { try Data(f.png).write(to: URL(fileURLWithPath: "\(dir)/\(f.name)")) }
        #expect(Self.figures.count == 13)
    }

    @Test func everyFigureIsRenderedAndDecodes() throws {
        let names = Self.figures.map(\.name)
        #expect(names == ["sync_gain_by_scale.png", "fidelity_cost_by_scale.png", "sync_by_scale.png", "sync_gain_by_clip.png", "fidelity_cost_by_clip.png",
                          "curves_sync.png", "curves_fidelity.png", "euler_jump_factorial.png", "tradeoff.png",
                          "spatial_maps.png", "sync_strips.png", "pareto.png", "robustness.png"])
        for f in Self.figures {
            let img = try PNG.decode(f.png, name: f.name, channels: 3)
            #expect(img.width == (f.name == "tradeoff.png" || f.name == "pareto.png" ? 944 : (f.name == "spatial_maps.png" ? img.width : 1400)), "\(f.name) width \(img.width)")
            #expect(img.height > 200 && img.height < 2000, "\(f.name) height \(img.height)")
            // Not blank: at least 3% of pixels are not white.
            var ink = 0
            for p in stride(from: 0, to: img.pixels.count, by: 3) where img.pixels[p] < 250 || img.pixels[p + 1] < 250 || img.pixels[p + 2] < 250 { ink += 1 }
            #expect(Double(ink) / Double(img.width * img.height) > 0.03, "\(f.name) is nearly blank")
        }
    }
}

@Suite struct HeatmapColourTests {
    static func heatmap(_ map: ColorMap) -> HeatmapFigure {
        // 3 rows × 5 steps; planted values, one NaN (not measured).
        let values: [Double] = [-1.0, -0.5, 0.0, 0.5, 1.0,
                                0.25, 0.75, .nan, -0.25, -0.75,
                                0.1, 0.2, 0.3, 0.4, 0.9]
        return HeatmapFigure(name: "planted.png", title: "planted", rowTitle: "row", rows: ["a", "b", "c"], steps: [10, 20, 30, 40, 49],
                             values: values, map: map, unit: "unit", window: 20...30, tOf: { (try! ShiftedSchedule(numSteps: 50, shift: 5, maxT: 0.999)).t($0) })
    }

    @Test(arguments: [ColorMap.diverging, .viridis])
    func plantedCellsCarryTheColourMapColours(map: ColorMap) throws {
        let fig = Self.heatmap(map)
        let img = try PNG.decode(try fig.render(), name: "planted.png", channels: 3)
        let layout = fig.layout()
        #expect(img.width == Int((layout.width * 200 / 72).rounded()) && img.height == Int((layout.height * 200 / 72).rounded()))
        let scale = fig.scale
        #expect(scale.lo == -1 && scale.hi == 1)
        for r in 0..<3 {
            for k in 0..<5 {
                let v = fig.values[r * 5 + k]
                let cell = fig.cellPixels(row: r, column: k)
                // Sample away from the window outline (drawn over the cell borders).
                let x = cell.x + cell.w / 2, y = cell.y + cell.h / 2 + (r == 0 ? 2 : 0)
                let p = (y * img.width + x) * 3
                let got = RGB(img.pixels[p], img.pixels[p + 1], img.pixels[p + 2])
                #expect(got == scale.color(v), "cell (\(r), \(k)) value \(v): \(got) vs \(scale.color(v))")
            }
        }
    }

    @Test func colourMapsHaveTheirAnchors() {
        #expect(ColorMap.viridis.color(at: 0) == RGB(0x44, 0x01, 0x54))
        #expect(ColorMap.viridis.color(at: 1) == RGB(0xFD, 0xE7, 0x25))
        #expect(ColorMap.diverging.color(at: 0.5) == RGB(0xF7, 0xF7, 0xF7))
        #expect(ColorMap.diverging.color(at: 0) == RGB(0x05, 0x30, 0x61))
        #expect(ColorMap.diverging.color(at: 1) == RGB(0x67, 0x00, 0x1F))
        // Diverging scales are centred on zero: 0 maps to the neutral colour.
        let s = ColorScale(map: .diverging, values: [-0.2, 0.05, 1.3])
        #expect(s.lo == -1.3 && s.hi == 1.3 && s.color(0) == RGB(0xF7, 0xF7, 0xF7))
    }

    @Test func rendersAreByteIdentical() throws {
        let a = try ReportFigures.render(try StudyReport(study: Planted.study(clips: 3, steps: [5, 15, 20, 25, 30, 35, 40, 45], extras: true), options: Planted.options(ruleResamples: 30)))
        let b = try ReportFigures.render(try StudyReport(study: Planted.study(clips: 3, steps: [5, 15, 20, 25, 30, 35, 40, 45], extras: true), options: Planted.options(ruleResamples: 30)))
        #expect(a.count == 13)
        #expect(a == b)
    }

    @Test func pngRoundTripsThroughLibpng() throws {
        let rgb: [UInt8] = (0..<(7 * 5 * 3)).map { UInt8($0 * 3 % 256) }
        let png = try PNG.encode(Raster(width: 7, height: 5, channels: 3, pixels: rgb), name: "t.png")
        #expect(Array(png.prefix(8)) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        let back = try PNG.decode(png, name: "t.png", channels: 3)
        #expect(back.width == 7 && back.height == 5 && back.pixels == rgb)
        #expect(throws: MediaError.self) { try PNG.decode([1, 2, 3], name: "bad.png", channels: 3) }
    }
}
