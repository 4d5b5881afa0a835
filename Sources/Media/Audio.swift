/// Mono audio as float samples in [-1, 1] at `sampleRate` Hz.
///
/// syncnet_python and python_speech_features read 16 kHz WAV files as int16, so MFCCs computed for
/// papers see samples on the int16 scale; ``int16Scaled`` gives exactly that view.
public struct Audio: Sendable, Equatable {
    /// Samples per second; MFCC and SyncNet expect 16 000.
    public var sampleRate: Int
    /// The mono signal, nominally in [-1, 1] (WAV int16 divided by 32768).
    public var samples: [Float]

    /// Wraps samples already decoded; no resampling or clipping is done here.
    public init(sampleRate: Int, samples: [Float]) {
        self.sampleRate = sampleRate
        self.samples = samples
    }

    /// Length of the signal in seconds.
    public var duration: Double { Double(samples.count) / Double(sampleRate) }

    /// Samples on the int16 scale (x * 32768, rounded and clipped as a 16-bit WAV would store them).
    public var int16Scaled: [Float] {
        samples.map { s in
            let v = (s * 32768).rounded()
            return min(32767, max(-32768, v))
        }
    }
}
