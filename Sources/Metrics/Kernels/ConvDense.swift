/// A fully connected layer (`nn.Linear`): `y = x Wᵀ + b`, `W` is `outputs x inputs`.
struct DenseLayer: Sendable {
    var weight: [Float]
    var bias: [Float]
    let outputs: Int
    let inputs: Int

    init(weight: [Float], bias: [Float], outputs: Int, inputs: Int) {
        precondition(weight.count == outputs * inputs && bias.count == outputs, "DenseLayer: sizes")
        self.weight = weight
        self.bias = bias
        self.outputs = outputs
        self.inputs = inputs
    }

    /// `x` is `batch x inputs` row-major, or `inputs x batch` when `inputIsChannelMajor`;
    /// the result is `batch x outputs` row-major.
    func apply(_ x: [Float], batch: Int, inputIsChannelMajor: Bool) -> [Float] {
        var y = [Float](repeating: 0, count: batch * outputs)
        y.withUnsafeMutableBufferPointer { out in
            bias.withUnsafeBufferPointer { b in
                for r in 0..<batch { (out.baseAddress! + r * outputs).update(from: b.baseAddress!, count: outputs) }
            }
            x.withUnsafeBufferPointer { a in
                weight.withUnsafeBufferPointer { w in
                    sgemm(transA: inputIsChannelMajor, transB: true, m: batch, n: outputs, k: inputs,
                          a: a.baseAddress!, lda: inputIsChannelMajor ? batch : inputs,
                          b: w.baseAddress!, ldb: inputs, beta: 1, c: out.baseAddress!, ldc: outputs)
                }
            }
        }
        return y
    }
}
