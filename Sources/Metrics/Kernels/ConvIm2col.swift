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
        let offsets = (0..<(channels * batch)).map { planeOffset($0 / batch, $0 % batch) }
        if strideW > 1 {
            fillStrided(col, from: source, parallel: parallel, offsets: offsets)
            return
        }
        let oh = outHeight, ow = outWidth, rowLength = columns
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
        forEachRow(parallel: parallel, work)
    }

    /// Rows split over the cores when the matrix is large and the caller is not already one of
    /// several batches running side by side.
    private func forEachRow(parallel: Bool, _ work: @Sendable (Int) -> Void) {
        let rows = self.rows
        if parallel && rows * columns >= 1 << 20 {
            let chunks = min(rows, 16)
            DispatchQueue.concurrentPerform(iterations: chunks) { c in
                var row = c * rows / chunks
                while row < (c + 1) * rows / chunks { work(row); row += 1 }
            }
        } else {
            for row in 0..<rows { work(row) }
        }
    }

    /// Strided columns (the stride-4 stem of LPIPS's AlexNet): every plane is zero-padded once
    /// and split into its `strideW` column phases, `phase[q][r][k] = padded[r][k * strideW + q]`.
    /// Patch row `(ci, i, j)` then reads phase `j % strideW` from column `j / strideW` on: each
    /// output row is one contiguous copy, where a direct gather touches every element on its own.
    private func fillStrided(_ col: UnsafeMutablePointer<Float>, from source: UnsafePointer<Float>,
                             parallel: Bool, offsets: [Int]) {
        let s = strideW, hp = height + 2 * padH, wq = (width + 2 * padW + s - 1) / s
        let planeSize = hp * s * wq, planes = channels * batch
        let oh = outHeight, ow = outWidth, rowLength = columns
        let kernelH = self.kernelH, kernelW = self.kernelW, strideH = self.strideH, batch = self.batch
        let (padH, padW, width, height) = (self.padH, self.padW, self.width, self.height)
        var phases = [Float](repeating: 0, count: planes * planeSize)
        phases.withUnsafeMutableBufferPointer { out in
            for plane in 0..<planes {
                let src = source + offsets[plane], base = out.baseAddress! + plane * planeSize
                for y in 0..<height {
                    let row = src + y * width
                    for q in 0..<s {
                        let dst = base + ((y + padH) * s + q) * wq
                        // Padded columns k * s + q that hold input column x = k * s + q - padW.
                        let kLo = max(0, (padW - q + s - 1) / s), kHi = min(wq, (width - 1 + padW - q) / s + 1)
                        var k = kLo
                        while k < kHi { dst[k] = row[k * s + q - padW]; k += 1 }
                    }
                }
            }
        }
        phases.withUnsafeBufferPointer { ph in
            let phaseAddress = UInt(bitPattern: ph.baseAddress!), colAddress = UInt(bitPattern: col)
            forEachRow(parallel: parallel) { row in
                let col = UnsafeMutablePointer<Float>(bitPattern: colAddress)!
                let phases = UnsafePointer<Float>(bitPattern: phaseAddress)!
                let ci = row / (kernelH * kernelW), i = (row / kernelW) % kernelH, j = row % kernelW
                let q = j % s, x0 = j / s
                for n in 0..<batch {
                    let base = phases + (ci * batch + n) * planeSize
                    let dst = col + row * rowLength + n * oh * ow
                    for y in 0..<oh {
                        (dst + y * ow).update(from: base + ((y * strideH + i) * s + q) * wq + x0, count: ow)
                    }
                }
            }
        }
    }
}
