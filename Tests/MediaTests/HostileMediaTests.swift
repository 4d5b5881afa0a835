import Foundation
import Testing
@testable import Media

/// Inputs the media fuzzer (Fuzz/FuzzMedia) found: each now ends in a one-line error, quickly.
@Suite struct HostileMediaTests {
    /// A 16-bit mono PCM WAV header declaring `rate` Hz, and `samples` samples of a ramp.
    static func wav(rate: UInt32, samples: Int) -> Data {
        var d = Data()
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { d.append(contentsOf: $0) } }
        func u16(_ v: UInt16) { withUnsafeBytes(of: v.littleEndian) { d.append(contentsOf: $0) } }
        d.append(contentsOf: Array("RIFF".utf8)); u32(UInt32(36 + 2 * samples)); d.append(contentsOf: Array("WAVEfmt ".utf8))
        u32(16); u16(1); u16(1); u32(rate); u32(rate &* 2); u16(2); u16(16)
        d.append(contentsOf: Array("data".utf8)); u32(UInt32(2 * samples))
        for i in 0..<samples { u16(UInt16(truncatingIfNeeded: i * 97)) }
        return d
    }

    @Test func absurdSampleRatesAreRefusedBeforeResampling() throws {
        let scratch = Scratch()
        let path = scratch.path("544mhz.wav")
        // The fuzzer's input declared 544,502,144 Hz: libswresample spent minutes building a filter.
        try Self.wav(rate: 544_502_144, samples: 1600).write(to: URL(fileURLWithPath: path))
        #expect(throws: MediaError.corrupt(path: path, detail: "audio sample rate 544502144 Hz is outside 1...768000")) {
            try AudioDecoder.decode(path: path)
        }
        let fine = scratch.path("48k.wav")
        try Self.wav(rate: 48_000, samples: 4800).write(to: URL(fileURLWithPath: fine))
        #expect(abs(try AudioDecoder.decode(path: fine).samples.count - 1600) <= 2)
    }
}
