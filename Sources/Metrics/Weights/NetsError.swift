import Media

/// Everything that can go wrong loading or running the neural-network metrics (LPIPS-AlexNet,
/// SyncNet-v2). Each case names the file or tensor and the problem so the one-line
/// ``description`` tells the user what to fix.
public enum NetsError: Error, Sendable, Equatable {
    /// The weights file does not exist; `converter` is the script that makes it.
    case missingWeights(file: String, converter: String)
    case unreadable(file: String, reason: String)
    /// The file ends before the header or a tensor's bytes do.
    case truncated(file: String, detail: String)
    case badHeader(file: String, reason: String)
    case missingTensor(file: String, tensor: String)
    case wrongShape(file: String, tensor: String, expected: [Int], found: [Int])
    case unsupportedDType(file: String, tensor: String, dtype: String)
    /// A weight that is NaN or infinite (index into the flattened tensor, value as text).
    case nonFiniteWeights(file: String, tensor: String, index: Int, value: String)
    /// An input image or crop smaller than the network's receptive field allows.
    case inputTooSmall(what: String, width: Int, height: Int, minimum: Int)
    case sizeMismatch(what: String, detail: String)
    case boxOutsideFrame(box: Box, width: Int, height: Int)
    case nonFinite(what: String)
    case notEnoughFrames(what: String, count: Int, minimum: Int)
}

extension NetsError: CustomStringConvertible {
    public var description: String {
        switch self {
        case .missingWeights(let file, let converter):
            return "Weights file '\(file)' not found: convert your original weights once with "
                + "`python \(converter)` (see its --help) and pass the .safetensors it writes."
        case .unreadable(let file, let reason):
            return "Cannot read weights file '\(file)': \(reason)."
        case .truncated(let file, let detail):
            return "Weights file '\(file)' is truncated: \(detail)."
        case .badHeader(let file, let reason):
            return "Weights file '\(file)' has a bad safetensors header: \(reason)."
        case .missingTensor(let file, let tensor):
            return "Weights file '\(file)' has no tensor '\(tensor)': was it written by the right converter?"
        case .wrongShape(let file, let tensor, let expected, let found):
            return "Tensor '\(tensor)' in '\(file)' has shape \(found), expected \(expected)."
        case .unsupportedDType(let file, let tensor, let dtype):
            return "Tensor '\(tensor)' in '\(file)' has dtype \(dtype); only F32, F16, BF16 and F64 are read."
        case .nonFiniteWeights(let file, let tensor, let index, let value):
            return "Tensor '\(tensor)' in '\(file)' holds \(value) at index \(index): weights must be finite (re-run the converter on the original checkpoint)."
        case .inputTooSmall(let what, let width, let height, let minimum):
            return "\(what) is \(width)x\(height) pixels; the network needs at least \(minimum)x\(minimum)."
        case .sizeMismatch(let what, let detail):
            return "\(what): \(detail)."
        case .boxOutsideFrame(let box, let width, let height):
            return "Box \(box) lies outside the \(width)x\(height) frame."
        case .nonFinite(let what):
            return "\(what) contains NaN or infinite values."
        case .notEnoughFrames(let what, let count, let minimum):
            return "\(what) has \(count) frames; at least \(minimum) are needed."
        }
    }
}
