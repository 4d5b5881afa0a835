/// Mono audio as float samples in [-1, 1] at `sampleRate` Hz.
///
/// syncnet_python and python_speech_features read 16 kHz WAV files as int16, so MFCCs computed for
/// papers see samples on the int16 scale; ``int16Scaled`` gives exactly that view.
public struct Audio: Sendable, Equatable {
    public var sampleRate: Int
    public var samples: [Float]

    public init(sampleRate: Int, samples: [Float]) {
        self.sampleRate = sampleRate
        self.samples = samples
    }

    public var duration: Double { Double(samples.count) / Double(sampleRate) }

    /// Samples on the int16 scale (x * 32768, rounded and clipped as a 16-bit WAV would store them).
    public var int16Scaled: [Float] {
        samples.map { s in
            let v = (s * 32768).rounded()
            return min(32767, max(-32768, v))
        }
    }
}
