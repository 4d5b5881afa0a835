@testable import TrajectoryProbe

/// Small deterministic banks for tests: frames and audio features drawn from ``GaussianNoise``.
enum TestBanks {
    /// `identities × clipsPerIdentity × framesPerClip` frames of `side × side × 3` values in [0, 1].
    static func random(side: Int = 4, identities: Int = 3, clipsPerIdentity: Int = 2, framesPerClip: Int = 5,
                       features: Int = 3, seed: UInt64 = 11) throws -> FrameBank {
        var bank = try FrameBank(width: side, height: side, channels: 3, featureCount: features)
        let d = side * side * 3
        let g = GaussianNoise(seed: seed)
        var k = 0
        for i in 0..<identities {
            let base = (0..<d).map { 0.5 + 0.2 * Float(g.value(10_000_000 + i * d + $0)) }
            for c in 0..<clipsPerIdentity {
                for _ in 0..<framesPerClip {
                    let frame = (0..<d).map { min(1, max(0, base[$0] + 0.1 * Float(g.value(k * d + $0)))) }
                    let audio = (0..<features).map { Float(g.value(20_000_000 + k * features + $0)) }
                    try bank.append(frame: frame, audio: audio, identity: "id\(i)", clip: "id\(i)c\(c)")
                    k += 1
                }
            }
        }
        return bank
    }

    /// A probe clip from held-out bank rows: reference states and the clip's own audio.
    static func clip(_ name: String, from bank: FrameBank, teacher: AnalyticTeacher, identity: String) throws -> ProbeClip {
        let rows = bank.rows(ofClip: name)
        return ProbeClip(id: name, reference: try teacher.space.encode(bank.frames(rows: rows)),
                         conditioning: Conditioning(clip: name, identity: identity, audioFeatures: bank.audio(rows: rows)))
    }
}
