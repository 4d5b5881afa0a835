import CFFmpeg
import Foundation

/// Owns one `AVFormatContext` and the decoder of one stream. The only place that opens files
/// through libav: every failure is checked, freed and turned into a `MediaError` naming the file.
final class Demuxer {
    let path: String
    private(set) var format: UnsafeMutablePointer<AVFormatContext>?
    private(set) var codec: UnsafeMutablePointer<AVCodecContext>?
    let streamIndex: Int32
    let stream: UnsafeMutablePointer<AVStream>
    private var packet: UnsafeMutablePointer<AVPacket>?
    private var frame: UnsafeMutablePointer<AVFrame>?
    private var drained = false
    private var sentFlush = false
    /// Set when a packet failed to read or decode for a reason other than end of file.
    private(set) var readError: String?

    enum Kind { case video, audio }

    // MARK: - Opening

    init(path: String, kind: Kind, threads: Int32 = 0) throws(MediaError) {
        _ = LibAV.quiet
        self.path = path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else {
            throw .fileNotFound(path: path)
        }
        var ctx: UnsafeMutablePointer<AVFormatContext>? = nil
        let openCode = avformat_open_input(&ctx, path, nil, nil)
        guard openCode >= 0, ctx != nil else {
            throw Demuxer.classifyOpenFailure(path: path, code: openCode)
        }
        let infoCode = avformat_find_stream_info(ctx, nil)
        guard infoCode >= 0 else {
            avformat_close_input(&ctx)
            throw .corrupt(path: path, detail: "cannot read stream info: \(LibAV.message(infoCode))")
        }
        let mediaType = kind == .video ? AVMEDIA_TYPE_VIDEO : AVMEDIA_TYPE_AUDIO
        var decoder: UnsafePointer<AVCodec>? = nil
        let index = av_find_best_stream(ctx, mediaType, -1, -1, &decoder, 0)
        guard index >= 0, let decoder, let st = ctx!.pointee.streams[Int(index)] else {
            avformat_close_input(&ctx)
            if index == tp_averror_decoder_not_found() {
                throw .notMedia(path: path, detail: "no decoder for its \(kind) stream")
            }
            throw kind == .video ? .noVideoStream(path: path) : .noAudioStream(path: path)
        }
        // Ignore every other stream so that av_read_frame hands us only ours.
        for i in 0..<Int(ctx!.pointee.nb_streams) where i != Int(index) {
            ctx!.pointee.streams[i]!.pointee.discard = AVDISCARD_ALL
        }
        guard let cc = avcodec_alloc_context3(decoder) else {
            avformat_close_input(&ctx)
            throw .notMedia(path: path, detail: "cannot allocate a decoder")
        }
        var code = avcodec_parameters_to_context(cc, st.pointee.codecpar)
        if code >= 0 {
            cc.pointee.thread_count = threads
            cc.pointee.thread_type = FF_THREAD_FRAME | FF_THREAD_SLICE
            cc.pointee.pkt_timebase = st.pointee.time_base
            code = avcodec_open2(cc, decoder, nil)
        }
        guard code >= 0 else {
            var ccOpt: UnsafeMutablePointer<AVCodecContext>? = cc
            avcodec_free_context(&ccOpt)
            avformat_close_input(&ctx)
            throw .notMedia(path: path, detail: "cannot open the \(String(cString: decoder.pointee.name)) decoder: \(LibAV.message(code))")
        }
        self.format = ctx
        self.codec = cc
        self.streamIndex = index
        self.stream = st
        self.packet = av_packet_alloc()
        self.frame = av_frame_alloc()
    }

    deinit {
        av_packet_free(&packet)
        av_frame_free(&frame)
        avcodec_free_context(&codec)
        avformat_close_input(&format)
    }

    /// A file libav cannot open is either not media at all or a container that is truncated or
    /// damaged (its signature probes fine, its index does not). Users need to know which.
    private static func classifyOpenFailure(path: String, code: Int32) -> MediaError {
        let detail = LibAV.message(code)
        guard let handle = FileHandle(forReadingAtPath: path) else { return .fileNotFound(path: path) }
        defer { try? handle.close() }
        let head = (try? handle.read(upToCount: 4096)) ?? Data()
        if head.isEmpty { return .notMedia(path: path, detail: "empty file") }
        var padded = [UInt8](head)
        padded.append(contentsOf: [UInt8](repeating: 0, count: Int(AVPROBE_PADDING_SIZE)))
        let score: Int32 = padded.withUnsafeMutableBufferPointer { buf in
            var probe = AVProbeData()
            probe.buf = buf.baseAddress
            probe.buf_size = Int32(head.count)
            var score: Int32 = 0
            let fmt = av_probe_input_format2(&probe, 1, &score)
            return fmt == nil ? 0 : score
        }
        if score >= AVPROBE_SCORE_MAX / 4 {
            return .corrupt(path: path, detail: detail)
        }
        return .notMedia(path: path, detail: detail)
    }

    // MARK: - Stream information

    var codecName: String {
        guard let codec, let c = codec.pointee.codec else { return "unknown" }
        return String(cString: c.pointee.name)
    }

    var timeBase: AVRational { stream.pointee.time_base }

    // MARK: - Reading

    /// Seeks the demuxer to the key frame at or before `timestamp` (stream time base) and flushes
    /// the decoder, so that decoding restarts cleanly.
    func seek(to timestamp: Int64) throws(MediaError) {
        let code = av_seek_frame(format, streamIndex, timestamp, AVSEEK_FLAG_BACKWARD)
        guard code >= 0 else { throw .corrupt(path: path, detail: "seek failed: \(LibAV.message(code))") }
        avcodec_flush_buffers(codec)
        drained = false
        sentFlush = false
        readError = nil
    }

    /// The next decoded frame of the stream, or nil at the end. The returned frame is owned by the
    /// demuxer and valid until the next call.
    func nextFrame() -> UnsafeMutablePointer<AVFrame>? {
        guard !drained, let codec, let frame, let packet else { return nil }
        while true {
            let received = avcodec_receive_frame(codec, frame)
            if received >= 0 { return frame }
            if received == LibAV.eof { drained = true; return nil }
            if received != LibAV.eagain {
                readError = "decoding failed: \(LibAV.message(received))"
                drained = true
                return nil
            }
            if sentFlush { drained = true; return nil }
            // Feed the next packet of our stream.
            while true {
                let read = av_read_frame(format, packet)
                if read < 0 {
                    if read != LibAV.eof { readError = "reading failed: \(LibAV.message(read))" }
                    avcodec_send_packet(codec, nil)
                    sentFlush = true
                    break
                }
                defer { av_packet_unref(packet) }
                if packet.pointee.stream_index != streamIndex { continue }
                let sent = avcodec_send_packet(codec, packet)
                if sent < 0 && sent != LibAV.eagain {
                    // A damaged packet: remember it, keep going (the frame count check reports it).
                    readError = "corrupt packet: \(LibAV.message(sent))"
                }
                break
            }
        }
    }

    /// Counts the packets of our stream without decoding (cheap), then rewinds.
    func countPackets() -> Int {
        guard let packet else { return 0 }
        var count = 0
        while av_read_frame(format, packet) >= 0 {
            if packet.pointee.stream_index == streamIndex { count += 1 }
            av_packet_unref(packet)
        }
        av_seek_frame(format, streamIndex, Int64.min, AVSEEK_FLAG_BACKWARD)
        avformat_seek_file(format, streamIndex, Int64.min, 0, 0, 0)
        avcodec_flush_buffers(codec)
        return count
    }
}
