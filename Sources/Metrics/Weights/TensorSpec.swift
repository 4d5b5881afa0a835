/// What a weights file must hold for one architecture: each tensor's name and shape, in the
/// order the architecture declares them (the converters and the test-weight formula use this
/// order too).
package struct TensorSpec: Sendable, Equatable {
    /// What a tensor is for, which decides the test-weight formula that fills it.
    package enum Role: Sendable, Equatable {
        /// Convolution or linear weight, bias, batch-norm parameter or LPIPS linear head.
        case weight, bias, batchNormWeight, batchNormBias, batchNormMean, batchNormVariance, linearHead
    }
    /// The tensor's name in the safetensors file.
    package var name: String
    /// The shape the architecture needs, outermost first.
    package var shape: [Int]
    /// What the tensor is for.
    package var role: Role

    /// A spec as the architecture tables list them: name, shape, role.
    package init(_ name: String, _ shape: [Int], _ role: Role) {
        self.name = name
        self.shape = shape
        self.role = role
    }

    /// Element count, the product of the shape.
    package var count: Int { shape.reduce(1, *) }
}

extension SafeTensors {
    /// Loads every tensor of `specs`, checking names and shapes, keyed by name.
    package func load(_ specs: [TensorSpec]) throws -> [String: [Float]] {
        var out: [String: [Float]] = [:]
        for spec in specs { out[spec.name] = try floats(spec.name, shape: spec.shape) }
        return out
    }
}
