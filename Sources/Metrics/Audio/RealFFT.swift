import Foundation

/// Power spectrum of real frames through a radix-2 complex FFT of half the length (the classic
/// even/odd packing), in `Double`. Written here rather than linked because only one size is needed
/// (512 for MFCC) and the exact value `|rfft(x, n)|^2` is what python_speech_features uses.
struct RealFFT: Sendable {
    let n: Int
    let half: Int
    /// Twiddles of the half-length complex FFT per stage, contiguous: stage with half-length m
    /// holds `exp(-2πi k / (2m))` for k < m at offset m - 1.
    let cosTable: [Double], sinTable: [Double]
    /// Twiddles of the real split: `exp(-2πi k / n)`, k ≤ half.
    let splitCos: [Double], splitSin: [Double]
    let bitReverse: [Int]

    init(n: Int) {
        precondition(n >= 4 && n & (n - 1) == 0, "RealFFT size must be a power of two")
        self.n = n
        half = n / 2
        let h = n / 2
        var ct = [Double](), st = [Double]()
        var m = 1
        while m < h {
            for k in 0..<m {
                // Same angle as exp(-2πi (k h / 2m) / h), computed from the reduced index.
                let angle = -2 * Double.pi * Double(k * (h / (2 * m))) / Double(h)
                ct.append(cos(angle)); st.append(sin(angle))
            }
            m *= 2
        }
        cosTable = ct
        sinTable = st
        splitCos = (0...h).map { cos(-2 * Double.pi * Double($0) / Double(n)) }
        splitSin = (0...h).map { sin(-2 * Double.pi * Double($0) / Double(n)) }
        var bits = 0
        while (1 << bits) < h { bits += 1 }
        bitReverse = (0..<h).map { i in
            var r = 0
            for b in 0..<bits where i & (1 << b) != 0 { r |= 1 << (bits - 1 - b) }
            return r
        }
    }

    /// `power[k] = |X_k|^2` for k in 0...n/2 of the zero-padded real input (`input.count <= n`).
    /// `re`, `im` are scratch of length n/2.
    func powerSpectrum(_ input: UnsafeBufferPointer<Double>, into power: UnsafeMutablePointer<Double>,
                       re: UnsafeMutablePointer<Double>, im: UnsafeMutablePointer<Double>) {
        cosTable.withUnsafeBufferPointer { ct in
        sinTable.withUnsafeBufferPointer { st in
        splitCos.withUnsafeBufferPointer { sc in
        splitSin.withUnsafeBufferPointer { ss in
        bitReverse.withUnsafeBufferPointer { br in
            let h = half
            let count = input.count
            for j in 0..<h {
                let t = br[j]
                let e = 2 * j, o = 2 * j + 1
                re[t] = e < count ? input[e] : 0
                im[t] = o < count ? input[o] : 0
            }
            // First stage: twiddle 1.
            var i = 0
            while i < h {
                let ar = re[i], ai = im[i], br2 = re[i + 1], bi = im[i + 1]
                re[i] = ar + br2; im[i] = ai + bi
                re[i + 1] = ar - br2; im[i + 1] = ai - bi
                i += 2
            }
            var halfLen = 2
            while halfLen < h {
                let len = 2 * halfLen
                let tw = halfLen - 1
                var start = 0
                if halfLen >= 4 {
                    typealias V = SIMD4<Double>
                    while start < h {
                        var k = 0
                        while k < halfLen {
                            let wr = UnsafeRawPointer(ct.baseAddress! + tw + k).loadUnaligned(as: V.self)
                            let wi = UnsafeRawPointer(st.baseAddress! + tw + k).loadUnaligned(as: V.self)
                            let i = start + k, j = i + halfLen
                            let rj = UnsafeRawPointer(re + j).loadUnaligned(as: V.self)
                            let ij = UnsafeRawPointer(im + j).loadUnaligned(as: V.self)
                            let ri = UnsafeRawPointer(re + i).loadUnaligned(as: V.self)
                            let ii = UnsafeRawPointer(im + i).loadUnaligned(as: V.self)
                            let tr: V = rj * wr - ij * wi
                            let ti: V = rj * wi + ij * wr
                            UnsafeMutableRawPointer(re + j).storeBytes(of: ri - tr, as: V.self)
                            UnsafeMutableRawPointer(im + j).storeBytes(of: ii - ti, as: V.self)
                            UnsafeMutableRawPointer(re + i).storeBytes(of: ri + tr, as: V.self)
                            UnsafeMutableRawPointer(im + i).storeBytes(of: ii + ti, as: V.self)
                            k += 4
                        }
                        start += len
                    }
                } else {
                    while start < h {
                        for k in 0..<halfLen {
                            let wr = ct[tw + k], wi = st[tw + k]
                            let i = start + k, j = i + halfLen
                            let tr = re[j] * wr - im[j] * wi
                            let ti = re[j] * wi + im[j] * wr
                            re[j] = re[i] - tr; im[j] = im[i] - ti
                            re[i] += tr; im[i] += ti
                        }
                        start += len
                    }
                }
                halfLen *= 2
            }
            // Split the packed spectrum: X_k = E_k + W^k O_k.
            power[0] = (re[0] + im[0]) * (re[0] + im[0])
            power[h] = (re[0] - im[0]) * (re[0] - im[0])
            for k in 1..<h {
                let zr = re[k], zi = im[k], cr = re[h - k], ci = -im[h - k]
                let er = 0.5 * (zr + cr), ei = 0.5 * (zi + ci)
                // (Z_k - conj Z_{h-k}) / (2i)
                let dr = 0.5 * (zr - cr), di = 0.5 * (zi - ci)
                let or = di, oi = -dr
                let wr = sc[k], wi = ss[k]
                let xr = er + (or * wr - oi * wi)
                let xi = ei + (or * wi + oi * wr)
                power[k] = xr * xr + xi * xi
            }
        }}}}}
    }

    /// Four frames at once, lane `l` of every vector belonging to frame `l` (structure of arrays),
    /// so every stage, the bit reversal and the split run as `SIMD4<Double>` operations. Each lane
    /// performs exactly the operations of ``powerSpectrum(_:into:re:im:)``.
    func powerSpectra4(_ inputs: (UnsafePointer<Double>, UnsafePointer<Double>, UnsafePointer<Double>, UnsafePointer<Double>),
                       count: Int, into power: UnsafeMutablePointer<SIMD4<Double>>,
                       re: UnsafeMutablePointer<SIMD4<Double>>, im: UnsafeMutablePointer<SIMD4<Double>>) {
        typealias V = SIMD4<Double>
        cosTable.withUnsafeBufferPointer { ct in
        sinTable.withUnsafeBufferPointer { st in
        splitCos.withUnsafeBufferPointer { sc in
        splitSin.withUnsafeBufferPointer { ss in
        bitReverse.withUnsafeBufferPointer { br in
            let h = half
            let (x0, x1, x2, x3) = inputs
            for j in 0..<h {
                let t = br[j]
                let e = 2 * j, o = 2 * j + 1
                re[t] = e < count ? V(x0[e], x1[e], x2[e], x3[e]) : V()
                im[t] = o < count ? V(x0[o], x1[o], x2[o], x3[o]) : V()
            }
            var i = 0
            while i < h {
                let ar = re[i], ai = im[i], br2 = re[i + 1], bi = im[i + 1]
                re[i] = ar + br2; im[i] = ai + bi
                re[i + 1] = ar - br2; im[i + 1] = ai - bi
                i += 2
            }
            var halfLen = 2
            while halfLen < h {
                let len = 2 * halfLen, tw = halfLen - 1
                var start = 0
                while start < h {
                    for k in 0..<halfLen {
                        let wr = ct[tw + k], wi = st[tw + k]
                        let i = start + k, j = i + halfLen
                        let rj = re[j], ij = im[j]
                        let tr: V = rj * wr - ij * wi
                        let ti: V = rj * wi + ij * wr
                        let ri = re[i], ii = im[i]
                        re[j] = ri - tr; im[j] = ii - ti
                        re[i] = ri + tr; im[i] = ii + ti
                    }
                    start += len
                }
                halfLen *= 2
            }
            let p0: V = re[0] + im[0], ph: V = re[0] - im[0]
            power[0] = p0 * p0
            power[h] = ph * ph
            for k in 1..<h {
                let zr = re[k], zi = im[k], cr = re[h - k], ci = -im[h - k]
                let er: V = 0.5 * (zr + cr), ei: V = 0.5 * (zi + ci)
                let dr: V = 0.5 * (zr - cr), di: V = 0.5 * (zi - ci)
                let or = di, oi = -dr
                let wr = sc[k], wi = ss[k]
                let xr: V = er + (or * wr - oi * wi)
                let xi: V = ei + (or * wi + oi * wr)
                power[k] = xr * xr + xi * xi
            }
        }}}}}
    }
}
