import CFFmpeg
import Foundation

/// Small helpers over libav's C conventions, shared by the demuxer, decoders and the writer.
enum LibAV {
    /// libav's message for an error code (av_err2str is a macro Swift cannot import).
    static func message(_ code: Int32) -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        return buffer.withUnsafeMutableBufferPointer { ptr in
            String(cString: tp_av_err2str(code, ptr.baseAddress, ptr.count))
        }
    }

    static let eof = tp_averror_eof()
    static let eagain = tp_averror_eagain()
    static let noPTS = tp_av_nopts_value()

    /// Quiets libav's own logging once per process: a corrupt file must surface as one typed
    /// error, not as a flood of decoder warnings on stderr. Idempotent and thread-safe.
    static let quiet: Void = { tp_av_quiet() }()

    /// The libav version string recorded with every score (provenance).
    public static var versionString: String {
        "libavformat \(versionTriple(avformat_version())), libavcodec \(versionTriple(avcodec_version())), libswresample \(versionTriple(swresample_version())), libswscale \(versionTriple(swscale_version()))"
    }

    static func versionTriple(_ v: UInt32) -> String { "\(v >> 16).\((v >> 8) & 0xff).\(v & 0xff)" }

    static func double(_ r: AVRational) -> Double { r.den == 0 ? 0 : Double(r.num) / Double(r.den) }
}

/// Versions of the media libraries in use, for provenance records.
public enum MediaLibraries {
    /// libavformat, libavcodec, libswresample and libswscale versions, as stored with each
    /// measurement so that a changed decoder can explain changed numbers.
    public static var version: String { LibAV.versionString }
}
