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
}
