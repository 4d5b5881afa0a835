import Measurement
import Store

/// Classifier-free guidance combinations. Because they are linear in the branch predictions,
/// one set of branch passes gives the prediction at every scale.
public enum Guidance {
    /// `neg + w (cond - neg)` for every `w`, from one cond and one neg prediction.
    public static func combine(cond: Tensor, neg: Tensor, scales: [Double]) -> [Tensor] {
        precondition(cond.shape == neg.shape, "Guidance: \(cond.shape) vs \(neg.shape)")
        return scales.map { w in
            if w == 1 { return cond }
            return neg.combined(Float(1 - w), cond, Float(w))
        }
    }

    /// `neg + w (cond - neg)` for one scale.
    public static func combine(cond: Tensor, neg: Tensor, scale w: Double) -> Tensor {
        combine(cond: cond, neg: neg, scales: [w])[0]
    }

    /// Two-scale guidance `p(∅,∅) + s_t [p(t,∅) - p(∅,∅)] + s_a [p(t,a) - p(t,∅)]`, in the
    /// element-wise form `(1 - s_t) u + (s_t - s_a) t + s_a c`.
    public static func twoScale(uncond u: Tensor, text t: Tensor, cond c: Tensor,
                                textScale st: Double, audioScale sa: Double) -> Tensor {
        precondition(u.shape == t.shape && t.shape == c.shape, "Guidance: mismatched branch shapes")
        let a = Float(1 - st), b = Float(st - sa), g = Float(sa)
        var out = [Float](repeating: 0, count: u.count)
        u.data.withUnsafeBufferPointer { pu in
            t.data.withUnsafeBufferPointer { pt in
                c.data.withUnsafeBufferPointer { pc in
                    out.withUnsafeMutableBufferPointer { o in
                        for i in 0..<o.count { o[i] = a * pu[i] + b * pt[i] + g * pc[i] }
                    }
                }
            }
        }
        return Tensor(unchecked: u.shape, out)
    }
}
