import CFFmpeg
import Foundation

/// Decodes the audio track of any file libav reads and resamples it with libswresample.
public enum AudioDecoder {
    /// The highest input sample rate decoded (768 kHz: the highest any audio format uses).
    public static let maxSampleRate = 768_000

    /// The whole audio track as mono float at `sampleRate` Hz.
    ///
    /// Down-mixing and resampling use libswresample's defaults, the same as
    /// `ffmpeg -i FILE -ac 1 -ar 16000 out.wav`, which is how syncnet_python extracts audio; the
    /// int16 view (``Audio/int16Scaled``) then equals that WAV's samples.
    public static func decode(path: String, sampleRate: Int = 16000) throws(MediaError) -> Audio {
        guard sampleRate > 0 else { throw .invalidArgument(path: path, detail: "sample rate \(sampleRate) is not positive") }
        let demuxer = try Demuxer(path: path, kind: .audio)
        var outLayout = AVChannelLayout()
        tp_channel_layout_default(&outLayout, 1)
        defer { av_channel_layout_uninit(&outLayout) }

        var swr: OpaquePointer? = nil
        var configured: (rate: Int32, format: Int32, channels: Int32)? = nil
        defer { swr_free(&swr) }
        var samples: [Float] = []

        func appendConverted(_ input: UnsafeMutablePointer<UnsafePointer<UInt8>?>?, count: Int32) throws(MediaError) {
            let capacity = Int(swr_get_out_samples(swr, count)) + 32
            guard capacity > 0 else { return }
            let start = samples.count
            samples.append(contentsOf: repeatElement(0, count: capacity))
            let produced: Int32 = samples.withUnsafeMutableBufferPointer { buf in
                var out: UnsafeMutablePointer<UInt8>? = UnsafeMutableRawPointer(buf.baseAddress! + start)
                    .assumingMemoryBound(to: UInt8.self)
                return swr_convert(swr, &out, Int32(capacity), input, count)
            }
            guard produced >= 0 else {
                samples.removeLast(capacity)
                throw .corrupt(path: path, detail: "resampling failed: \(LibAV.message(produced))")
            }
            samples.removeLast(capacity - Int(produced))
        }

        var frames = 0
        while let frame = demuxer.nextFrame() {
            frames += 1
            let f = frame.pointee
            let key = (f.sample_rate, f.format, f.ch_layout.nb_channels)
            // A header may declare any rate: libswresample builds its filter from the ratio, and a
            // 544 MHz "WAV" (found by the fuzzer) took minutes to set up.
            guard (1...AudioDecoder.maxSampleRate).contains(Int(f.sample_rate)) else {
                throw .corrupt(path: path, detail: "audio sample rate \(f.sample_rate) Hz is outside 1...\(AudioDecoder.maxSampleRate)")
            }
            if configured == nil || configured! != key {
                if swr != nil {
                    // Parameters changed mid-stream: flush the old resampler first.
                    try appendConverted(nil, count: 0)
                    swr_free(&swr)
                }
                var inLayout = f.ch_layout
                let code = swr_alloc_set_opts2(&swr, &outLayout, AV_SAMPLE_FMT_FLT, Int32(sampleRate),
                                               &inLayout, AVSampleFormat(rawValue: f.format), f.sample_rate, 0, nil)
                guard code >= 0, swr_init(swr) >= 0 else {
                    throw .notMedia(path: path, detail: "cannot resample \(f.sample_rate) Hz audio with \(f.ch_layout.nb_channels) channels")
                }
                configured = key
            }
            let input = UnsafeMutableRawPointer(frame.pointee.extended_data!)
                .assumingMemoryBound(to: UnsafePointer<UInt8>?.self)
            try appendConverted(input, count: f.nb_samples)
        }
        if let error = demuxer.readError { throw .corrupt(path: path, detail: error) }
        guard frames > 0, swr != nil else { throw .corrupt(path: path, detail: "audio track holds no decodable samples") }
        try appendConverted(nil, count: 0)
        return Audio(sampleRate: sampleRate, samples: samples)
    }

    /// The audio syncnet_python's `evaluate()` reads: what `ffmpeg -y -i VIDEO -async 1 -ac 1 -vn
    /// -acodec pcm_s16le -ar 16000 audio.wav` writes (Debian 12's ffmpeg 5.1), as int16 / 32768.
    ///
    /// Why not ``decode(path:sampleRate:)``: the CLI rounds to 16 bits inside libswresample
    /// (`lrintf`, ties to even) and `-async 1` makes its `aresample` filter (`async=1:first_pts=0`)
    /// pad with silence an audio track that starts after the file does, or drop what comes
    /// before, and fill timestamp gaps over 0.1 s. This mirrors that filter (af_aresample.c): one
    /// swr context with those options, each frame's timestamp (relative to the file's start, in
    /// samples) handed to `swr_next_pts` before its samples.
    public static func decodeAsFFmpegWAV(path: String, sampleRate: Int = 16000) throws(MediaError) -> Audio {
        guard sampleRate > 0 else { throw .invalidArgument(path: path, detail: "sample rate \(sampleRate) is not positive") }
        let demuxer = try Demuxer(path: path, kind: .audio)
        var outLayout = AVChannelLayout()
        tp_channel_layout_default(&outLayout, 1)
        defer { av_channel_layout_uninit(&outLayout) }
        let fileStart = demuxer.format!.pointee.start_time == LibAV.noPTS ? 0 : demuxer.format!.pointee.start_time
        var swr: OpaquePointer? = nil
        var inRate: Int32 = 0
        defer { swr_free(&swr) }
        var samples: [Int16] = []

        func convert(_ input: UnsafeMutablePointer<UnsafePointer<UInt8>?>?, count: Int32) throws(MediaError) {
            // af_aresample's output allowance: n * ratio + 32, plus what swr holds back.
            var capacity = Int(Double(count) * Double(sampleRate) / Double(inRate)) + 32
            let delay = Int(swr_get_delay(swr, Int64(sampleRate)))
            if delay > 0 { capacity += min(delay, max(4096, capacity)) }
            if input == nil { capacity = max(capacity, 4096) }
            let start = samples.count
            samples.append(contentsOf: repeatElement(0, count: capacity))
            let produced: Int32 = samples.withUnsafeMutableBufferPointer { buf in
                var out: UnsafeMutablePointer<UInt8>? = UnsafeMutableRawPointer(buf.baseAddress! + start)
                    .assumingMemoryBound(to: UInt8.self)
                return swr_convert(swr, &out, Int32(capacity), input, count)
            }
            guard produced >= 0 else {
                samples.removeLast(capacity)
                throw .corrupt(path: path, detail: "resampling failed: \(LibAV.message(produced))")
            }
            samples.removeLast(capacity - Int(produced))
        }

        var frames = 0
        while let frame = demuxer.nextFrame() {
            frames += 1
            let f = frame.pointee
            if swr == nil {
                var inLayout = f.ch_layout
                var code = swr_alloc_set_opts2(&swr, &outLayout, AV_SAMPLE_FMT_S16, Int32(sampleRate),
                                               &inLayout, AVSampleFormat(rawValue: f.format), f.sample_rate, 0, nil)
                if code >= 0 {
                    av_opt_set(UnsafeMutableRawPointer(swr), "async", "1", 0)
                    av_opt_set(UnsafeMutableRawPointer(swr), "first_pts", "0", 0)
                    code = swr_init(swr)
                }
                guard code >= 0 else {
                    throw .notMedia(path: path, detail: "cannot resample \(f.sample_rate) Hz audio with \(f.ch_layout.nb_channels) channels")
                }
                inRate = f.sample_rate
            } else if f.sample_rate != inRate {
                throw .corrupt(path: path, detail: "audio sample rate changes mid-stream (\(inRate) to \(f.sample_rate) Hz)")
            }
            let pts = f.best_effort_timestamp
            if pts != LibAV.noPTS {
                // The CLI's timestamps: relative to the file's start, in 1/inRate, then aresample's
                // rescale to inRate * outRate ticks.
                let relative = pts - av_rescale_q(fileStart, tp_av_time_base_q(), demuxer.timeBase)
                let inSamples = av_rescale_q(relative, demuxer.timeBase, AVRational(num: 1, den: inRate))
                _ = swr_next_pts(swr, inSamples * Int64(sampleRate))
            }
            let input = UnsafeMutableRawPointer(frame.pointee.extended_data!)
                .assumingMemoryBound(to: UnsafePointer<UInt8>?.self)
            try convert(input, count: f.nb_samples)
        }
        if let error = demuxer.readError { throw .corrupt(path: path, detail: error) }
        guard frames > 0, swr != nil else { throw .corrupt(path: path, detail: "audio track holds no decodable samples") }
        while true {
            let before = samples.count
            try convert(nil, count: 0)
            if samples.count == before { break }
        }
        return Audio(sampleRate: sampleRate, samples: samples.map { Float($0) / 32768 })
    }
}
