import CKernels
import Dispatch
import Foundation
import Media

/// MFCCs exactly as `python_speech_features.mfcc(signal, samplerate)` (0.6.1) with its defaults:
/// pre-emphasis 0.97 (`[x0, x1 - 0.97 x0, ...]`), frames of `round_half_up(0.025 sr)` samples every
/// `round_half_up(0.01 sr)`, the last frame zero-padded (`1 + ceil((n - len) / step)` frames, one
/// if the signal is shorter than a frame), no window, power spectrum `|rfft(frame, 512)|^2 / 512`,
/// 26 triangular mel filters on bins `floor((nfft + 1) mel2hz(m) / sr)`, zeros replaced by
/// `numpy.finfo(float).eps` before the log, DCT-II (orthonormal) keeping 13, lifter 22, and c0
/// replaced by the log of the frame energy (the sum of the power spectrum, same eps guard).
///
/// syncnet_python feeds it int16-scale samples: use ``compute(_:source:)`` with
/// `Audio.int16Scaled`, as ``compute(audio:source:)`` does. Everything runs in `Double`; the frames
/// run in the C kernel `tp_mfcc_frames` (AVX2/FMA when the CPU has it), in chunks across cores.
public struct MFCC: Sendable, Equatable {
    /// Audio sample rate in Hz (python_speech_features' `samplerate`).
    public var sampleRate: Int = 16000
    /// Analysis window length in seconds (25 ms).
    public var winlen: Double = 0.025
    /// Step between windows in seconds (10 ms: 100 MFCC frames per second).
    public var winstep: Double = 0.01
    /// Cepstral coefficients kept per frame; SyncNet reads 13.
    public var numcep: Int = 13
    /// Mel filters in the filterbank.
    public var nfilt: Int = 26
    /// FFT length: a power of two no shorter than the frame (longer frames are refused).
    public var nfft: Int = 512
    /// Lowest filterbank edge in Hz.
    public var lowfreq: Double = 0
    /// Highest filterbank edge in Hz; nil means `sampleRate / 2`.
    public var highfreq: Double? = nil
    /// Pre-emphasis coefficient (`y[n] = x[n] - 0.97 x[n-1]`).
    public var preemph: Double = 0.97
    /// Sinusoidal lifter applied to the cepstra (0 disables it).
    public var ceplifter: Int = 22
    /// Replace coefficient 0 with the log frame energy, as python_speech_features does by default.
    public var appendEnergy: Bool = true

    /// python_speech_features' `mfcc()` defaults, the settings syncnet_python uses.
    public init() {}

    /// `round_half_up` of python_speech_features (Decimal ROUND_HALF_UP of the float value).
    static func roundHalfUp(_ v: Double) -> Int { Int((v + 0.5).rounded(.down)) }

    /// Samples per analysis window, rounded half up as python_speech_features does.
    public var frameLength: Int { Self.roundHalfUp(winlen * Double(sampleRate)) }
    /// Samples between window starts, rounded half up as python_speech_features does.
    public var frameStep: Int { Self.roundHalfUp(winstep * Double(sampleRate)) }

    /// Number of frames python_speech_features produces for `count` samples.
    public func frameCount(samples count: Int) -> Int {
        let len = frameLength, step = frameStep
        if count <= len { return 1 }
        return 1 + Int((Double(count - len) / Double(step)).rounded(.up))
    }

    /// Filter edges in FFT bins, as numpy computes them (`linspace` then `floor`).
    public func filterBins() -> [Int] {
        func hz2mel(_ hz: Double) -> Double { 2595 * log10(1 + hz / 700) }
        func mel2hz(_ mel: Double) -> Double { 700 * (pow(10, mel / 2595) - 1) }
        let high = highfreq ?? Double(sampleRate) / 2
        let lo = hz2mel(lowfreq), hi = hz2mel(high)
        let div = Double(nfilt + 1)
        let step = (hi - lo) / div
        return (0..<(nfilt + 2)).map { i in
            let mel = i == nfilt + 1 ? hi : lo + Double(i) * step
            return Int((Double(nfft + 1) * mel2hz(mel) / Double(sampleRate)).rounded(.down))
        }
    }

    /// MFCCs of mono audio on the int16 scale (how syncnet_python reads its 16-bit WAV).
    public func compute(audio: Audio, source: String = "audio") throws(MetricsError) -> MFCCFeatures {
        guard audio.sampleRate == sampleRate else {
            throw .invalidArgument(source: source, detail: "audio is \(audio.sampleRate) Hz, MFCC expects \(sampleRate) Hz; resample first")
        }
        return try compute(audio.int16Scaled, source: source)
    }

    /// MFCCs of `signal` as given (no rescaling).
    public func compute(_ signal: [Float], source: String = "audio") throws(MetricsError) -> MFCCFeatures {
        guard !signal.isEmpty else { throw .emptyInput(source: source) }
        try signal.withUnsafeBufferPointer { p throws(MetricsError) in try checkFinite(p, source: source) }
        let len = frameLength, step = frameStep
        guard len > 0, step > 0 else { throw .invalidArgument(source: source, detail: "frame length and step must be positive") }
        guard nfft >= 4, nfft & (nfft - 1) == 0, nfft >= len else {
            throw .invalidArgument(source: source, detail: "nfft \(nfft) must be a power of two ≥ the frame length \(len)")
        }
        guard numcep >= 1, numcep <= nfilt else { throw .invalidArgument(source: source, detail: "numcep must be in 1...nfilt") }
        let frames = frameCount(samples: signal.count)
        let bins = filterBins()
        let nbins = nfft / 2 + 1
        guard bins.last! <= nbins else { throw .invalidArgument(source: source, detail: "highfreq above the Nyquist frequency") }
        guard bins.first! >= 0 else { throw .invalidArgument(source: source, detail: "lowfreq below 0 Hz") }
        let bins32 = bins.map { Int32($0) }
        // Filterbank as dense rows (nfilt x nbins), exactly fbank[j, i] of get_filterbanks.
        var fb = [Double](repeating: 0, count: nfilt * nbins)
        for j in 0..<nfilt {
            let b0 = bins[j], b1 = bins[j + 1], b2 = bins[j + 2]
            if b0 < b1 { for i in b0..<b1 { fb[j * nbins + i] = Double(i - b0) / Double(b1 - b0) } }
            if b1 < b2 { for i in b1..<b2 { fb[j * nbins + i] = Double(b2 - i) / Double(b2 - b1) } }
        }
        // Orthonormal DCT-II rows, lifter folded in.
        var dct = [Double](repeating: 0, count: numcep * nfilt)
        let nf = Double(nfilt)
        for k in 0..<numcep {
            let scale = k == 0 ? (1 / nf).squareRoot() : (2 / nf).squareRoot()
            let lift = ceplifter > 0 ? 1 + Double(ceplifter) / 2 * sin(Double.pi * Double(k) / Double(ceplifter)) : 1
            for n in 0..<nfilt {
                dct[k * nfilt + n] = lift * scale * cos(Double.pi * Double(k) * Double(2 * n + 1) / (2 * nf))
            }
        }
        var out = [Double](repeating: 0, count: frames * numcep)
        var failed = false
        signal.withUnsafeBufferPointer { ps in
        bins32.withUnsafeBufferPointer { pb in
        fb.withUnsafeBufferPointer { pfb in
        dct.withUnsafeBufferPointer { pdct in
        out.withUnsafeMutableBufferPointer { po in
            let job = _MFCCJob(job: tp_mfcc_job(
                signal: ps.baseAddress!, count: ps.count, preemph: preemph, frames: Int32(frames), frame_len: Int32(len), frame_step: Int32(step),
                nfft: Int32(nfft), nfilt: Int32(nfilt), numcep: Int32(numcep), bins: pb.baseAddress!,
                fbank: pfb.baseAddress!, dct: pdct.baseAddress!, append_energy: appendEnergy ? 1 : 0,
                out: po.baseAddress!))
            // Chunks of whole groups of four frames (the kernel's vector lanes).
            let chunks = frames < 256 ? 1 : min(frames / 128, ProcessInfo.processInfo.activeProcessorCount * 4)
            let per = ((frames + chunks - 1) / chunks + 3) / 4 * 4
            let status = _KernelStatus()
            let work = { @Sendable (chunk: Int) in
                let lo = chunk * per, hi = min(frames, lo + per)
                if lo < hi { status.record(job.frames(lo..<hi)) }
            }
            if chunks == 1 { work(0) } else { DispatchQueue.concurrentPerform(iterations: chunks, execute: work) }
            failed = status.failed
        }}}}}
        if failed { throw .invalidArgument(source: source, detail: "MFCC kernel refused nfft \(nfft) / numcep \(numcep) or could not allocate") }
        return MFCCFeatures(frames: frames, numcep: numcep, values: out)
    }
}

/// The C kernel's job: pointers only read, except the disjoint output rows each chunk writes.
struct _MFCCJob: @unchecked Sendable {
    var job: tp_mfcc_job

    func frames(_ range: Range<Int>) -> Int32 {
        withUnsafePointer(to: job) { tp_mfcc_frames($0, Int32(range.lowerBound), Int32(range.upperBound)) }
    }
}

/// MFCC matrix, row-major `frames x numcep` (python_speech_features' layout).
public struct MFCCFeatures: Sendable, Equatable, Codable {
    /// Number of MFCC frames (rows).
    public var frames: Int
    /// Coefficients per frame (columns).
    public var numcep: Int
    /// `frames * numcep` values, frame after frame.
    public var values: [Double]

    /// Checks that `values` holds `frames * numcep` values; a mismatch is a programming error.
    public init(frames: Int, numcep: Int, values: [Double]) {
        precondition(values.count == frames * numcep)
        self.frames = frames
        self.numcep = numcep
        self.values = values
    }

    /// Coefficient `coefficient` of frame `frame`.
    public subscript(frame: Int, coefficient: Int) -> Double { values[frame * numcep + coefficient] }
}
