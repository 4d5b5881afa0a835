import CFFmpeg
import Foundation

/// Encoding settings for ``VideoWriter``.
public struct VideoEncodeOptions: Sendable, Equatable {
    /// x264 constant rate factor (lower is better; 0 is lossless in luma). Used when libx264 is
    /// present; the MPEG-4 Part 2 fallback maps it to a quantiser.
    public var crf: Int
    /// x264 preset.
    public var preset: String
    /// Audio codec: AAC (the mp4 norm) at this bit rate.
    public var audioBitRate: Int
    /// Force the MPEG-4 Part 2 encoder even when libx264 exists (tests of the fallback).
    public var forceMPEG4: Bool

    /// Defaults: high-quality x264 (CRF 16, `medium`), 96 kb/s AAC, no forced fallback.
    public init(crf: Int = 16, preset: String = "medium", audioBitRate: Int = 96_000, forceMPEG4: Bool = false) {
        self.crf = crf
        self.preset = preset
        self.audioBitRate = audioBitRate
        self.forceMPEG4 = forceMPEG4
    }
}

/// Writes RGB frames (and optionally mono audio) to an mp4 (or .mkv/.mov/.avi by extension): H.264 when the libavcodec build has
/// libx264, else MPEG-4 Part 2; AAC audio. The file is finished (`+faststart`, index at the
/// front) only by ``finish()``; until then it is written under a temporary name, so a crash never
/// leaves a half-written file under the real name.
public final class VideoWriter {
    /// The final file name; the data goes to a hidden `.partial` file until ``finish()``.
    public let path: String
    /// Frame width every written frame must have.
    public let width: Int
    /// Frame height every written frame must have.
    public let height: Int
    /// Constant frame rate of the output stream.
    public let fps: Int
    /// Sample rate of the mono audio track, or nil for a video without audio.
    public let audioSampleRate: Int?
    /// The video encoder actually used (`libx264` or `mpeg4`).
    public private(set) var videoCodecName = ""

    // MARK: - Encoder state

    private let tempPath: String
    /// libavformat muxer, from the file extension (`.mkv`, `.mov`, `.avi`; anything else is mp4).
    private let container: String
    private var format: UnsafeMutablePointer<AVFormatContext>?
    private var videoCodec: UnsafeMutablePointer<AVCodecContext>?
    private var audioCodec: UnsafeMutablePointer<AVCodecContext>?
    private var videoStream: UnsafeMutablePointer<AVStream>?
    private var audioStream: UnsafeMutablePointer<AVStream>?
    private var yuvFrame: UnsafeMutablePointer<AVFrame>?
    private var audioFrame: UnsafeMutablePointer<AVFrame>?
    private var packet: UnsafeMutablePointer<AVPacket>?
    private var sws: OpaquePointer?
    private var framesWritten: Int64 = 0
    private var samplesWritten: Int64 = 0
    private var pendingAudio: [Float] = []
    private var finished = false
    /// Lets tests build a file whose video stream holds no frames (a bad input users do meet).
    var permitsEmptyVideo = false

    // MARK: - Opening and releasing

    /// Opens encoders and the temporary file; throws on a non-positive size, rate or sample rate,
    /// or when no encoder is available, and then leaves nothing on disk.
    public init(path: String, width: Int, height: Int, fps: Int, audioSampleRate: Int? = nil,
                options: VideoEncodeOptions = VideoEncodeOptions()) throws(MediaError) {
        _ = LibAV.quiet
        self.path = path
        self.width = width
        self.height = height
        self.fps = fps
        self.audioSampleRate = audioSampleRate
        let dir = (path as NSString).deletingLastPathComponent
        let ext = (path as NSString).pathExtension.lowercased()
        self.container = ["mkv": "matroska", "mov": "mov", "avi": "avi"][ext] ?? "mp4"
        self.tempPath = (dir.isEmpty ? "" : dir + "/") + ".\((path as NSString).lastPathComponent).partial"
        guard width > 0, height > 0, fps > 0 else {
            throw .invalidArgument(path: path, detail: "cannot encode \(width)x\(height) at \(fps) fps")
        }
        if let rate = audioSampleRate, rate <= 0 {
            throw .invalidArgument(path: path, detail: "audio sample rate \(rate) is not positive")
        }
        do {
            try open(options: options)
        } catch {
            release()
            try? FileManager.default.removeItem(atPath: tempPath)
            throw error
        }
    }

    deinit {
        release()
        if !finished { try? FileManager.default.removeItem(atPath: tempPath) }
    }

    private func release() {
        sws_freeContext(sws); sws = nil
        av_frame_free(&yuvFrame)
        av_frame_free(&audioFrame)
        av_packet_free(&packet)
        avcodec_free_context(&videoCodec)
        avcodec_free_context(&audioCodec)
        if let format {
            if format.pointee.pb != nil { avio_closep(&format.pointee.pb) }
            avformat_free_context(format)
            self.format = nil
        }
    }

    private func check(_ code: Int32, _ what: String) throws(MediaError) {
        if code < 0 { throw .writeFailed(path: path, detail: "\(what): \(LibAV.message(code))") }
    }

    private func open(options: VideoEncodeOptions) throws(MediaError) {
        var ctx: UnsafeMutablePointer<AVFormatContext>? = nil
        try check(avformat_alloc_output_context2(&ctx, nil, container, tempPath), "cannot create a \(container) muxer")
        format = ctx

        // Video: libx264 if built in, else MPEG-4 Part 2.
        var encoder = options.forceMPEG4 ? nil : avcodec_find_encoder_by_name("libx264")
        if encoder == nil { encoder = avcodec_find_encoder(AV_CODEC_ID_MPEG4) }
        guard let encoder else { throw .encoderUnavailable(path: path, detail: "neither libx264 nor mpeg4 is in this libavcodec build") }
        videoCodecName = String(cString: encoder.pointee.name)
        let isX264 = videoCodecName == "libx264"
        let even = width % 2 == 0 && height % 2 == 0
        guard even || isX264 else {
            throw .encoderUnavailable(path: path, detail: "MPEG-4 Part 2 needs even frame sizes, got \(width)x\(height)")
        }
        let pixFmt = even ? AV_PIX_FMT_YUV420P : AV_PIX_FMT_YUV444P
        guard let st = avformat_new_stream(format, nil), let cc = avcodec_alloc_context3(encoder) else {
            throw .writeFailed(path: path, detail: "cannot allocate the video stream")
        }
        videoStream = st
        videoCodec = cc
        cc.pointee.width = Int32(width)
        cc.pointee.height = Int32(height)
        cc.pointee.pix_fmt = pixFmt
        cc.pointee.time_base = AVRational(num: 1, den: Int32(fps))
        cc.pointee.framerate = AVRational(num: Int32(fps), den: 1)
        cc.pointee.gop_size = 2 * Int32(fps)
        cc.pointee.thread_count = 0
        if format!.pointee.oformat.pointee.flags & AVFMT_GLOBALHEADER != 0 {
            cc.pointee.flags |= AV_CODEC_FLAG_GLOBAL_HEADER
        }
        if isX264 {
            av_opt_set(cc.pointee.priv_data, "preset", options.preset, 0)
            av_opt_set(cc.pointee.priv_data, "crf", "\(options.crf)", 0)
        } else {
            // Quantiser 2..31; map CRF 0..51 onto it.
            let q = max(2, min(31, options.crf * 31 / 51 + 1))
            cc.pointee.flags |= AV_CODEC_FLAG_QSCALE
            cc.pointee.global_quality = FF_QP2LAMBDA * Int32(q)
        }
        try check(avcodec_open2(cc, encoder, nil), "cannot open the \(videoCodecName) encoder")
        try check(avcodec_parameters_from_context(st.pointee.codecpar, cc), "video parameters")
        st.pointee.time_base = cc.pointee.time_base
        st.pointee.avg_frame_rate = cc.pointee.framerate

        guard let frame = av_frame_alloc() else { throw .writeFailed(path: path, detail: "out of memory") }
        yuvFrame = frame
        frame.pointee.format = pixFmt.rawValue
        frame.pointee.width = Int32(width)
        frame.pointee.height = Int32(height)
        try check(av_frame_get_buffer(frame, 0), "frame buffer")
        sws = sws_getContext(Int32(width), Int32(height), AV_PIX_FMT_RGB24, Int32(width), Int32(height), pixFmt,
                             SWS_BILINEAR | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INP, nil, nil, nil)
        guard sws != nil else { throw .encoderUnavailable(path: path, detail: "no RGB to YUV converter") }

        if let rate = audioSampleRate {
            guard let aenc = avcodec_find_encoder(AV_CODEC_ID_AAC) else {
                throw .encoderUnavailable(path: path, detail: "no AAC encoder in this libavcodec build")
            }
            guard let ast = avformat_new_stream(format, nil), let ac = avcodec_alloc_context3(aenc) else {
                throw .writeFailed(path: path, detail: "cannot allocate the audio stream")
            }
            audioStream = ast
            audioCodec = ac
            ac.pointee.sample_fmt = AV_SAMPLE_FMT_FLTP
            ac.pointee.sample_rate = Int32(rate)
            tp_channel_layout_default(&ac.pointee.ch_layout, 1)
            ac.pointee.bit_rate = Int64(options.audioBitRate)
            ac.pointee.time_base = AVRational(num: 1, den: Int32(rate))
            if format!.pointee.oformat.pointee.flags & AVFMT_GLOBALHEADER != 0 {
                ac.pointee.flags |= AV_CODEC_FLAG_GLOBAL_HEADER
            }
            try check(avcodec_open2(ac, aenc, nil), "cannot open the AAC encoder")
            try check(avcodec_parameters_from_context(ast.pointee.codecpar, ac), "audio parameters")
            ast.pointee.time_base = ac.pointee.time_base
            guard let af = av_frame_alloc() else { throw .writeFailed(path: path, detail: "out of memory") }
            audioFrame = af
            af.pointee.format = AV_SAMPLE_FMT_FLTP.rawValue
            af.pointee.sample_rate = Int32(rate)
            af.pointee.nb_samples = ac.pointee.frame_size
            tp_channel_layout_default(&af.pointee.ch_layout, 1)
            try check(av_frame_get_buffer(af, 0), "audio frame buffer")
        }
        packet = av_packet_alloc()
        try check(avio_open(&format!.pointee.pb, tempPath, AVIO_FLAG_WRITE), "cannot open for writing")
        var opts: OpaquePointer? = nil
        if container == "mp4" || container == "mov" { av_dict_set(&opts, "movflags", "+faststart", 0) }
        let header = avformat_write_header(format, &opts)
        av_dict_free(&opts)
        try check(header, "cannot write the \(container) header")
    }

    // MARK: - Writing

    /// Appends one RGB frame (must match the writer's size).
    public func append(_ frame: Frame) throws(MediaError) {
        guard !finished else { throw .writeFailed(path: path, detail: "writer already finished") }
        guard frame.width == width, frame.height == height else {
            throw .invalidArgument(path: path, detail: "frame is \(frame.width)x\(frame.height), the video \(width)x\(height)")
        }
        guard let yuv = yuvFrame, let cc = videoCodec else { return }
        try check(av_frame_make_writable(yuv), "frame buffer")
        let dstData = withUnsafeMutablePointer(to: &yuv.pointee.data) {
            $0.withMemoryRebound(to: UnsafeMutablePointer<UInt8>?.self, capacity: 8) { $0 }
        }
        let dstStride = withUnsafeMutablePointer(to: &yuv.pointee.linesize) {
            $0.withMemoryRebound(to: Int32.self, capacity: 8) { $0 }
        }
        frame.rgb.withUnsafeBufferPointer { rgb in
            var src: UnsafePointer<UInt8>? = rgb.baseAddress
            var srcStride = Int32(width * 3)
            _ = sws_scale(sws, &src, &srcStride, 0, Int32(height), dstData, dstStride)
        }
        yuv.pointee.pts = framesWritten
        framesWritten += 1
        try encode(yuv, with: cc, stream: videoStream!)
    }

    /// Appends mono audio samples in [-1, 1] at the writer's audio rate.
    public func appendAudio(_ samples: [Float]) throws(MediaError) {
        guard !finished else { throw .writeFailed(path: path, detail: "writer already finished") }
        guard audioCodec != nil else {
            throw .invalidArgument(path: path, detail: "writer was opened without an audio track")
        }
        pendingAudio.append(contentsOf: samples)
        try drainAudio(final: false)
    }

    private func drainAudio(final: Bool) throws(MediaError) {
        guard let ac = audioCodec, let af = audioFrame else { return }
        let frameSize = Int(ac.pointee.frame_size)
        var offset = 0
        while pendingAudio.count - offset >= frameSize || (final && pendingAudio.count - offset > 0) {
            let n = min(frameSize, pendingAudio.count - offset)
            try check(av_frame_make_writable(af), "audio frame")
            af.pointee.nb_samples = Int32(frameSize)
            let dst = UnsafeMutableRawPointer(af.pointee.data.0!).assumingMemoryBound(to: Float.self)
            pendingAudio.withUnsafeBufferPointer { src in
                dst.update(from: src.baseAddress! + offset, count: n)
            }
            if n < frameSize { (dst + n).update(repeating: 0, count: frameSize - n) }
            af.pointee.pts = samplesWritten
            samplesWritten += Int64(frameSize)
            offset += n
            try encode(af, with: ac, stream: audioStream!)
        }
        pendingAudio.removeFirst(offset)
    }

    private func encode(_ frame: UnsafeMutablePointer<AVFrame>?, with cc: UnsafeMutablePointer<AVCodecContext>,
                        stream: UnsafeMutablePointer<AVStream>) throws(MediaError) {
        try check(avcodec_send_frame(cc, frame), "encoding")
        while true {
            let code = avcodec_receive_packet(cc, packet)
            if code == LibAV.eagain || code == LibAV.eof { return }
            try check(code, "encoding")
            av_packet_rescale_ts(packet, cc.pointee.time_base, stream.pointee.time_base)
            packet!.pointee.stream_index = stream.pointee.index
            try check(av_interleaved_write_frame(format, packet), "writing a packet")
        }
    }

    // MARK: - Finishing

    /// Flushes the encoders, writes the index and moves the file to its final name.
    public func finish() throws(MediaError) {
        guard !finished else { return }
        guard framesWritten > 0 || permitsEmptyVideo else { throw .zeroFrames(path: path) }
        try drainAudio(final: true)
        try encode(nil, with: videoCodec!, stream: videoStream!)
        if let ac = audioCodec { try encode(nil, with: ac, stream: audioStream!) }
        try check(av_write_trailer(format), "cannot finish the \(container) file")
        release()
        finished = true
        do {
            if FileManager.default.fileExists(atPath: path) { try FileManager.default.removeItem(atPath: path) }
            try FileManager.default.moveItem(atPath: tempPath, toPath: path)
        } catch {
            throw .writeFailed(path: path, detail: "cannot move the finished file into place: \(error)")
        }
    }

    /// Writes a whole clip: frames at `fps` and, when given, its audio.
    public static func write(path: String, frames: [Frame], fps: Int, audio: Audio? = nil,
                             options: VideoEncodeOptions = VideoEncodeOptions()) throws(MediaError) {
        guard let first = frames.first else { throw .zeroFrames(path: path) }
        let writer = try VideoWriter(path: path, width: first.width, height: first.height, fps: fps,
                                     audioSampleRate: audio?.sampleRate, options: options)
        for frame in frames { try writer.append(frame) }
        if let audio { try writer.appendAudio(audio.samples) }
        try writer.finish()
    }
}
