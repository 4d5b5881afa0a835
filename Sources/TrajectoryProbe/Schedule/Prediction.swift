import Measurement

/// What a teacher's raw output means. Rectified flow (DESIGN.md conventions):
/// `x_t = (1-σ) x0 + σ ε`, `v = ε - x0`, `x0 = x_t - σ v`.
public enum PredictionKind: String, Sendable, Codable, CaseIterable, Hashable {
    /// The model predicts `v = ε - x0` (rectified flow's native output).
    case velocity
    /// The model predicts the clean sample x0 directly.
    case x0
    /// The model predicts the noise ε.
    case epsilon
}

/// Conversions between velocity, ε and x0 predictions, and the Euler ODE step.
///
/// All of them are affine in the prediction with coefficients that depend only on x_t and σ, so
/// a CFG combination (weights summing to 1) commutes with them: guidance on velocity equals
/// guidance on x0. The arms therefore convert every branch to x0 first and combine there.
public enum FlowMath {
    /// x0 from a prediction of `kind` at state `xt`, time `sigma`.
    /// ε → x0 divides by 1-σ: refused at σ = 1 (the state carries no signal there).
    public static func x0(from prediction: Tensor, kind: PredictionKind, xt: Tensor, sigma: Double) throws(ProbeError) -> Tensor {
        try checkSame(prediction, xt)
        switch kind {
        case .x0:
            return prediction
        case .velocity:
            return xt.combined(1, prediction, Float(-sigma))
        case .epsilon:
            guard sigma < 1 else { throw .invalidSchedule("cannot convert ε to x0 at σ = 1") }
            let inv = 1 / (1 - sigma)
            return xt.combined(Float(inv), prediction, Float(-sigma * inv))
        }
    }

    /// ε implied by an x0 prediction: `(x_t - (1-σ) x0) / σ`; σ must be positive.
    public static func epsilon(x0: Tensor, xt: Tensor, sigma: Double) throws(ProbeError) -> Tensor {
        try checkSame(x0, xt)
        guard sigma > 0 else { throw .invalidSchedule("ε is undefined at σ = 0") }
        return xt.combined(Float(1 / sigma), x0, Float(-(1 - sigma) / sigma))
    }

    /// Velocity `ε - x0` implied by an x0 prediction.
    public static func velocity(x0: Tensor, xt: Tensor, sigma: Double) throws(ProbeError) -> Tensor {
        let eps = try epsilon(x0: x0, xt: xt, sigma: sigma)
        return eps.combined(1, x0, -1)
    }

    /// `x_t = (1-t) x0 + t ε`: the forward (noising) process, also the fresh-noise arm's state.
    public static func noised(x0: Tensor, epsilon: Tensor, t: Double) throws(ProbeError) -> Tensor {
        try checkSame(x0, epsilon)
        return x0.combined(Float(1 - t), epsilon, Float(t))
    }

    /// One Euler ODE step from `(x_t, σ)` to `t'` given the x0 prediction: get ε from x0 and x_t,
    /// then `x_{t'} = (1-t') x0 + t' ε`. Computed in Double per element so a step to t' = σ
    /// returns x_t to within one Float rounding.
    public static func eulerStep(xt: Tensor, x0: Tensor, sigma: Double, to tNext: Double) throws(ProbeError) -> Tensor {
        try checkSame(x0, xt)
        guard sigma > 0 else { throw .invalidSchedule("Euler step from σ = 0") }
        let a = 1 - tNext, b = tNext / sigma, c = 1 - sigma
        var out = [Float](repeating: 0, count: xt.count)
        xt.data.withUnsafeBufferPointer { x in
            x0.data.withUnsafeBufferPointer { p in
                out.withUnsafeMutableBufferPointer { o in
                    for i in 0..<o.count {
                        let x0i = Double(p[i])
                        o[i] = Float(a * x0i + b * (Double(x[i]) - c * x0i))
                    }
                }
            }
        }
        return Tensor(unchecked: xt.shape, out)
    }

    static func checkSame(_ a: Tensor, _ b: Tensor) throws(ProbeError) {
        guard a.shape == b.shape else { throw .shapeMismatch(what: "prediction vs state", expected: b.shape, got: a.shape) }
    }
}
