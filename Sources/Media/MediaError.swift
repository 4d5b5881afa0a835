import Foundation

/// Everything that can go wrong reading or writing media. Each case names the file and the
/// problem; `description` is the one line the CLI prints.
public enum MediaError: Error, Equatable, Sendable {
    case fileNotFound(path: String)
    case notMedia(path: String, detail: String)
    case corrupt(path: String, detail: String)
    case noVideoStream(path: String)
    case noAudioStream(path: String)
    case zeroFrames(path: String)
    case unsupportedPixelFormat(path: String, format: String)
    case frameOutOfRange(path: String, index: Int, count: Int)
    case invalidArgument(path: String, detail: String)
    case encoderUnavailable(path: String, detail: String)
    case writeFailed(path: String, detail: String)
    case image(path: String, detail: String)
}

extension MediaError: CustomStringConvertible, LocalizedError {
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
    public var errorDescription: String? { description }
}
