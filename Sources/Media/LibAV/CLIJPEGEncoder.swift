import CFFmpeg
import Foundation

/// Encodes decoded video frames to JPEG exactly as `ffmpeg -i VIDEO -threads 1 -f image2
/// DIR/%06d.jpg` does with Debian 12's ffmpeg 5.1 (same libavcodec, same bytes), in memory.
///
/// What the CLI does by default, read from its sources (fftools/ffmpeg_filter.c, ffmpeg.c,
/// libavfilter/vf_scale.c, libavcodec/mjpegenc.c) and checked byte for byte by the tests:
/// - pixel format: the CLI offers the mjpeg encoder only `yuvj420p|yuvj422p|yuvj444p`
///   (`get_compliance_normal_pix_fmts`); the filter graph picks the best of them for the source
///   (`av_find_best_pix_fmt_of_2`), so 4:2:0 video becomes full-range `yuvj420p`;
/// - conversion: an auto-inserted `scale` filter with no flags, so libswscale's default
///   (bicubic; at equal size only the limited-to-full range expansion acts), the source range
///   from the frame, the MPEG-2 chroma position for `yuv420p` input, one thread;
/// - encoder: the mjpeg encoder with the AVCodecContext defaults the CLI leaves in place, above
///   all **rate control at the default 200 kb/s** (`q=2-31`): no `-q:v` is given, so every
///   frame's quantiser follows from the bits the previous frames used. The quality therefore
///   drifts along the clip, which is why this class must see every frame in order, once each;
/// - `time_base` 1/fps and `framerate` fps (bits per frame = 200 kb/s / fps), colour properties
///   and field order from the first frame, `threads=1` (`-threads 1` is an output option),
///   optimal Huffman tables (the mjpeg encoder's default), the `Lavc` comment (no bitexact).
///
/// Not thread-safe; one encoder per stream, frames in display order.
final class CLIJPEGEncoder {
    /// The formats the CLI lets the mjpeg encoder take at normal strictness.
    static let allowedFormats: [AVPixelFormat] = [AV_PIX_FMT_YUVJ420P, AV_PIX_FMT_YUVJ422P, AV_PIX_FMT_YUVJ444P]

    // MARK: - State

    private let path: String
    private let frameRate: AVRational
    private let decoderBitsPerRawSample: Int32
    private var codec: UnsafeMutablePointer<AVCodecContext>?
    private var sws: OpaquePointer?
    private var swsKey: (width: Int32, height: Int32, format: Int32, range: UInt32)?
    private var packet: UnsafeMutablePointer<AVPacket>?
    private var staged: UnsafeMutablePointer<AVFrame>?
    private var encoded: Int64 = 0

    // MARK: - Lifecycle

    /// - Parameters:
    ///   - frameRate: the output stream's rate (what the CLI's buffersink reports: the source's
    ///     guessed rate, or the rate frames are resampled to).
    ///   - decoderBitsPerRawSample: the decoder's `bits_per_raw_sample` (the CLI passes it on
    ///     when no conversion filter is inserted).
    init(path: String, frameRate: AVRational, decoderBitsPerRawSample: Int32) throws(MediaError) {
        guard frameRate.num > 0, frameRate.den > 0 else {
            throw .invalidArgument(path: path, detail: "JPEG round trip needs a positive frame rate")
        }
        self.path = path
        self.frameRate = frameRate
        self.decoderBitsPerRawSample = decoderBitsPerRawSample
        packet = av_packet_alloc()
        staged = av_frame_alloc()
        guard packet != nil, staged != nil else { throw .encoderUnavailable(path: path, detail: "out of memory") }
    }

    deinit {
        avcodec_free_context(&codec)
        sws_freeContext(sws)
        av_packet_free(&packet)
        av_frame_free(&staged)
    }

    /// The format the CLI's filter graph negotiates for a source format.
    static func negotiatedFormat(for source: AVPixelFormat) -> AVPixelFormat {
        if allowedFormats.contains(source) { return source }
        let desc = av_pix_fmt_desc_get(source)
        let hasAlpha: Int32 = desc.map { $0.pointee.nb_components % 2 == 0 ? 1 : 0 } ?? 0
        var best = AV_PIX_FMT_NONE
        for p in allowedFormats { best = av_find_best_pix_fmt_of_2(best, p, source, hasAlpha, nil) }
        return best
    }

    // MARK: - Encoding

    /// The JPEG file the CLI would write for this frame (the next in the sequence).
    func encode(_ frame: UnsafeMutablePointer<AVFrame>) throws(MediaError) -> [UInt8] {
        guard let staged, let packet else { throw .encoderUnavailable(path: path, detail: "encoder released") }
        let source = AVPixelFormat(rawValue: frame.pointee.format)
        let target = Self.negotiatedFormat(for: source)
        guard target != AV_PIX_FMT_NONE else {
            throw .unsupportedPixelFormat(path: path, format: av_get_pix_fmt_name(source).map { String(cString: $0) } ?? "none")
        }
        av_frame_unref(staged)
        if target == source {
            try check(av_frame_ref(staged, frame), "frame reference")
        } else {
            try convert(frame, to: target, into: staged)
        }
        if codec == nil { try openEncoder(first: staged, converted: target != source) }
        guard let codec else { throw .encoderUnavailable(path: path, detail: "mjpeg encoder not opened") }
        guard staged.pointee.width == codec.pointee.width, staged.pointee.height == codec.pointee.height,
              staged.pointee.format == codec.pointee.pix_fmt.rawValue else {
            throw .corrupt(path: path, detail: "frame size or format changed mid-stream (the CLI's encoder would be fed a rescaled frame)")
        }
        // What the CLI's do_video_out sets on each frame before encoding.
        staged.pointee.pts = encoded
        staged.pointee.quality = codec.pointee.global_quality
        staged.pointee.pict_type = AV_PICTURE_TYPE_NONE
        encoded += 1
        try check(avcodec_send_frame(codec, staged), "encoding")
        let code = avcodec_receive_packet(codec, packet)
        guard code >= 0 else { throw .writeFailed(path: path, detail: "mjpeg produced no packet: \(LibAV.message(code))") }
        defer { av_packet_unref(packet) }
        return [UInt8](UnsafeBufferPointer(start: packet.pointee.data, count: Int(packet.pointee.size)))
    }

    // MARK: - Conversion (libswscale)

    /// The auto-inserted `scale` filter of the CLI (vf_scale.c: config_props and scale_frame).
    private func convert(_ frame: UnsafeMutablePointer<AVFrame>, to target: AVPixelFormat,
                         into out: UnsafeMutablePointer<AVFrame>) throws(MediaError) {
        let f = frame.pointee
        let key = (width: f.width, height: f.height, format: f.format, range: f.color_range.rawValue)
        if sws == nil || swsKey! != key {
            sws_freeContext(sws)
            sws = nil
            guard let s = sws_alloc_context() else { throw .encoderUnavailable(path: path, detail: "out of memory") }
            sws = s
            let opts: [(String, Int64)] = [
                ("srcw", Int64(f.width)), ("srch", Int64(f.height)), ("src_format", Int64(f.format)),
                ("dstw", Int64(f.width)), ("dsth", Int64(f.height)), ("dst_format", Int64(target.rawValue)),
                ("sws_flags", 0), ("param0", Int64(SWS_PARAM_DEFAULT)), ("param1", Int64(SWS_PARAM_DEFAULT)), ("threads", 1),
            ]
            for (name, value) in opts { av_opt_set_int(UnsafeMutableRawPointer(s), name, value, 0) }
            if f.color_range != AVCOL_RANGE_UNSPECIFIED {
                av_opt_set_int(UnsafeMutableRawPointer(s), "src_range", f.color_range == AVCOL_RANGE_JPEG ? 1 : 0, 0)
            }
            // vf_scale's "MPEG-2 chroma position" override applies to yuv420p only.
            let srcV: Int64 = AVPixelFormat(rawValue: f.format) == AV_PIX_FMT_YUV420P ? 128 : -513
            av_opt_set_int(UnsafeMutableRawPointer(s), "src_h_chr_pos", -513, 0)
            av_opt_set_int(UnsafeMutableRawPointer(s), "src_v_chr_pos", srcV, 0)
            av_opt_set_int(UnsafeMutableRawPointer(s), "dst_h_chr_pos", -513, 0)
            av_opt_set_int(UnsafeMutableRawPointer(s), "dst_v_chr_pos", -513, 0)
            let code = sws_init_context(s, nil, nil)
            guard code >= 0 else {
                throw .unsupportedPixelFormat(path: path, format: av_get_pix_fmt_name(AVPixelFormat(rawValue: f.format)).map { String(cString: $0) } ?? "none")
            }
            swsKey = key
        }
        // scale_frame: in_color_matrix "auto" makes it set the colourspace details every frame.
        var inv: UnsafeMutablePointer<Int32>? = nil, table: UnsafeMutablePointer<Int32>? = nil
        var inFull: Int32 = 0, outFull: Int32 = 0, brightness: Int32 = 0, contrast: Int32 = 0, saturation: Int32 = 0
        sws_getColorspaceDetails(sws, &inv, &inFull, &table, &outFull, &brightness, &contrast, &saturation)
        var space = Int32(f.colorspace.rawValue)
        if space < 1 || space > 10 || space == 8 { space = Int32(AVCOL_SPC_BT470BG.rawValue) }
        let coefficients = sws_getCoefficients(space)
        if f.color_range != AVCOL_RANGE_UNSPECIFIED { inFull = f.color_range == AVCOL_RANGE_JPEG ? 1 : 0 }
        sws_setColorspaceDetails(sws, coefficients, inFull, coefficients, outFull, brightness, contrast, saturation)

        out.pointee.width = f.width
        out.pointee.height = f.height
        out.pointee.format = target.rawValue
        try check(av_frame_get_buffer(out, 0), "frame buffer")
        try check(av_frame_copy_props(out, frame), "frame properties")
        out.pointee.color_range = outFull != 0 ? AVCOL_RANGE_JPEG : AVCOL_RANGE_MPEG
        if out.pointee.colorspace == AVCOL_SPC_RGB { out.pointee.colorspace = AVCOL_SPC_UNSPECIFIED }
        try check(sws_scale_frame(sws, out, frame), "pixel conversion")
    }

    // MARK: - Encoder setup

    /// init_output_stream_encode + avcodec_open2 as the CLI runs them for the first frame.
    private func openEncoder(first: UnsafeMutablePointer<AVFrame>, converted: Bool) throws(MediaError) {
        guard let encoder = avcodec_find_encoder(AV_CODEC_ID_MJPEG) else {
            throw .encoderUnavailable(path: path, detail: "libavcodec has no mjpeg encoder")
        }
        guard let cc = avcodec_alloc_context3(encoder) else { throw .encoderUnavailable(path: path, detail: "out of memory") }
        codec = cc
        let f = first.pointee
        cc.pointee.width = f.width
        cc.pointee.height = f.height
        cc.pointee.sample_aspect_ratio = f.sample_aspect_ratio.den == 0 ? AVRational(num: 0, den: 1) : f.sample_aspect_ratio
        cc.pointee.pix_fmt = AVPixelFormat(rawValue: f.format)
        if !converted, let desc = av_pix_fmt_desc_get(cc.pointee.pix_fmt) {
            // Only a graph of metadata-only filters passes the decoder's bit depth on.
            cc.pointee.bits_per_raw_sample = min(decoderBitsPerRawSample, Int32(desc.pointee.comp.0.depth))
        }
        cc.pointee.color_range = f.color_range
        cc.pointee.color_primaries = f.color_primaries
        cc.pointee.color_trc = f.color_trc
        cc.pointee.colorspace = f.colorspace
        cc.pointee.chroma_sample_location = f.chroma_location
        cc.pointee.time_base = av_inv_q(frameRate)
        cc.pointee.framerate = frameRate
        cc.pointee.field_order = f.interlaced_frame != 0 ? (f.top_field_first != 0 ? AV_FIELD_TT : AV_FIELD_BB) : AV_FIELD_PROGRESSIVE
        var options: OpaquePointer? = nil
        av_dict_set(&options, "threads", "1", 0)
        let code = avcodec_open2(cc, encoder, &options)
        av_dict_free(&options)
        guard code >= 0 else { throw .encoderUnavailable(path: path, detail: "cannot open the mjpeg encoder: \(LibAV.message(code))") }
    }

    private func check(_ code: Int32, _ what: String) throws(MediaError) {
        guard code >= 0 else { throw .writeFailed(path: path, detail: "JPEG round trip, \(what): \(LibAV.message(code))") }
    }
}
