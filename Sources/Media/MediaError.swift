import Foundation

/// Everything that can go wrong reading or writing media. Each case names the file and the
/// problem; `description` is the one line the CLI prints.
public enum MediaError: Error, Equatable, Sendable {
    /// Nothing exists at `path`.
    case fileNotFound(path: String)
    /// libav could not open `path` as a container it knows.
    case notMedia(path: String, detail: String)
    /// The container opened but its data is truncated or inconsistent.
    case corrupt(path: String, detail: String)
    /// The file holds no video stream to decode.
    case noVideoStream(path: String)
    /// The file holds no audio track; the CLI then asks for `--audio FILE`.
    case noAudioStream(path: String)
    /// The video stream exists but yields no decodable frame.
    case zeroFrames(path: String)
    /// The decoder produced a pixel format that cannot be converted to RGB.
    case unsupportedPixelFormat(path: String, format: String)
    /// A frame index outside `0..<count` was asked for.
    case frameOutOfRange(path: String, index: Int, count: Int)
    /// A caller's argument (crop, size, rate) does not fit the file.
    case invalidArgument(path: String, detail: String)
    /// No encoder in this libavcodec build can write the requested output.
    case encoderUnavailable(path: String, detail: String)
    /// Encoding or moving the finished file into place failed.
    case writeFailed(path: String, detail: String)
    /// A still image (PNG) could not be read or was malformed.
    case image(path: String, detail: String)
}

extension MediaError: CustomStringConvertible, LocalizedError {
    /// One line naming the file and the problem, as the CLI prints it.
    public var description: String {
        switch self {
        case .fileNotFound(let path): return "\(path): no such file"
        case .notMedia(let path, let detail): return "\(path): not a media file libav can read (\(detail))"
        case .corrupt(let path, let detail): return "\(path): truncated or corrupt media (\(detail))"
        case .noVideoStream(let path): return "\(path): has no video stream"
        case .noAudioStream(let path): return "\(path): has no audio track; give the audio with --audio FILE"
        case .zeroFrames(let path): return "\(path): video stream holds zero decodable frames"
        case .unsupportedPixelFormat(let path, let format): return "\(path): unsupported pixel format \(format)"
        case .frameOutOfRange(let path, let index, let count): return "\(path): frame \(index) out of range (0..<\(count))"
        case .invalidArgument(let path, let detail): return "\(path): \(detail)"
        case .encoderUnavailable(let path, let detail): return "\(path): no usable encoder (\(detail))"
        case .writeFailed(let path, let detail): return "\(path): writing failed (\(detail))"
        case .image(let path, let detail): return "\(path): \(detail)"
        }
    }
    /// The same line as `description`, so `localizedDescription` shows it too.
    public var errorDescription: String? { description }
}
