import Testing
@testable import Metrics

@Test func sgemmMatchesNaiveProduct() {
    let m = 3, n = 4, k = 5
    let a = (0..<(m * k)).map { Float($0) * 0.5 - 3 }
    let b = (0..<(k * n)).map { Float(($0 * 7) % 11) - 5 }
    var c = [Float](repeating: 0, count: m * n)
    sgemm(m: m, n: n, k: k, a: a, lda: k, b: b, ldb: n, c: &c, ldc: n)
    for i in 0..<m {
        for j in 0..<n {
            var s: Float = 0
            for p in 0..<k { s += a[i * k + p] * b[p * n + j] }
            #expect(c[i * n + j] == s)
        }
    }
}

@Test func sgemmTransposedOperands() {
    // (A^T)(B^T) with A stored k x m and B stored n x k.
    let a: [Float] = [1, 2, 3, 4, 5, 6]      // 2 x 3 -> A^T is 3 x 2
    let b: [Float] = [1, 0, 0, 1, 1, 1]      // 3 x 2 -> B^T is 2 x 3
    var c = [Float](repeating: 0, count: 9)
    sgemm(transA: true, transB: true, m: 3, n: 3, k: 2, a: a, lda: 3, b: b, ldb: 2, c: &c, ldc: 3)
    #expect(c == [1, 4, 5, 2, 5, 7, 3, 6, 9])
}
