import CFFmpeg
import Foundation

/// What a video file holds, read from its container before decoding.
public struct VideoInfo: Sendable, Equatable {
    /// The file this information was read from.
    public var path: String
    /// Size of the decoded frames in the file (before any crop or scale).
    public var width: Int
    /// Height of the decoded frames in the file, before crop or scale.
    public var height: Int
    /// The stream's frame rate (average rate, else the container's base rate).
    public var fps: Double
    /// Frames in the stream (the container's count, else counted by demuxing every packet).
    public var frameCount: Int
    /// frameCount / fps, seconds.
    public var duration: Double
    /// libavcodec's short name of the video codec (e.g. `h264`).
    public var codec: String
    /// libav's name of the decoded pixel format (e.g. `yuv420p`).
    public var pixelFormat: String
    /// Whether the container also holds an audio stream, so the audio need not be given separately.
    public var hasAudio: Bool
}

/// What happens to each decoded frame before a ``VideoReader`` hands it out.
public enum FrameRoundTrip: String, Sendable, Codable, CaseIterable {
    /// The decoded pixels themselves, converted to RGB.
    case none
    /// syncnet_python's frame extraction, in memory: each output frame encoded to JPEG as
    /// `ffmpeg -i VIDEO -threads 1 -f image2 %06d.jpg` writes it (Debian 12's ffmpeg 5.1: yuvj420p,
    /// mjpeg rate control at the default 200 kb/s, optimal Huffman tables), then decoded as
    /// `cv2.imread` reads it (libjpeg-turbo, ISLOW IDCT, fancy upsampling). Papers' LSE numbers
    /// are computed on these pixels, not on the decoded frames.
    case ffmpegJPEG = "ffmpeg-jpeg"
}

/// How frames come out of a ``VideoReader``: resampled to a frame rate, cropped, scaled.
public struct VideoDecodeOptions: Sendable, Equatable {
    /// Resample to this rate by taking, for output frame k, the source frame nearest in time to
    /// k / targetFPS (ties to the earlier); nil keeps every source frame. Deterministic: the same
    /// file gives the same frames on every machine.
    public var targetFPS: Double?
    /// Crop box in source pixels, applied before scaling.
    public var crop: Box?
    /// Output size (bilinear, libswscale); nil keeps the (cropped) size.
    public var size: (width: Int, height: Int)?
    /// Decoder threads; 0 lets libav choose (all cores).
    public var threads: Int
    /// Whole frames only: no crop or size with a round trip (the CLI encodes the full frame).
    public var roundTrip: FrameRoundTrip

    /// Defaults keep every source frame at its full size, decoded on all cores, with no round trip.
    public init(targetFPS: Double? = nil, crop: Box? = nil, size: (width: Int, height: Int)? = nil, threads: Int = 0,
                roundTrip: FrameRoundTrip = .none) {
        self.targetFPS = targetFPS
        self.crop = crop
        self.size = size
        self.threads = threads
        self.roundTrip = roundTrip
    }

    /// Compares field by field; written out because a tuple-typed `size` prevents synthesis.
    public static func == (a: Self, b: Self) -> Bool {
        a.targetFPS == b.targetFPS && a.crop == b.crop && a.size?.width == b.size?.width
            && a.size?.height == b.size?.height && a.threads == b.threads && a.roundTrip == b.roundTrip
    }
}

/// Streams the frames of a video file as RGB, one at a time: a long video is never held in
/// memory unless ``readAll()`` is asked for.
///
/// Not thread-safe (it owns a decoder); use one reader per task.
public final class VideoReader {
    /// What the file's container declares, read before the first frame is decoded.
    public let info: VideoInfo
    /// The resampling, crop, scale and round trip applied to every frame handed out.
    public let options: VideoDecodeOptions
    /// Number of frames this reader yields (after fps resampling).
    public let outputFrameCount: Int
    /// Output frame size after crop and scale.
    public let outputWidth: Int
    /// Output frame height after crop and scale.
    public let outputHeight: Int

    // MARK: - Decoder state

    private let demuxer: Demuxer
    private let sourceFPS: Double
    private let startPTS: Int64
    private var nextOutput = 0
    private var sws: OpaquePointer?
    private var swsKey: (Int32, Int32, Int32, Int32, Int32) = (0, 0, 0, 0, -1)
    private var cropSws: OpaquePointer?
    /// Last decoded source frame index, and its RGB pixels when converted.
    private var current: (index: Int, rgb: [UInt8])?
    private var decodedAny = false
    /// JPEG round trip: the encoder (its rate control spans the clip) and the last wanted source
    /// frame, kept so that a frame shown twice is encoded twice, as the CLI does.
    private var jpegEncoder: CLIJPEGEncoder?
    private let jpegFrameRate: AVRational
    private var held: (index: Int, frame: UnsafeMutablePointer<AVFrame>)?

    // MARK: - Opening

    /// Opens the file and checks the options against it (crop inside the frame, positive size and
    /// rate), so a bad argument fails here rather than at the first frame.
    public init(path: String, options: VideoDecodeOptions = VideoDecodeOptions()) throws(MediaError) {
        let demuxer = try Demuxer(path: path, kind: .video, threads: Int32(options.threads))
        self.demuxer = demuxer
        self.options = options
        let st = demuxer.stream.pointee
        guard let par = st.codecpar?.pointee else { throw .notMedia(path: path, detail: "stream has no parameters") }
        let width = Int(par.width), height = Int(par.height)
        guard width > 0, height > 0 else { throw .corrupt(path: path, detail: "video stream has no frame size") }
        var fps = LibAV.double(st.avg_frame_rate)
        if !(fps > 0 && fps < 1000) { fps = LibAV.double(st.r_frame_rate) }
        guard fps > 0 && fps < 1000 else { throw .corrupt(path: path, detail: "video stream has no frame rate") }
        var count = Int(st.nb_frames)
        if count <= 0 { count = demuxer.countPackets() }
        guard count > 0 else { throw .zeroFrames(path: path) }
        // A container may declare any count: more than 10^8 frames (a month at 25 fps) is damage,
        // and every size below is computed from it.
        guard count <= VideoReader.maxFrames else {
            throw .corrupt(path: path, detail: "the stream declares \(count) frames, more than \(VideoReader.maxFrames)")
        }
        let pixName = try VideoReader.checkConvertible(AVPixelFormat(rawValue: par.format), path: path)
        if let crop = options.crop, !crop.fits(width: width, height: height) {
            throw .invalidArgument(path: path, detail: "crop box \(crop) lies outside the \(width)x\(height) frame")
        }
        if let size = options.size, size.width <= 0 || size.height <= 0 {
            throw .invalidArgument(path: path, detail: "output size \(size.width)x\(size.height) is not positive")
        }
        if let target = options.targetFPS, !(target > 0 && target.isFinite) {
            throw .invalidArgument(path: path, detail: "target fps \(target) is not positive")
        }
        let hasAudio = (0..<Int(demuxer.format!.pointee.nb_streams)).contains {
            demuxer.format!.pointee.streams[$0]!.pointee.codecpar.pointee.codec_type == AVMEDIA_TYPE_AUDIO
        }
        self.info = VideoInfo(path: path, width: width, height: height, fps: fps, frameCount: count,
                              duration: Double(count) / fps, codec: demuxer.codecName,
                              pixelFormat: pixName, hasAudio: hasAudio)
        self.sourceFPS = fps
        self.startPTS = st.start_time == LibAV.noPTS ? 0 : st.start_time
        if let target = options.targetFPS, abs(target - fps) > 1e-9 {
            let resampled = (Double(count) * target / fps).rounded()
            guard resampled <= Double(VideoReader.maxFrames) else {
                throw .corrupt(path: path, detail: "\(count) frames at \(fps) fps make \(resampled) frames at \(target) fps, more than \(VideoReader.maxFrames)")
            }
            self.outputFrameCount = max(1, Int(resampled))
        } else {
            self.outputFrameCount = count
        }
        let cw = options.crop?.width ?? width, ch = options.crop?.height ?? height
        self.outputWidth = options.size?.width ?? cw
        self.outputHeight = options.size?.height ?? ch
        if let target = options.targetFPS, abs(target - fps) > 1e-9 {
            jpegFrameRate = av_d2q(target, 1_001_000)
        } else {
            // What the CLI's filter graph reports for the source (ffmpeg_filter.c).
            jpegFrameRate = av_guess_frame_rate(demuxer.format, demuxer.stream, nil)
        }
        if options.roundTrip != .none {
            guard options.crop == nil, options.size == nil else {
                throw .invalidArgument(path: path, detail: "a \(options.roundTrip.rawValue) round trip encodes whole frames: crop or scale afterwards")
            }
            jpegEncoder = try CLIJPEGEncoder(path: path, frameRate: jpegFrameRate,
                                             decoderBitsPerRawSample: demuxer.codec?.pointee.bits_per_raw_sample ?? 0)
        }
    }

    /// The most frames a reader yields (10^8: a month at 25 fps); a file declaring more is damaged.
    public static let maxFrames = 100_000_000

    /// The pixel format's name, or `.unsupportedPixelFormat` when libswscale cannot convert it to RGB
    /// (hardware surfaces, unknown formats).
    static func checkConvertible(_ format: AVPixelFormat, path: String) throws(MediaError) -> String {
        let name = av_get_pix_fmt_name(format).map { String(cString: $0) } ?? "none"
        guard name != "none", sws_isSupportedInput(format) > 0 else {
            throw .unsupportedPixelFormat(path: path, format: name)
        }
        return name
    }

    deinit {
        sws_freeContext(sws)
        sws_freeContext(cropSws)
        if let frame = held?.frame { var p: UnsafeMutablePointer<AVFrame>? = frame; av_frame_free(&p) }
    }

    /// The source frame index that output frame `k` shows.
    func sourceIndex(forOutput k: Int) -> Int {
        guard let target = options.targetFPS, abs(target - sourceFPS) > 1e-9 else { return k }
        let exact = Double(k) * sourceFPS / target
        // Nearest in time, ties to the earlier frame.
        let idx = Int((exact - 1e-9).rounded(.toNearestOrAwayFromZero))
        return min(max(0, idx), info.frameCount - 1)
    }

    // MARK: - Reading frames

    /// The next frame, or nil after the last. A file that ends before its declared frame count, or
    /// whose packets fail to decode, throws `.corrupt` rather than returning a short sequence.
    public func nextFrame() throws(MediaError) -> Frame? {
        if options.roundTrip == .ffmpegJPEG {
            guard let jpeg = try nextJPEG() else { return nil }
            return try JPEG.decode(jpeg, source: "\(info.path) frame \(nextOutput - 1)", index: nextOutput - 1)
        }
        guard nextOutput < outputFrameCount else { return nil }
        let wanted = sourceIndex(forOutput: nextOutput)
        if let current, current.index == wanted, !current.rgb.isEmpty {
            nextOutput += 1
            return Frame(width: outputWidth, height: outputHeight, rgb: current.rgb, index: nextOutput - 1)
        }
        while true {
            guard let avFrame = demuxer.nextFrame() else {
                let found = current.map { $0.index + 1 } ?? 0
                if !decodedAny { throw .zeroFrames(path: info.path) }
                throw .corrupt(path: info.path, detail: demuxer.readError
                    ?? "stream ended after \(found) of \(info.frameCount) declared frames")
            }
            decodedAny = true
            let index = frameIndex(of: avFrame, previous: current?.index)
            if index < wanted {
                current = (index, [])
                continue
            }
            // index >= wanted: the wanted frame is this one (or missing in a damaged stream; the
            // nearest later frame stands in only when decoding went past it without a gap report).
            let rgb = try convert(avFrame)
            current = (index, rgb)
            nextOutput += 1
            return Frame(width: outputWidth, height: outputHeight, rgb: rgb, index: nextOutput - 1)
        }
    }

    /// The JPEG file `ffmpeg -f image2` would write for the next output frame (see
    /// ``FrameRoundTrip/ffmpegJPEG``), or nil after the last. Only with that round trip.
    public func nextJPEG() throws(MediaError) -> [UInt8]? {
        guard let encoder = jpegEncoder else {
            throw .invalidArgument(path: info.path, detail: "JPEG frames need VideoDecodeOptions(roundTrip: .ffmpegJPEG)")
        }
        guard nextOutput < outputFrameCount else { return nil }
        let wanted = sourceIndex(forOutput: nextOutput)
        if let held, held.index == wanted {
            nextOutput += 1
            return try encoder.encode(held.frame)
        }
        var previous = held?.index
        while true {
            guard let avFrame = demuxer.nextFrame() else {
                if !decodedAny { throw .zeroFrames(path: info.path) }
                throw .corrupt(path: info.path, detail: demuxer.readError
                    ?? "stream ended after \((previous ?? -1) + 1) of \(info.frameCount) declared frames")
            }
            decodedAny = true
            let index = frameIndex(of: avFrame, previous: previous)
            previous = index
            if index < wanted { continue }
            if held == nil {
                guard let frame = av_frame_alloc() else { throw .corrupt(path: info.path, detail: "out of memory") }
                held = (index, frame)
            }
            av_frame_unref(held!.frame)
            guard av_frame_ref(held!.frame, avFrame) >= 0 else { throw .corrupt(path: info.path, detail: "out of memory") }
            held!.index = index
            nextOutput += 1
            return try encoder.encode(held!.frame)
        }
    }

    /// Source index of a decoded frame from its timestamp; frames without one count on from the
    /// previous frame.
    private func frameIndex(of frame: UnsafeMutablePointer<AVFrame>, previous: Int?) -> Int {
        let pts = frame.pointee.best_effort_timestamp
        if pts == LibAV.noPTS { return (previous ?? -1) + 1 }
        // In Double: a damaged stream's timestamps may lie anywhere in Int64.
        let index = ((Double(pts) - Double(startPTS)) * LibAV.double(demuxer.timeBase) * sourceFPS).rounded()
        guard index.isFinite else { return (previous ?? -1) + 1 }
        return Int(max(-1, min(index, Double(Int32.max))))
    }

    // MARK: - Seeking and whole files

    /// Positions the reader so that the next ``nextFrame()`` returns output frame `index`.
    /// Frame-accurate: seeks to the key frame before it, then decodes forward.
    public func seek(toFrame index: Int) throws(MediaError) {
        guard index >= 0 && index < outputFrameCount else {
            throw .frameOutOfRange(path: info.path, index: index, count: outputFrameCount)
        }
        let source = sourceIndex(forOutput: index)
        let tb = LibAV.double(demuxer.timeBase)
        let offset = (Double(source) / sourceFPS / tb).rounded(.down)
        guard offset.isFinite, offset < 9e18, Double(startPTS) + offset < 9e18 else {
            throw .corrupt(path: info.path, detail: "frame \(index) has no timestamp in the stream's time base")
        }
        let ts = startPTS + Int64(offset)
        try demuxer.seek(to: ts)
        current = nil
        nextOutput = index
        if jpegEncoder != nil {
            // A fresh encoder: the CLI started at this frame (-ss) would begin its rate control here.
            if let frame = held?.frame { var p: UnsafeMutablePointer<AVFrame>? = frame; av_frame_free(&p) }
            held = nil
            jpegEncoder = try CLIJPEGEncoder(path: info.path, frameRate: jpegFrameRate,
                                             decoderBitsPerRawSample: demuxer.codec?.pointee.bits_per_raw_sample ?? 0)
        }
    }

    /// Every remaining frame. Holds them all in memory: use ``nextFrame()`` for long videos.
    public func readAll() throws(MediaError) -> [Frame] {
        var frames: [Frame] = []
        // Reserve for what a file plausibly holds; a larger declared count grows as frames come.
        frames.reserveCapacity(min(outputFrameCount - nextOutput, 10_000))
        while let frame = try nextFrame() { frames.append(frame) }
        return frames
    }

    /// Convenience: all frames of a file as RGB.
    public static func frames(of path: String, options: VideoDecodeOptions = VideoDecodeOptions()) throws(MediaError) -> [Frame] {
        try VideoReader(path: path, options: options).readAll()
    }

    // MARK: - Conversion (libswscale)

    private func convert(_ frame: UnsafeMutablePointer<AVFrame>) throws(MediaError) -> [UInt8] {
        let fw = frame.pointee.width, fh = frame.pointee.height
        if let crop = options.crop {
            guard crop.fits(width: Int(fw), height: Int(fh)) else {
                throw .invalidArgument(path: info.path, detail: "crop box \(crop) lies outside the \(fw)x\(fh) frame")
            }
            let full = try scale(frame, toWidth: fw, height: fh)
            var cropped = [UInt8](repeating: 0, count: crop.width * crop.height * 3)
            full.withUnsafeBufferPointer { src in
                cropped.withUnsafeMutableBufferPointer { dst in
                    let rowBytes = crop.width * 3
                    for y in 0..<crop.height {
                        let s = ((crop.y + y) * Int(fw) + crop.x) * 3
                        UnsafeMutableRawPointer(dst.baseAddress! + y * rowBytes)
                            .copyMemory(from: src.baseAddress! + s, byteCount: rowBytes)
                    }
                }
            }
            if outputWidth == crop.width && outputHeight == crop.height { return cropped }
            return try Resampler.resizeRGB(cropped, width: crop.width, height: crop.height,
                                           toWidth: outputWidth, height: outputHeight, path: info.path)
        }
        return try scale(frame, toWidth: Int32(outputWidth), height: Int32(outputHeight))
    }

    private func scale(_ frame: UnsafeMutablePointer<AVFrame>, toWidth ow: Int32, height oh: Int32) throws(MediaError) -> [UInt8] {
        let fw = frame.pointee.width, fh = frame.pointee.height, fmt = frame.pointee.format
        let key = (fw, fh, fmt, ow, oh)
        if sws == nil || key != swsKey {
            sws_freeContext(sws)
            sws = sws_getContext(fw, fh, AVPixelFormat(rawValue: fmt), ow, oh, AV_PIX_FMT_RGB24,
                                 SWS_BILINEAR | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT, nil, nil, nil)
            swsKey = key
            guard sws != nil else {
                let name = av_get_pix_fmt_name(AVPixelFormat(rawValue: fmt)).map { String(cString: $0) } ?? "\(fmt)"
                throw .unsupportedPixelFormat(path: info.path, format: name)
            }
        }
        let count = Int(ow) * Int(oh) * 3
        let srcData = withUnsafePointer(to: &frame.pointee.data) {
            $0.withMemoryRebound(to: UnsafePointer<UInt8>?.self, capacity: 8) { $0 }
        }
        let srcStride = withUnsafePointer(to: &frame.pointee.linesize) {
            $0.withMemoryRebound(to: Int32.self, capacity: 8) { $0 }
        }
        var status: Int32 = 0
        let rgb = [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            var dst: UnsafeMutablePointer<UInt8>? = buffer.baseAddress
            var dstStride: Int32 = ow * 3
            status = sws_scale(sws, srcData, srcStride, 0, fh, &dst, &dstStride)
            initialized = count
        }
        guard status == oh else {
            throw .corrupt(path: info.path, detail: "pixel conversion produced \(status) of \(oh) rows")
        }
        return rgb
    }
}
