import Dispatch

/// The im2col layout: row `(ci * kernelH + i) * kernelW + j`, column `(n * oh + y) * ow + x`
/// holds input channel `ci` of image `n` at `(y * strideH - padH + i, x * strideW - padW + j)`,
/// zero outside the image.
struct Im2col: Sendable {
    var channels: Int
    var batch: Int
    var height: Int
    var width: Int
    var kernelH: Int
    var kernelW: Int
    var strideH: Int
    var strideW: Int
    var padH: Int
    var padW: Int

    var outHeight: Int { (height + 2 * padH - kernelH) / strideH + 1 }
    var outWidth: Int { (width + 2 * padW - kernelW) / strideW + 1 }
    var rows: Int { channels * kernelH * kernelW }
    var columns: Int { batch * outHeight * outWidth }

    /// Fills `col` (`rows x columns`); `planeOffset(ci, n)` locates the `height x width` plane of
    /// channel `ci` of image `n` in `source`, so callers can gather channels from anywhere (the lip
    /// stream reads its 5-frame windows straight out of the frame sequence without copying).
    /// Rows are split over the cores: for the large first layers im2col is memory-bound work
    /// that would otherwise sit beside an idle core.
    func fill(_ col: UnsafeMutablePointer<Float>, from source: UnsafePointer<Float>, parallel: Bool = true,
              planeOffset: (Int, Int) -> Int) {
        let oh = outHeight, ow = outWidth, rowLength = columns
        let rows = self.rows
        let offsets = (0..<(channels * batch)).map { planeOffset($0 / batch, $0 % batch) }
        let colAddress = UInt(bitPattern: col), srcAddress = UInt(bitPattern: source)
        let work: @Sendable (Int) -> Void = { row in
            let col = UnsafeMutablePointer<Float>(bitPattern: colAddress)!
            let source = UnsafePointer<Float>(bitPattern: srcAddress)!
            let ci = row / (kernelH * kernelW)
            let i = (row / kernelW) % kernelH
            let j = row % kernelW
            // Valid output columns x: 0 <= x * strideW - padW + j < width.
            let xLo = max(0, (padW - j + strideW - 1) / strideW)
            let xHi = min(ow, (width - 1 + padW - j) / strideW + 1)
            for n in 0..<batch {
                let plane = source + offsets[ci * batch + n]
                var dst = col + row * rowLength + n * oh * ow
                for y in 0..<oh {
                    let iy = y * strideH - padH + i
                    if iy < 0 || iy >= height || xHi <= xLo {
                        dst.update(repeating: 0, count: ow)
                    } else {
                        if xLo > 0 { dst.update(repeating: 0, count: xLo) }
                        if xHi < ow { (dst + xHi).update(repeating: 0, count: ow - xHi) }
                        let src = plane + iy * width - padW + j
                        if strideW == 1 {
                            (dst + xLo).update(from: src + xLo, count: xHi - xLo)
                        } else {
                            var x = xLo
                            while x < xHi { dst[x] = src[x * strideW]; x += 1 }
                        }
                    }
                    dst += ow
                }
            }
        }
        if parallel && rows * rowLength >= 1 << 20 {
            let chunks = min(rows, 16)
            DispatchQueue.concurrentPerform(iterations: chunks) { c in
                var row = c * rows / chunks
                while row < (c + 1) * rows / chunks { work(row); row += 1 }
            }
        } else {
            for row in 0..<rows { work(row) }
        }
    }
}
