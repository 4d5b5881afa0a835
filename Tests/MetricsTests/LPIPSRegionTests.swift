import Media
import Metrics
import Testing

/// The one LPIPS region rule the probe, `import videos` and `measure fidelity` share: the mouth box
/// padded by 4 px, clipped to the frame, measured only when both sides reach AlexNet's 31 px.
struct LPIPSRegionTests {
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
}
