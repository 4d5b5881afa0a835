import Digest
import Foundation
import Metrics

/// The test-weight formula of `tools/fixtures/nets_fixtures.py` (see its header), bit for bit:
/// splitmix64 of `(stream << 32) | element`, top 24 bits mapped to [-1, 1), then a per-role
/// affine map in Float. The fixtures, the tests and the benchmarks build the same networks from
/// it on both sides (Swift and PyTorch), so no weight file is committed or downloaded.
package enum FormulaWeights {
    /// The splitmix unit stream: `count` values in [-1, 1), exact in Float.
    package static func unit(_ stream: Int, _ count: Int) -> [Float] {
        [Float](unsafeUninitializedCapacity: count) { out, filled in
            for j in 0..<count {
                // Word 1 of the SplitMix64 stream seeded with the (stream, element) pair.
                let z = SplitMix64.word(seed: (UInt64(stream) << 32) | UInt64(j), 1)
                out[j] = Float(Double(z >> 40) / Double(1 << 23) - 1)
            }
            filled = count
        }
    }

    /// One tensor's values: He-uniform weights (activations keep their scale), small biases,
    /// batch-norm statistics near identity, non-negative LPIPS heads.
    package static func values(_ spec: TensorSpec, stream: Int) -> [Float] {
        let u = unit(stream, spec.count)
        switch spec.role {
        case .weight:
            let s = Float((6.0 / Double(spec.count / spec.shape[0])).squareRoot())
            return u.map { $0 * s }
        case .bias, .batchNormBias, .batchNormMean: return u.map { $0 * Float(0.1) }
        case .batchNormWeight: return u.map { $0 * Float(0.25) + 1 }
        case .batchNormVariance: return u.map { $0 * Float(0.5) + 1 }
        case .linearHead:
            let s = Float(0.5 / Double(spec.shape[1]).squareRoot())
            return u.map { $0 * s + s }
        }
    }

    /// Writes the formula's tensors for `specs` (stream `i` for the `i`-th) as a safetensors
    /// file the real loaders read.
    package static func write(_ specs: [TensorSpec], to url: URL) throws {
        let tensors = specs.enumerated().map { (i, spec) in (name: spec.name, shape: spec.shape, values: values(spec, stream: i)) }
        try SafeTensors.write(tensors, metadata: ["formula": "splitmix unit"], to: url)
    }
}
