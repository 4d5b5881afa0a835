import Media

/// Everything that can go wrong loading or running the neural-network metrics (LPIPS-AlexNet,
/// SyncNet-v2). Each case names the file or tensor and the problem so the one-line
/// ``description`` tells the user what to fix.
public enum NetsError: Error, Sendable, Equatable {
    /// The weights file does not exist; `converter` is the script that makes it.
    case missingWeights(file: String, converter: String)
    /// The file exists but could not be read.
    case unreadable(file: String, reason: String)
    /// The file ends before the header or a tensor's bytes do.
    case truncated(file: String, detail: String)
    /// The JSON header is malformed or inconsistent with the file size.
    case badHeader(file: String, reason: String)
    /// A tensor the architecture needs is absent: likely the wrong converter or network.
    case missingTensor(file: String, tensor: String)
    /// A tensor's shape differs from the architecture's.
    case wrongShape(file: String, tensor: String, expected: [Int], found: [Int])
    /// A tensor is stored in a dtype other than F32, F16, BF16 or F64.
    case unsupportedDType(file: String, tensor: String, dtype: String)
    /// A weight that is NaN or infinite (index into the flattened tensor, value as text).
    case nonFiniteWeights(file: String, tensor: String, index: Int, value: String)
    /// An input image or crop smaller than the network's receptive field allows.
    case inputTooSmall(what: String, width: Int, height: Int, minimum: Int)
    /// Inputs whose sizes disagree (frames vs. audio, crops vs. windows).
    case sizeMismatch(what: String, detail: String)
    /// A crop box reaches outside the frame.
    case boxOutsideFrame(box: Box, width: Int, height: Int)
    /// An input holds NaN or infinity, which would turn every score into NaN.
    case nonFinite(what: String)
    /// Fewer frames than one window needs.
    case notEnoughFrames(what: String, count: Int, minimum: Int)
}

extension NetsError: CustomStringConvertible {
    /// One sentence naming the file or input and what to do, as the CLI prints it.
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
