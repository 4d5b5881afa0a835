import CJPEG
import Foundation

/// JPEG decoding through libjpeg-turbo, configured as OpenCV's `cv2.imread` configures it.
///
/// Why these settings: syncnet_python reads its `%06d.jpg` frames with `cv2.imread`, and
/// OpenCV's JPEG reader (`grfmt_jpeg.cpp`) leaves libjpeg's decompression defaults alone: the
/// accurate integer IDCT (`JDCT_ISLOW`), fancy (triangle) chroma upsampling, no scaling. It asks
/// for BGR (or RGB and swaps); libjpeg-turbo's colour converter writes the same value per
/// channel in either order, so decoding straight to RGB gives `cv2.imread`'s pixels in the
/// order ``Frame`` keeps. The same libjpeg-turbo major series (2.x here, 3.x in opencv-python
/// wheels) has the same ISLOW IDCT and upsampling arithmetic, SIMD or not.
public enum JPEG {
    /// libjpeg-turbo's version, e.g. `2.1.5` (provenance records).
    public static var libjpegTurboVersion: String {
        let v = Int(tp_jpeg_turbo_version())
        return "\(v / 1_000_000).\(v / 1_000 % 1_000).\(v % 1_000)"
    }

    /// Decodes JPEG bytes held in memory to an RGB ``Frame``; `source` names the origin in errors.
    public static func decode(_ bytes: [UInt8], source: String, index: Int = 0) throws(MediaError) -> Frame {
        guard !bytes.isEmpty else { throw .image(path: source, detail: "empty JPEG") }
        var message = [CChar](repeating: 0, count: 256)
        var width: Int32 = 0, height: Int32 = 0
        let probe = bytes.withUnsafeBufferPointer { src in
            message.withUnsafeMutableBufferPointer { msg in
                tp_jpeg_decode_rgb(src.baseAddress, src.count, nil, 0, &width, &height, msg.baseAddress, msg.count)
            }
        }
        try check(probe, expect: 1, message: message, source: source)
        guard width > 0, height > 0 else { throw .image(path: source, detail: "JPEG has no pixels") }
        var rgb = [UInt8](repeating: 0, count: Int(width) * Int(height) * 3)
        let code = bytes.withUnsafeBufferPointer { src in
            rgb.withUnsafeMutableBufferPointer { dst in
                message.withUnsafeMutableBufferPointer { msg in
                    tp_jpeg_decode_rgb(src.baseAddress, src.count, dst.baseAddress, dst.count, &width, &height,
                                       msg.baseAddress, msg.count)
                }
            }
        }
        try check(code, expect: 0, message: message, source: source)
        return Frame(width: Int(width), height: Int(height), rgb: rgb, index: index)
    }

    private static func check(_ code: Int32, expect: Int32, message: [CChar], source: String) throws(MediaError) {
        if code == expect { return }
        switch code {
        case -1:
            let text = message.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
            throw .image(path: source, detail: "corrupt JPEG (libjpeg-turbo: \(text))")
        case -2: throw .image(path: source, detail: "JPEG is neither 3-component colour nor grey (CMYK is not read)")
        default: throw .image(path: source, detail: "JPEG decoding stopped unexpectedly (code \(code))")
        }
    }
}
