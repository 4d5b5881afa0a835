import CKernels
import Foundation

/// Everything that can go wrong computing a metric. Each case names its source (a file path, or
/// a description such as `reference frame 3` when the input came from memory) and the problem;
/// `description` is the one line the CLI prints.
public enum MetricsError: Error, Equatable, Sendable {
    /// Two inputs that must have the same shape do not (frames, images, embeddings).
    case sizeMismatch(source: String, detail: String)
    /// An input holds no data (no pixels, no samples, no frames).
    case emptyInput(source: String)
    /// An input holds NaN or infinity, which would silently poison every mean.
    case nonFinite(source: String, index: Int)
    /// An image is smaller than the filter window (SSIM needs at least the window size per side).
    case tooSmall(source: String, detail: String)
    /// A mask image that does not fit the frame (aspect ratio) or cannot be used.
    case maskMismatch(source: String, detail: String)
    /// A region without a single pixel (a mask with no black mouth or no white upper face).
    case emptyRegion(source: String, region: String)
    /// A box that does not lie inside the frame.
    case boxOutsideFrame(source: String, box: String, width: Int, height: Int)
    /// A PNG file that libpng cannot read.
    case png(source: String, detail: String)
    /// A parameter outside its domain (window size, sample rate, offsets).
    case invalidArgument(source: String, detail: String)
    /// A clip too short for the sync windows plus the offset sweep.
    case clipTooShort(source: String, windows: Int, needed: Int)
    /// Audio whose every sample is zero: no sync can be measured.
    case silentAudio(source: String)
    /// A FaceSync model file that is missing, malformed or of another version.
    case modelFile(source: String, detail: String)
    /// A LAPACK routine failed (matrix not positive definite even after regularisation, ...).
    case lapack(source: String, routine: String, info: Int)
}

extension MetricsError: CustomStringConvertible, LocalizedError {
    /// One line naming the input and the problem, as the CLI prints it.
    public var description: String {
        switch self {
        case .sizeMismatch(let s, let d): return "\(s): size mismatch (\(d))"
        case .emptyInput(let s): return "\(s): empty input"
        case .nonFinite(let s, let i): return "\(s): non-finite value (NaN or infinity) at element \(i)"
        case .tooSmall(let s, let d): return "\(s): too small (\(d))"
        case .maskMismatch(let s, let d): return "\(s): mask does not fit the frame (\(d))"
        case .emptyRegion(let s, let r): return "\(s): region '\(r)' has no pixels; check the mask (white = upper face, black = mouth)"
        case .boxOutsideFrame(let s, let b, let w, let h): return "\(s): box \(b) lies outside the \(w)x\(h) frame"
        case .png(let s, let d): return "\(s): cannot read PNG (\(d))"
        case .invalidArgument(let s, let d): return "\(s): \(d)"
        case .clipTooShort(let s, let w, let n): return "\(s): clip too short for sync (\(w) windows, needs at least \(n))"
        case .silentAudio(let s): return "\(s): audio is silent (all samples zero); sync cannot be measured"
        case .modelFile(let s, let d): return "\(s): bad FaceSync model file (\(d)); refit it with `trajprobe facesync fit`"
        case .lapack(let s, let r, let i): return "\(s): LAPACK \(r) failed with info \(i)"
        }
    }
    /// The same line as `description`, so `localizedDescription` shows it too.
    public var errorDescription: String? { description }
}

/// Throws ``MetricsError/nonFinite(source:index:)`` at the first NaN or infinity.

func checkFinite(_ values: UnsafeBufferPointer<Float>, source: @autoclosure () -> String) throws(MetricsError) {
    guard let base = values.baseAddress else { return }
    let i = tp_first_nonfinite(base, values.count)
    if i < values.count { throw .nonFinite(source: source(), index: i) }
}
