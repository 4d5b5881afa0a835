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

    @Test func lpipsRegionsFollowAlexNetsSmallestInput() throws {
        // 32x32 probe frames: the full frame (>= 31 px) only, the padded mouth box is 20x16.
        #expect(LPIPS.regions(width: 32, height: 32, mouth: Box(x: 10, y: 18, width: 12, height: 8)) == [.full])
        // A 96x96 face: the mouth box padded by 4 px is 38x32.
        #expect(LPIPS.regions(width: 96, height: 96, mouth: Box(x: 30, y: 60, width: 30, height: 24)) == [.full, .mouth])
        // Padding is clipped at the frame's edge: 27 + 4 (left only) = 31 wide still passes.
        #expect(LPIPS.regions(width: 64, height: 64, mouth: Box(x: 0, y: 20, width: 27, height: 27)) == [.full, .mouth])
        #expect(LPIPS.regions(width: 64, height: 64, mouth: Box(x: 0, y: 20, width: 26, height: 27)) == [.full])
        #expect(LPIPS.regions(width: 30, height: 64, mouth: Box(x: 0, y: 0, width: 30, height: 40)) == nil)
        // The crop `measure fidelity` and the probe share: 4 px each side, clipped to the frame.
        #expect(LPIPS.mouthPadding == 4 && LPIPS.minimumSide == 31)
        #expect(try LPIPS.mouthCrop(Box(x: 0, y: 20, width: 27, height: 27), width: 64, height: 64) == Box(x: 0, y: 16, width: 31, height: 35))
        #expect(try LPIPS.mouthCrop(Box(x: 30, y: 60, width: 30, height: 24), width: 96, height: 96) == Box(x: 26, y: 56, width: 38, height: 32))
        #expect(LPIPS.accepts(Box(x: 0, y: 0, width: 31, height: 31)) && !LPIPS.accepts(Box(x: 0, y: 0, width: 30, height: 40)))
        // A box outside the frame: measure fidelity refuses it, the probe measures the full frame only.
        #expect(throws: NetsError.self) { try LPIPS.mouthCrop(Box(x: 60, y: 60, width: 10, height: 10), width: 64, height: 64) }
        #expect(LPIPS.regions(width: 64, height: 64, mouth: Box(x: 60, y: 60, width: 10, height: 10)) == [.full])
    }

    @Test func framesTooSmallForLPIPSAreRefusedWithTheFix() {
        let e = DriverError.frameTooSmall(clip: "a1", metric: "lpips", width: 24, height: 24, minimum: 31)
        #expect(e.description == "clip 'a1': lpips needs frames of at least 31x31 px, these are 24x24 (raise teacher.resolution or drop lpips from metrics)")
    }
}
