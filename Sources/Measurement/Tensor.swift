/// A contiguous, row-major Float tensor: the one currency between teachers, arms and the driver.
///
/// The first axis is the batch (frames of a clip, or latent frames of a video teacher); the rest
/// is whatever the teacher's working space is. Keeping the storage a single `[Float]` lets every
/// kernel hand it straight to BLAS without gathering rows.
public struct Tensor: Sendable, Equatable {
    /// Axis lengths, rows first; their product is `data.count`.
    public var shape: [Int]
    /// The values, row-major, in one contiguous array.
    public var data: [Float]

    /// Fails when the shape's product is not the number of values.
    public init(shape: [Int], data: [Float]) throws(ProbeError) {
        guard !shape.isEmpty, shape.allSatisfy({ $0 >= 0 }), shape.reduce(1, *) == data.count else {
            throw .shapeMismatch(what: "tensor", expected: shape, got: [data.count])
        }
        self.shape = shape
        self.data = data
    }

    /// A tensor of `value`s (zeros by default).
    public init(zeros shape: [Int], value: Float = 0) {
        precondition(!shape.isEmpty && shape.allSatisfy { $0 >= 0 }, "Tensor: bad shape \(shape)")
        self.shape = shape
        self.data = [Float](repeating: value, count: shape.reduce(1, *))
    }

    /// Internal initialiser for kernels that built `data` to match `shape` themselves.
    package init(unchecked shape: [Int], _ data: [Float]) {
        self.shape = shape
        self.data = data
    }

    /// Number of rows (the batch axis).
    public var rows: Int { shape[0] }
    /// Values per row: the product of every axis after the first.
    public var rowSize: Int { shape.dropFirst().reduce(1, *) }
    /// Total number of values.
    public var count: Int { data.count }

    /// Index and value of the first NaN or infinity, if any.
    public var firstNonFinite: (index: Int, value: Float)? {
        data.withUnsafeBufferPointer { p in
            for i in 0..<p.count where !p[i].isFinite { return (i, p[i]) }
            return nil
        }
    }

    /// Largest absolute element-wise difference to `other` (same shape required).
    public func maxAbsDifference(_ other: Tensor) -> Float {
        precondition(shape == other.shape, "Tensor: \(shape) vs \(other.shape)")
        return data.withUnsafeBufferPointer { a in
            other.data.withUnsafeBufferPointer { b in
                var m: Float = 0
                for i in 0..<a.count { m = max(m, abs(a[i] - b[i])) }
                return m
            }
        }
    }

    /// `alpha * self + beta * other`, element-wise: the affine combinations of CFG and the sampler.
    public func combined(_ alpha: Float, _ other: Tensor, _ beta: Float) -> Tensor {
        precondition(shape == other.shape, "Tensor: \(shape) vs \(other.shape)")
        var out = [Float](repeating: 0, count: data.count)
        data.withUnsafeBufferPointer { a in
            other.data.withUnsafeBufferPointer { b in
                out.withUnsafeMutableBufferPointer { o in
                    for i in 0..<o.count { o[i] = alpha * a[i] + beta * b[i] }
                }
            }
        }
        return Tensor(unchecked: shape, out)
    }
}
