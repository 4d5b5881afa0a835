import Foundation
import Metrics

/// The two precisions of the analytic teacher's kernel. Precision-sensitive code is generic over
/// this so that the float32 fast path and the float64 small-σ path are the same source.
protocol GEMMScalar: BinaryFloatingPoint, Sendable {
    static func gemm(transB: Bool, m: Int, n: Int, k: Int, a: UnsafePointer<Self>, lda: Int,
                     b: UnsafePointer<Self>, ldb: Int, c: UnsafeMutablePointer<Self>, ldc: Int)
    static func expo(_ x: Self) -> Self
}

extension Float: GEMMScalar {
    static func gemm(transB: Bool, m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int,
                     b: UnsafePointer<Float>, ldb: Int, c: UnsafeMutablePointer<Float>, ldc: Int) {
        sgemm(transB: transB, m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc)
    }
    static func expo(_ x: Float) -> Float { Foundation.exp(x) }
}

extension Double: GEMMScalar {
    static func gemm(transB: Bool, m: Int, n: Int, k: Int, a: UnsafePointer<Double>, lda: Int,
                     b: UnsafePointer<Double>, ldb: Int, c: UnsafeMutablePointer<Double>, ldc: Int) {
        dgemm(transB: transB, m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc)
    }
    static func expo(_ x: Double) -> Double { Foundation.exp(x) }
}
