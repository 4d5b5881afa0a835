/// What a weights file must hold for one architecture: each tensor's name and shape, in the
/// order the architecture declares them (the converters and the test-weight formula use this
/// order too).
package struct TensorSpec: Sendable, Equatable {
    package enum Role: Sendable, Equatable {
        case weight, bias, batchNormWeight, batchNormBias, batchNormMean, batchNormVariance, linearHead
    }
    package var name: String
    package var shape: [Int]
    package var role: Role

    package init(_ name: String, _ shape: [Int], _ role: Role) {
        self.name = name
        self.shape = shape
        self.role = role
    }

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
