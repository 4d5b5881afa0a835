import Foundation
import Measurement
import Media
import Metrics
import Store
import Testing
@testable import TrajectoryProbe

/// LPIPS in studies: `lpips: {weights: …}` turns the metric on, a study without weights never
/// lists it by default, and frames or mouth crops too small for AlexNet are caught before work.
struct LPIPSConfigTests {
    let base = URL(fileURLWithPath: "/data/study")
    let head = "clips: [{id: a, video: v.mp4, identity: i, box: \"1,1,2,2\"}]\narms: [\"trajectory w=1\"]\nteacher: {bank: b}\n"

    @Test func withoutWeightsTheDefaultMetricsLeaveLPIPSOut() throws {
        let c = try TrajectoryProbe.ProbeStudyFile.parse(text: head, file: "study.yaml", baseDirectory: base)
        #expect(c.lpips.weights == nil)
        #expect(c.metrics == ["mse", "psnr", "ssim", "sharpness", "sync_c", "sync_d", "sync_offset"])
    }

    @Test func weightsAddLPIPSToTheDefaultsAndResolveAgainstTheFile() throws {
        // The weights must exist when the study is read (an empty file passes that check).
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("trajprobe-lpipscfg-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("nets"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        for f in ["nets/alex.safetensors", "alex.safetensors"] { try Data().write(to: dir.appendingPathComponent(f)) }
        let c = try TrajectoryProbe.ProbeStudyFile.parse(text: head + "lpips: {weights: nets/alex.safetensors}\n",
                                                      file: "study.yaml", baseDirectory: dir)
        #expect(c.lpips.weights == dir.appendingPathComponent("nets/alex.safetensors").standardizedFileURL.path)
        #expect(c.metrics == TrajectoryProbe.ProbeStudyFile.allMetrics)
        let chosen = try TrajectoryProbe.ProbeStudyFile.parse(text: head + "lpips: {weights: alex.safetensors}\nmetrics: [ssim]\n",
                                                           file: "study.yaml", baseDirectory: dir)
        #expect(chosen.metrics == ["ssim"])
    }

    @Test func lpipsWithoutWeightsIsRefusedNamingTheKeyAndTheConverter() throws {
        do {
            _ = try TrajectoryProbe.ProbeStudyFile.parse(text: head + "metrics: [ssim, lpips]\n", file: "study.yaml", baseDirectory: base)
            Issue.record("lpips without weights accepted")
        } catch {
            #expect(error.description.hasPrefix("study.yaml: key 'metrics'"), "\(error.description)")
            #expect(error.description.contains("lpips: {weights: FILE}") && error.description.contains("tools/convert_lpips.py"))
        }
        do {
            _ = try TrajectoryProbe.ProbeStudyFile.parse(text: head + "lpips: {weights: a, model: alex}\n", file: "study.yaml", baseDirectory: base)
            Issue.record("unknown lpips key accepted")
        } catch {
            #expect(error.description.contains("lpips.model"), "\(error.description)")
        }
        var c = try TrajectoryProbe.ProbeStudyFile.parse(text: head, file: "study.yaml", baseDirectory: base)
        do {
            try c.override(metrics: "ssim,lpips")
            Issue.record("--metrics lpips without weights accepted")
        } catch {
            #expect(error.description.contains("--metrics") && error.description.contains("lpips"), "\(error.description)")
        }
    }
}
