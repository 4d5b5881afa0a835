import Digest
import Foundation
import Media
import Support

/// Generates the demo probe set: talking-head clips with real speech (espeak-ng) and a rendered
/// face whose mouth follows the audio, deterministic from a seed, no downloads.
///
/// Why rendered faces: the demo must run anywhere in two minutes with nothing fetched, and the
/// analytic teacher needs a bank of frames whose mouth is tied to the audio. Each identity differs
/// in skin tone, face shape, background, lip colour, voice and head motion, so fidelity metrics
/// separate identities. The mouth opening follows the speech envelope and its width follows a
/// rounding cue (zero-crossing rate), sampled 20 ms ahead of the frame centre (the mouth leads the
/// sound slightly, as in real speech) with per-frame jitter, so the audio does not determine the
/// mouth exactly.
package struct DemoDataGenerator {
    // MARK: - Settings

    /// Rendered people, each with its own face, colours and voice.
    package var identities = 4
    /// Clips per person; the last two are held out as probes.
    package var clipsPerIdentity = 5
    /// Frame side in pixels.
    package var size = 96
    /// The seed every face, motion and jitter is drawn from.
    package var seed: UInt64 = 2026

    /// A generator of `identities` × `clipsPerIdentity` clips of `size` px, deterministic from `seed`.
    package init(identities: Int = 4, clipsPerIdentity: Int = 5, size: Int = 96, seed: UInt64 = 2026) {
        self.identities = identities; self.clipsPerIdentity = clipsPerIdentity; self.size = size; self.seed = seed
    }

    // MARK: - Sentences and voices

    static let sentences = [
        "Please bring the blue book back to the library before noon.",
        "We watched the waves roll over the rocks all morning.",
        "My favourite food is a warm bowl of tomato soup.",
        "The old clock on the wall stopped at half past seven.",
        "She opened the window and the cool air rushed in.",
        "Five happy puppies played in the muddy park today.",
        "Could you move the heavy box over to the corner?",
        "The bright moon rose slowly above the quiet village.",
        "Thank you for coming, it was lovely to see you again.",
        "Put the apples and the oranges into the basket.",
        "Our team won the match after a very long game.",
        "He paints pictures of boats and birds by the sea.",
        "I would like a cup of coffee with milk, please.",
        "Pack your bags, we leave for the mountains at dawn.",
        "Maybe we should meet at the museum on Monday.",
        "Look at those purple flowers growing by the road.",
    ]
    static let voices = [("en-us", 150), ("en-gb+f3", 140), ("en-us+m3", 160), ("en-gb-scotland+f2", 145),
                         ("en-029", 150), ("en-us+f4", 155)]

    // MARK: - Generating

    /// One generated clip, as the manifests list it.
    package struct Clip: Sendable {
        var name: String
        var identity: String
        var video: String
        var mask: String
        var role: String
        var sentence: String
        var voice: String
        var frames: Int
    }

    /// Writes clips, masks and `manifest.yaml` under `directory`; returns the clips.
    package func generate(into directory: String, progress: (String) -> Void = { _ in }) throws -> [Clip] {
        let fm = FileManager.default
        try fm.createDirectory(atPath: directory + "/clips", withIntermediateDirectories: true)
        try fm.createDirectory(atPath: directory + "/masks", withIntermediateDirectories: true)
        guard let espeak = which("espeak-ng") else {
            throw DemoError.missingTool("espeak-ng", hint: "run `make deps` (apt-get install espeak-ng)")
        }
        var rng = SplitMix64(seed: seed)
        var clips: [Clip] = []
        for i in 0..<identities {
            let identity = FaceIdentity(rng: &rng, size: size)
            let idName = "id\(i)"
            let maskPath = "masks/\(idName).png"
            try PNG.write(identity.mask(size: size), to: directory + "/" + maskPath)
            let (voice, speed) = Self.voices[i % Self.voices.count]
            for c in 0..<clipsPerIdentity {
                let name = "\(idName)_c\(c)"
                let sentence = Self.sentences[(i * clipsPerIdentity + c) % Self.sentences.count]
                progress("clip \(clips.count + 1)/\(identities * clipsPerIdentity): \(name) (\(voice)) \"\(sentence)\"")
                let audio = try speak(sentence, voice: voice, speed: speed, espeak: espeak, scratch: directory)
                let cues = MouthCues(audio: audio, fps: 25)
                var frames: [Frame] = []
                let motion = HeadMotion(count: cues.count, size: size, rng: &rng)
                for k in 0..<cues.count {
                    let open = min(1, max(0, cues.open[k] + 0.06 * Float(rng.nextGaussian())))
                    frames.append(identity.render(size: size, dx: motion.dx[k], dy: motion.dy[k], gain: motion.gain[k],
                                                  blink: motion.blink[k], open: open, round: cues.round[k], index: k))
                }
                let video = "clips/\(name).mp4"
                try VideoWriter.write(path: directory + "/" + video, frames: frames, fps: 25, audio: audio,
                                      options: VideoEncodeOptions(crf: 12, preset: "fast"))
                clips.append(Clip(name: name, identity: idName, video: video, mask: maskPath,
                                  role: c >= clipsPerIdentity - 2 ? "probe" : "bank", sentence: sentence,
                                  voice: voice, frames: frames.count))
            }
        }
        try writeManifests(clips, into: directory)
        return clips
    }

    // MARK: - Manifests

    /// `bank.yaml` (the analytic teacher's frames), `probes.yaml` (held-out clips, each matched
    /// and dubbed with the other held-out clip's audio of the same identity) and `study.yaml`.
    func writeManifests(_ clips: [Clip], into directory: String) throws {
        func entry(_ c: Clip, id: String? = nil, audioFrom: Clip? = nil) -> String {
            var lines = ["  - id: \(id ?? c.name)", "    video: \(c.video)", "    identity: \(c.identity)", "    mask: \(c.mask)"]
            if let a = audioFrom { lines.append("    audio_from: \(a.name)"); lines.append("    audio: \(a.video)") }
            return lines.joined(separator: "\n")
        }
        let header = "# Generated by `trajprobe demo-data --seed \(seed)`: \(identities) identities, \(clipsPerIdentity) clips each.\n"
        let bank = clips.filter { $0.role == "bank" }.map { entry($0) }
        try AtomicFile.write(Data((header + "# The analytic teacher's bank (probe clips are held out of it).\nclips:\n" + bank.joined(separator: "\n") + "\n").utf8),
                             to: directory + "/bank.yaml")
        var probes: [String] = []
        for id in Set(clips.map(\.identity)).sorted() {
            let held = clips.filter { $0.identity == id && $0.role == "probe" }
            for c in held { probes.append(entry(c)) }
            if held.count == 2 {
                probes.append(entry(held[0], id: "\(held[0].name)_dub", audioFrom: held[1]))
                probes.append(entry(held[1], id: "\(held[1].name)_dub", audioFrom: held[0]))
            }
        }
        try AtomicFile.write(Data((header + "# Probe clips: matched (own audio) and dubbed (video of one clip, audio of another clip of the\n# same identity: the V2V use case).\nclips:\n" + probes.joined(separator: "\n") + "\n").utf8),
                             to: directory + "/probes.yaml")
        try AtomicFile.write(Data(DemoDataGenerator.studyYAML.utf8), to: directory + "/study.yaml")
    }

    /// The demo study: the analytic teacher in a PCA latent of 32x32 frames, every arm family.
    /// Both branches see the mouth-masked reference (a kernel on the upper face, as a lip-sync
    /// teacher is conditioned on the masked reference video); only the audio is dropped in the
    /// negative branch. Its CFG scale is 2: the exact posterior mean over a small bank reacts to
    /// guidance far more than a 14B teacher, and the fresh-noise sweep (w = 1..6) shows w = 4.5
    /// overshooting (no step keeps SSIM within tolerance) where w = 2 buys the Sync-C gain.
    static let studyYAML = """
        # trajprobe demo study (see DESIGN.md for the arms). Run: trajprobe probe study.yaml --db study.sqlite
        # The analytic teacher's CFG scale is 2 (its w = 4.5 overshoots; the fresh_noise sweep shows it).
        # Both branches see the mouth-masked reference; the negative branch drops only the audio.
        probe_set: probes.yaml
        teacher:
          kind: analytic
          bank: bank.yaml
          kappa: 4
          resolution: 32
          working_space: pca
          pca_components: 64
          drop: audio
          guidance_scale: 2
          identity_prior: masked_reference
          reference_bandwidth: 0.5
        steps:
          num_steps: 50
          shift: 5
          subset: [0, 8, 16, 20, 24, 28, 30, 32, 36, 40, 44, 49]
        arms:
          - trajectory w=1
          - trajectory w=1.5
          - trajectory w=2
          - trajectory w=3
          - trajectory w=4.5
          - trajectory w=6
          - fresh_noise w=1
          - fresh_noise w=1.5
          - fresh_noise w=2
          - fresh_noise w=3
          - fresh_noise w=4.5
          - fresh_noise w=6
          - factorial w=2
          - scheduled_cfg tau=20 w=2
          - spatial w=2
        seeds: [0, 1]
        metrics: [mse, psnr, ssim, sharpness, sync_c, sync_d, sync_offset]
        sync:
          model: facesync-cca

        """

    // MARK: - Speech

    /// espeak-ng speech resampled to 16 kHz, with 0.2 s of silence on both sides.
    private func speak(_ text: String, voice: String, speed: Int, espeak: String, scratch: String) throws -> Audio {
        let wav = scratch + "/.speech-\(getpid()).wav"
        defer { try? FileManager.default.removeItem(atPath: wav) }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: espeak)
        p.arguments = ["-v", voice, "-s", "\(speed)", "-w", wav, text]
        p.standardError = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else {
            throw DemoError.toolFailed("espeak-ng -v \(voice)", status: p.terminationStatus)
        }
        var audio = try AudioDecoder.decode(path: wav, sampleRate: 16_000)
        let pad = [Float](repeating: 0, count: 3200)
        audio.samples = pad + audio.samples + pad
        // Whole frames only: the clip's audio and video end together.
        let frames = audio.samples.count / 640
        audio.samples = Array(audio.samples.prefix(frames * 640))
        return audio
    }
}

enum DemoError: Error, CustomStringConvertible {
    case missingTool(String, hint: String)
    case toolFailed(String, status: Int32)
    var description: String {
        switch self {
        case .missingTool(let tool, let hint): return "\(tool) is not installed: \(hint)"
        case .toolFailed(let command, let status): return "\(command) failed with exit status \(status)"
        }
    }
}

/// Per-frame mouth cues from speech at 16 kHz: opening from the RMS envelope in dB over a 40 ms
/// window, rounding from the zero-crossing rate (fricatives spread the lips, vowels round them).
struct MouthCues {
    var open: [Float]
    var round: [Float]
    var count: Int { open.count }

    init(audio: Audio, fps: Int, lead: Double = 0.02) {
        let hop = audio.sampleRate / fps
        let n = audio.samples.count / hop
        var db = [Float](repeating: -100, count: n), zcr = [Float](repeating: 0, count: n)
        let s = audio.samples
        for k in 0..<n {
            let centre = Int((Double(k) + 0.5) / Double(fps) * Double(audio.sampleRate) + lead * Double(audio.sampleRate))
            let lo = max(0, centre - hop / 2), hi = min(s.count, centre + hop / 2)
            guard hi - lo > 1 else { continue }
            var energy: Float = 0, crossings = 0
            for j in lo..<hi {
                energy += s[j] * s[j]
                if j > lo && (s[j] >= 0) != (s[j - 1] >= 0) { crossings += 1 }
            }
            db[k] = 10 * log10(energy / Float(hi - lo) + 1e-10)
            zcr[k] = Float(crossings) / Float(hi - lo)
        }
        let peak = db.sorted()[Int(Double(n - 1) * 0.95)]
        // 40 dB below the loud frames is closed; a power law spreads the loud range over openings.
        var open = db.map { Float(pow(Double(min(1, max(0, ($0 - (peak - 40)) / 40))), 2.2)) }
        let zmax = max(zcr.max() ?? 1, 1e-6)
        var round = zcr.map { 1 - $0 / zmax }
        open = MouthCues.smooth(open)
        round = MouthCues.smooth(round)
        self.open = open
        self.round = round
    }

    static func smooth(_ x: [Float]) -> [Float] {
        x.indices.map { i in
            0.25 * x[max(0, i - 1)] + 0.5 * x[i] + 0.25 * x[min(x.count - 1, i + 1)]
        }
    }
}

/// Smooth head motion, lighting gain and blinks for one clip.
struct HeadMotion {
    var dx: [Float], dy: [Float], gain: [Float], blink: [Float]

    init(count: Int, size: Int, rng: inout SplitMix64) {
        let s = Float(size) / 32
        dx = HeadMotion.walk(count, amplitude: 0.8 * s, rng: &rng)
        dy = HeadMotion.walk(count, amplitude: 0.8 * s, rng: &rng)
        gain = HeadMotion.walk(count, amplitude: 0.05, rng: &rng).map { 1 + $0 }
        blink = [Float](repeating: 0, count: count)
        var t = Int(rng.next() % 40) + 10
        while t < count - 1 {
            blink[t - 1] = 0.5; blink[t] = 1; blink[t + 1] = 0.5
            t += 50 + Int(rng.next() % 50)
        }
    }

    /// A Gaussian-smoothed random walk, zero mean, scaled to ±amplitude.
    static func walk(_ n: Int, amplitude: Float, rng: inout SplitMix64) -> [Float] {
        var x = [Float](repeating: 0, count: n + 20), acc: Float = 0
        for i in x.indices { acc += Float(rng.nextGaussian()); x[i] = acc }
        let sigma: Float = 8, radius = 24
        let kernel = (-radius...radius).map { exp(-Float($0 * $0) / (2 * sigma * sigma)) }
        let ksum = kernel.reduce(0, +)
        var y = [Float](repeating: 0, count: n)
        for i in 0..<n {
            var v: Float = 0
            for (j, w) in kernel.enumerated() {
                let idx = min(max(0, i + 10 + j - radius), x.count - 1)
                v += w * x[idx]
            }
            y[i] = v / ksum
        }
        let mean = y.reduce(0, +) / Float(max(1, n))
        y = y.map { $0 - mean }
        let peak = max(y.map { abs($0) }.max() ?? 1, 1e-6)
        return y.map { amplitude * $0 / peak }
    }
}

/// One rendered identity: colours and geometry of a face drawn with anti-aliased ellipses.
struct FaceIdentity {
    var bg: SIMD3<Float>, skin: SIMD3<Float>, eye: SIMD3<Float>, lip: SIMD3<Float>, inner: SIMD3<Float>
    var cy: Float, cx: Float, ay: Float, ax: Float, eyeDX: Float, eyeR: Float
    var mouthW: Float, hMin: Float, hMax: Float, mouthDY: Float

    init(rng: inout SplitMix64, size: Int) {
        let s = Float(size) / 32
        func u(_ a: Float, _ b: Float) -> Float { a + (b - a) * Float(rng.nextUniform()) }
        bg = SIMD3(u(0, 1), u(0, 1), u(0, 1))
        // Human skin tones from light to dark, with a little jitter.
        let tones: [SIMD3<Float>] = [SIMD3(0.96, 0.80, 0.69), SIMD3(0.87, 0.67, 0.52), SIMD3(0.71, 0.50, 0.36), SIMD3(0.48, 0.33, 0.23)]
        let t = u(0, Float(tones.count - 1))
        let lo = Int(t), hi = min(tones.count - 1, lo + 1), f = t - Float(lo)
        skin = tones[lo] * (1 - f) + tones[hi] * f + SIMD3(u(-0.03, 0.03), u(-0.03, 0.03), u(-0.03, 0.03))
        eye = SIMD3(u(0, 0.25), u(0, 0.25), u(0, 0.25))
        lip = SIMD3(u(0.55, 0.85), u(0.15, 0.35), u(0.2, 0.4))
        inner = SIMD3(u(0.02, 0.15), u(0.02, 0.15), u(0.02, 0.15))
        cy = (16 + u(-1.5, 1.5)) * s; cx = (16 + u(-1.5, 1.5)) * s
        ay = u(11, 14) * s; ax = u(8.5, 11.5) * s
        eyeDX = u(3.5, 4.5) * s; eyeR = u(1.1, 1.6) * s
        mouthW = u(3.2, 4.5) * s; hMin = 0.35 * s; hMax = u(2.6, 3.4) * s; mouthDY = u(0.40, 0.50)
    }

    /// LatentSync's mask convention: white = kept upper face, black = the mouth region (the lower
    /// face around the mouth, wide enough for the head motion).
    func mask(size: Int) -> Raster {
        let s = Float(size) / 32
        let my = cy + mouthDY * ay
        let top = Int((my - hMax - 2.5 * s).rounded(.down)), bottom = Int((my + hMax + 2.5 * s).rounded(.up))
        let left = Int((cx - mouthW * 1.3 - 2.5 * s).rounded(.down)), right = Int((cx + mouthW * 1.3 + 2.5 * s).rounded(.up))
        var px = [UInt8](repeating: 255, count: size * size)
        for y in max(0, top)...min(size - 1, bottom) {
            for x in max(0, left)...min(size - 1, right) { px[y * size + x] = 0 }
        }
        return Raster(width: size, height: size, channels: 1, pixels: px)
    }

    /// One 8-bit frame of this identity. Drawn here rather than by ``SyntheticTalkingHeads``:
    /// this renderer paints each soft ellipse in Float inside its bounding box (the video
    /// frames the demo encodes), while the talking heads' renderer evaluates every ellipse in
    /// Double over the whole frame, as the NumPy prototype of the analytic teacher does, which its
    /// tests compare against. The two agree to within 13/255 on a few hundred pixels of a 96 px
    /// clip; the committed demo's numbers come from this one.
    func render(size: Int, dx: Float, dy: Float, gain: Float, blink: Float, open: Float, round: Float, index: Int) -> Frame {
        let s = Float(size) / 32
        var img = [SIMD3<Float>](repeating: bg, count: size * size)
        func paint(_ ecy: Float, _ ecx: Float, _ eay: Float, _ eax: Float, _ colour: SIMD3<Float>) {
            let y0 = max(0, Int(ecy - eay - 2)), y1 = min(size - 1, Int(ecy + eay + 2))
            let x0 = max(0, Int(ecx - eax - 2)), x1 = min(size - 1, Int(ecx + eax + 2))
            guard y0 <= y1, x0 <= x1 else { return }
            for y in y0...y1 {
                for x in x0...x1 {
                    let u = (Float(x) - ecx) / eax, v = (Float(y) - ecy) / eay
                    let r = (u * u + v * v).squareRoot()
                    let g = ((u / eax) * (u / eax) + (v / eay) * (v / eay)).squareRoot() / max(r, 1e-6)
                    let sd = (1 - r) / max(g, 1e-6)
                    let a = 1 / (1 + exp(-sd / 0.3))
                    img[y * size + x] = img[y * size + x] * (1 - a) + colour * a
                }
            }
        }
        let fy = cy + dy, fx = cx + dx
        paint(fy, fx, ay, ax, skin)
        let ey = fy - 0.25 * ay, eh = eyeR * (1 - 0.85 * blink) + 0.15
        paint(ey, fx - eyeDX, eh, eyeR, eye)
        paint(ey, fx + eyeDX, eh, eyeR, eye)
        let my = fy + mouthDY * ay
        let mw = mouthW * (1 + 0.3 * (0.5 - round))
        let h = hMin + (hMax - hMin) * open
        paint(my, fx, h + 0.9 * s, mw + 0.6 * s, lip)
        paint(my, fx, h, mw, inner)
        var rgb = [UInt8](repeating: 0, count: size * size * 3)
        for i in 0..<(size * size) {
            let c = img[i] * gain
            rgb[3 * i] = UInt8(min(255, max(0, (c.x * 255).rounded())))
            rgb[3 * i + 1] = UInt8(min(255, max(0, (c.y * 255).rounded())))
            rgb[3 * i + 2] = UInt8(min(255, max(0, (c.z * 255).rounded())))
        }
        return Frame(width: size, height: size, rgb: rgb, index: index)
    }
}

extension SplitMix64 {
    /// Standard normal by Box–Muller (one of the pair).
    mutating func nextGaussian() -> Double {
        let u1 = max(nextUniform(), 1e-300), u2 = nextUniform()
        return (-2 * log(u1)).squareRoot() * cos(2 * .pi * u2)
    }
}
