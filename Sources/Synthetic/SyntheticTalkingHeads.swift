import Foundation
import Measurement
import TrajectoryProbe

/// Synthetic talking-head clips for the analytic teacher: cartoon faces whose mouth opening
/// follows a syllable-like audio envelope, rendered with anti-aliased ellipses.
///
/// A Swift port of the prototype behind DESIGN.md's modelling notes
/// (`shared/prototypes/analytic_teacher.py`, `make_dataset`), with the prototype's NumPy
/// generator replaced by ``GaussianNoise`` so every machine builds the same bank. It exists so
/// that tests, benchmarks and a first demo can fill a ``FrameBank`` without any video; real
/// studies fill it from decoded clips. Audio features per frame: envelope, envelope + 0.1 noise,
/// lip-rounding + 0.15 noise (three values).
public struct SyntheticTalkingHeads: Sendable {
    // MARK: - Bank settings and contents

    /// Frame side in pixels (square frames).
    public let resolution: Int
    /// Number of distinct faces.
    public let identities: Int
    /// Clips rendered per face.
    public let clipsPerIdentity: Int
    /// Frames per clip.
    public let framesPerClip: Int
    /// Seed of every random draw, so the same arguments give the same bank everywhere.
    public let seed: UInt64
    /// The bank: every clip, identity ids `"id<i>"`, clip ids `"id<i>c<c>"`.
    public private(set) var bank: FrameBank
    /// Audio envelope per frame (the ground-truth mouth driver), bank row order.
    public private(set) var envelope: [Double] = []
    /// Mouth box per identity (pixel rows/columns inclusive range), as a per-pixel 0/1 mask.
    public private(set) var mouthMasks: [String: [Float]] = [:]

    // MARK: - Faces and random draws

    /// One cartoon face: RGB colours in [0, 1] (background, skin, eyes, lips, inner mouth) and
    /// geometry in pixels (face centre and semi-axes, eye offset and radius, mouth half-width,
    /// closed and open inner-mouth half-heights, mouth offset below the centre as a fraction of
    /// `ay`). The demo's identities are drawn with the same ``render(_:resolution:dx:dy:gain:blink:open:round:)``.
    package struct Face {
        /// RGB colours in [0, 1]: background, skin, eyes, lips, inner mouth.
        package var bg: [Double], face: [Double], eye: [Double], lip: [Double], inner: [Double]
        /// Face centre (row, column) and semi-axes (vertical, horizontal), eye offset from the centre and eye radius, in pixels.
        package var cy: Double, cx: Double, ay: Double, ax: Double, eyeDx: Double, eyeR: Double
        /// Mouth half-width, closed and open inner-mouth half-heights (pixels), and the mouth's offset below
        /// the centre as a fraction of `ay`.
        package var mw: Double, hmin: Double, hmax: Double, mouthDy: Double

        /// A face from its colours and geometry (see the type's description).
        package init(bg: [Double], face: [Double], eye: [Double], lip: [Double], inner: [Double],
                     cy: Double, cx: Double, ay: Double, ax: Double, eyeDx: Double, eyeR: Double,
                     mw: Double, hmin: Double, hmax: Double, mouthDy: Double) {
            self.bg = bg; self.face = face; self.eye = eye; self.lip = lip; self.inner = inner
            self.cy = cy; self.cx = cx; self.ay = ay; self.ax = ax; self.eyeDx = eyeDx; self.eyeR = eyeR
            self.mw = mw; self.hmin = hmin; self.hmax = hmax; self.mouthDy = mouthDy
        }
    }

    /// Counter-based uniform and normal draws on one stream.
    struct Draws {
        let g: GaussianNoise
        var n: UInt64 = 0
        mutating func uniform(_ lo: Double, _ hi: Double) -> Double {
            n += 1
            return lo + (hi - lo) * Double(g.word(n) >> 11) * 0x1p-53
        }
        mutating func normal() -> Double {
            n += 1
            return GaussianNoise(seed: g.word(n)).value(0)
        }
        mutating func int(_ lo: Int, _ hi: Int) -> Int { lo + Int(uniform(0, Double(hi - lo)).rounded(.down)) }
    }

    // MARK: - Rendering the bank

    /// Renders the whole bank; the defaults are the demo's 8 faces x 5 clips x 50 frames at 32x32.
    /// Throws on a resolution below 16, no identity or clip, or fewer than 4 frames per clip.
    public init(resolution: Int = 32, identities: Int = 8, clipsPerIdentity: Int = 5, framesPerClip: Int = 50,
                seed: UInt64 = 0, mouthNoise: Double = 0.08) throws(ProbeError) {
        guard resolution >= 16, identities >= 1, clipsPerIdentity >= 1, framesPerClip >= 4 else {
            throw .invalidBank("synthetic bank needs resolution ≥ 16, ≥ 1 identity and clip, ≥ 4 frames per clip")
        }
        self.resolution = resolution
        self.identities = identities
        self.clipsPerIdentity = clipsPerIdentity
        self.framesPerClip = framesPerClip
        self.seed = seed
        bank = try FrameBank(width: resolution, height: resolution, channels: 3, featureCount: 3)
        var r = Draws(g: GaussianNoise(seed: seed))
        let s = Double(resolution) / 32
        let t = framesPerClip
        for i in 0..<identities {
            let f = Face(
                bg: (0..<3).map { _ in r.uniform(0, 1) },
                face: [r.uniform(0.55, 0.95), r.uniform(0.4, 0.75), r.uniform(0.3, 0.6)],
                eye: (0..<3).map { _ in r.uniform(0, 0.25) },
                lip: [r.uniform(0.55, 0.85), r.uniform(0.15, 0.35), r.uniform(0.2, 0.4)],
                inner: (0..<3).map { _ in r.uniform(0.02, 0.15) },
                cy: (16 + r.uniform(-1.5, 1.5)) * s, cx: (16 + r.uniform(-1.5, 1.5)) * s,
                ay: r.uniform(11, 14) * s, ax: r.uniform(8.5, 11.5) * s,
                eyeDx: r.uniform(3.5, 4.5) * s, eyeR: r.uniform(1.1, 1.6) * s,
                mw: r.uniform(3.2, 4.5) * s, hmin: 0.35 * s, hmax: r.uniform(2.6, 3.4) * s,
                mouthDy: r.uniform(0.40, 0.50))
            mouthMasks["id\(i)"] = SyntheticTalkingHeads.mouthBox(f, resolution: resolution)
            for c in 0..<clipsPerIdentity {
                let e = SyntheticTalkingHeads.envelope(t, &r)
                let rnd = SyntheticTalkingHeads.smoothWalk(t, &r, amp: 0.5, tau: 4).map { min(1, max(0, 0.5 + $0)) }
                let open = e.map { min(1, max(0, $0 + mouthNoise * r.normal())) }
                let dx = SyntheticTalkingHeads.smoothWalk(t, &r, amp: 0.8 * s, tau: 8)
                let dy = SyntheticTalkingHeads.smoothWalk(t, &r, amp: 0.8 * s, tau: 8)
                let gain = SyntheticTalkingHeads.smoothWalk(t, &r, amp: 0.05, tau: 8).map { 1 + $0 }
                var blink = [Double](repeating: 0, count: t)
                for _ in 0..<r.int(0, 3) {
                    let b = r.int(0, t)
                    for (k, v) in [(-1, 0.5), (0, 1.0), (1, 0.5)] where b + k >= 0 && b + k < t { blink[b + k] = v }
                }
                for k in 0..<t {
                    let frame = SyntheticTalkingHeads.render(f, resolution: resolution, dx: dx[k], dy: dy[k], gain: gain[k],
                                                             blink: blink[k], open: open[k], round: rnd[k])
                    let audio = [Float(e[k]), Float(e[k] + 0.1 * r.normal()), Float(rnd[k] + 0.15 * r.normal())]
                    try bank.append(frame: frame, audio: audio, identity: "id\(i)", clip: "id\(i)c\(c)")
                    envelope.append(e[k])
                }
            }
        }
    }

    /// Syllable-like envelope at 25 fps in [0, 1] (the prototype's `envelope`).
    static func envelope(_ t: Int, _ r: inout Draws) -> [Double] {
        var e = [Double](repeating: 0, count: t)
        var pos = r.int(0, 4)
        while pos < t + 6 {
            if r.uniform(0, 1) < 0.15 { pos += r.int(6, 12); continue }
            let dur = r.int(4, 9), amp = r.uniform(0.35, 1)
            for k in 0..<dur where pos + k >= 0 && pos + k < t {
                e[pos + k] = max(e[pos + k], amp * pow(sin(Double.pi * (Double(k) + 0.5) / Double(dur)), 1.5))
            }
            pos += dur + r.int(0, 3)
        }
        return e
    }

    /// Gaussian-smoothed random walk, centred, scaled to peak `amp`.
    static func smoothWalk(_ t: Int, _ r: inout Draws, amp: Double, tau: Double) -> [Double] {
        let n = t + 20
        var x = [Double](repeating: 0, count: n)
        var acc = 0.0
        for i in 0..<n { acc += r.normal(); x[i] = acc }
        let radius = Int(4 * tau)
        var sm = [Double](repeating: 0, count: t)
        for i in 0..<t {
            var s = 0.0, w = 0.0
            for k in -radius...radius {
                let j = min(n - 1, max(0, i + 10 + k))     // nearest-edge padding
                let g = exp(-Double(k * k) / (2 * tau * tau))
                s += g * x[j]; w += g
            }
            sm[i] = s / w
        }
        let mean = sm.reduce(0, +) / Double(t)
        let centred = sm.map { $0 - mean }
        let peak = centred.map(abs).max()! + 1e-9
        return centred.map { amp * $0 / peak }
    }

    static func softEllipse(_ y: Double, _ x: Double, cy: Double, cx: Double, ay: Double, ax: Double) -> Double {
        let u = (x - cx) / ax, v = (y - cy) / ay
        let r = (u * u + v * v).squareRoot()
        let g = ((u / ax) * (u / ax) + (v / ay) * (v / ay)).squareRoot() / max(r, 1e-6)
        let sd = (1 - r) / max(g, 1e-6)
        return 1 / (1 + exp(-sd / 0.3))
    }

    /// The one face renderer: `f` moved by (`dx`, `dy`) px, lit by `gain`, eyes closed by
    /// `blink` ∈ [0, 1], mouth opened by `open` and rounded by `round` (both in [0, 1]), drawn
    /// with anti-aliased ellipses over the whole `n`×`n` frame; RGB rows in [0, 1].
    package static func render(_ f: Face, resolution n: Int, dx: Double, dy: Double, gain: Double, blink: Double,
                       open: Double, round: Double) -> [Float] {
        var img = [Float](repeating: 0, count: n * n * 3)
        let cy = f.cy + dy, cx = f.cx + dx
        let ey = cy - 0.25 * f.ay, eh = f.eyeR * (1 - 0.85 * blink) + 0.15
        let my = cy + f.mouthDy * f.ay
        let mw = f.mw * (1 + 0.3 * (0.5 - round))
        let h = f.hmin + (f.hmax - f.hmin) * open
        let s = Double(n) / 32
        for yy in 0..<n {
            for xx in 0..<n {
                let y = Double(yy), x = Double(xx)
                var p = f.bg
                func over(_ m: Double, _ col: [Double]) { for c in 0..<3 { p[c] = p[c] * (1 - m) + m * col[c] } }
                over(softEllipse(y, x, cy: cy, cx: cx, ay: f.ay, ax: f.ax), f.face)
                for sgn in [-1.0, 1.0] { over(softEllipse(y, x, cy: ey, cx: cx + sgn * f.eyeDx, ay: eh, ax: f.eyeR), f.eye) }
                over(softEllipse(y, x, cy: my, cx: cx, ay: h + 0.9 * s, ax: mw + 0.6 * s), f.lip)
                over(softEllipse(y, x, cy: my, cx: cx, ay: h, ax: mw), f.inner)
                for c in 0..<3 { img[(yy * n + xx) * 3 + c] = Float(min(1, max(0, p[c] * gain))) }
            }
        }
        return img
    }

    static func mouthBox(_ f: Face, resolution n: Int, pad: Double = 1.5) -> [Float] {
        let s = Double(n) / 32
        let my = f.cy + f.mouthDy * f.ay
        let hw = f.mw * 1.15 + 0.6 * s + pad, hh = f.hmax + 0.9 * s + pad
        var m = [Float](repeating: 0, count: n * n)
        let y0 = max(0, Int((my - hh).rounded(.down))), y1 = min(n - 1, Int((my + hh).rounded(.up)))
        let x0 = max(0, Int((f.cx - hw).rounded(.down))), x1 = min(n - 1, Int((f.cx + hw).rounded(.up)))
        for y in y0...y1 { for x in x0...x1 { m[y * n + x] = 1 } }
        return m
    }

    // MARK: - Sync proxy

    /// A simple sync proxy for tests and demos without a sync model: the Pearson correlation,
    /// over a clip's frames, between the mouth box's darkness (1 - mean luminance, frames clipped
    /// to [0, 1]) and the driving envelope. An open mouth shows the dark inner mouth, so
    /// in-sync frames correlate positively.
    public static func syncProxy(frames: Tensor, mouthMask: [Float], envelope: [Double]) -> Double {
        let px = frames.rowSize / 3
        precondition(mouthMask.count == px && envelope.count == frames.rows)
        var dark = [Double](repeating: 0, count: frames.rows)
        let area = Double(mouthMask.reduce(0, +))
        for r in 0..<frames.rows {
            var s = 0.0
            for p in 0..<px where mouthMask[p] != 0 {
                let b = (r * px + p) * 3
                let c = (0..<3).map { Double(min(1, max(0, frames.data[b + $0]))) }
                s += 0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2]
            }
            dark[r] = 1 - s / area
        }
        return pearson(dark, envelope)
    }

    static func pearson(_ a: [Double], _ b: [Double]) -> Double {
        let n = Double(a.count)
        let ma = a.reduce(0, +) / n, mb = b.reduce(0, +) / n
        var sab = 0.0, saa = 0.0, sbb = 0.0
        for i in 0..<a.count { sab += (a[i] - ma) * (b[i] - mb); saa += (a[i] - ma) * (a[i] - ma); sbb += (b[i] - mb) * (b[i] - mb) }
        return saa > 0 && sbb > 0 ? sab / (saa * sbb).squareRoot() : 0
    }
}
