import CBLAS
import Foundation
import Support

/// Row-major single-precision matrix product through OpenBLAS: `C = alpha * op(A) * op(B) + beta * C`.
///
/// Every hot loop of trajprobe that is a matrix product (im2col convolutions, the analytic
/// teacher's distances and weighted sums) goes through here so that one place owns the BLAS
/// calling convention.
package func sgemm(
    transA: Bool = false, transB: Bool = false,
    m: Int, n: Int, k: Int,
    alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
    b: UnsafePointer<Float>, ldb: Int,
    beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int
) {
    cblas_sgemm(CblasRowMajor,
                transA ? CblasTrans : CblasNoTrans,
                transB ? CblasTrans : CblasNoTrans,
                Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
}

/// Double-precision twin of ``sgemm(transA:transB:m:n:k:alpha:a:lda:b:ldb:beta:c:ldc:)`` for
/// precision-sensitive paths (small σ, large κ in the analytic teacher).
package func dgemm(
    transA: Bool = false, transB: Bool = false,
    m: Int, n: Int, k: Int,
    alpha: Double = 1, a: UnsafePointer<Double>, lda: Int,
    b: UnsafePointer<Double>, ldb: Int,
    beta: Double = 0, c: UnsafeMutablePointer<Double>, ldc: Int
) {
    cblas_dgemm(CblasRowMajor,
                transA ? CblasTrans : CblasNoTrans,
                transB ? CblasTrans : CblasNoTrans,
                Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
}

/// Runs `body` with OpenBLAS single-threaded, for callers that put one batch on each core
/// themselves: OpenBLAS's idle workers spin (`sched_yield`) on the very cores those batches
/// need, and its threads split mid-size products (a Winograd layer's 16 thin sgemms) poorly.
///
/// OpenBLAS's thread count is one setting for the whole process, so overlapping callers share
/// one count of who is inside: the first in sets one thread, the last out restores the count it
/// found.
package func withSingleThreadedBLAS<T>(_ body: () throws -> T) rethrows -> T {
    BLASThreadGate.shared.enter()
    defer { BLASThreadGate.shared.leave() }
    return try body()
}

/// The bookkeeping behind ``withSingleThreadedBLAS(_:)``: it mirrors OpenBLAS's own
/// process-wide state, so it is process-wide too.
private final class BLASThreadGate: Sendable {
    static let shared = BLASThreadGate()
    /// Callers inside, and OpenBLAS's thread count before the first of them entered.
    private let state = Locked((inside: 0, saved: Int32(1)))

    func enter() {
        state.withLock { s in
            if s.inside == 0 {
                s.saved = openblas_get_num_threads()
                if s.saved != 1 { openblas_set_num_threads(1) }
            }
            s.inside += 1
        }
    }

    func leave() {
        state.withLock { s in
            s.inside -= 1
            if s.inside == 0 && s.saved != 1 { openblas_set_num_threads(s.saved) }
        }
    }
}
