import Foundation

/// Power spectrum of real frames through a radix-2 complex FFT of half the length (the classic
/// even/odd packing), in `Double`. Written here rather than linked because only one size is needed
/// (512 for MFCC) and the exact value `|rfft(x, n)|^2` is what python_speech_features uses.
struct RealFFT: Sendable {
    let n: Int
    let half: Int
    /// Twiddles of the half-length complex FFT: `exp(-2πi k / half)`, k < half/2.
    let cosTable: [Double], sinTable: [Double]
    /// Twiddles of the real split: `exp(-2πi k / n)`, k ≤ half.
    let splitCos: [Double], splitSin: [Double]
    let bitReverse: [Int]

    init(n: Int) {
        precondition(n >= 4 && n & (n - 1) == 0, "RealFFT size must be a power of two")
        self.n = n
        half = n / 2
        let h = n / 2
        cosTable = (0..<(h / 2)).map { cos(-2 * Double.pi * Double($0) / Double(h)) }
        sinTable = (0..<(h / 2)).map { sin(-2 * Double.pi * Double($0) / Double(h)) }
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
        let h = half
        for j in 0..<h {
            let t = bitReverse[j]
            let e = 2 * j, o = 2 * j + 1
            re[t] = e < input.count ? input[e] : 0
            im[t] = o < input.count ? input[o] : 0
        }
        cosTable.withUnsafeBufferPointer { ct in
            sinTable.withUnsafeBufferPointer { st in
                var len = 2
                while len <= h {
                    let halfLen = len / 2, stride = h / len
                    var start = 0
                    while start < h {
                        for k in 0..<halfLen {
                            let wr = ct[k * stride], wi = st[k * stride]
                            let i = start + k, j = i + halfLen
                            let tr = re[j] * wr - im[j] * wi
                            let ti = re[j] * wi + im[j] * wr
                            re[j] = re[i] - tr; im[j] = im[i] - ti
                            re[i] += tr; im[i] += ti
                        }
                        start += len
                    }
                    len *= 2
                }
            }
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
            let wr = splitCos[k], wi = splitSin[k]
            let xr = er + (or * wr - oi * wi)
            let xi = ei + (or * wi + oi * wr)
            power[k] = xr * xr + xi * xi
        }
    }
}
