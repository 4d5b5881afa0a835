import ArgumentParser
import Foundation
import Media
import Metrics

/// `trajprobe measure mfcc`: the MFCCs SyncNet and FaceSync see, for checking against Python.
struct MeasureMFCC: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mfcc",
        abstract: "MFCCs of an audio or video file, equal to python_speech_features.mfcc at 16 kHz.",
        discussion: ExitStatus.discussion("""
            The audio track is decoded and resampled to 16 kHz mono, scaled to the int16 range as \
            syncnet_python reads its WAV files, and passed through python_speech_features.mfcc's \
            defaults (25 ms frames every 10 ms, 512-point FFT, 26 mel filters, 13 coefficients, \
            lifter 22, c0 replaced by the log frame energy). Output: one row per 10 ms frame.

              trajprobe measure mfcc speech.wav --json > mfcc.json
              trajprobe measure mfcc clip.mp4 | head
            """))

    @Argument(help: ArgumentHelp("Audio or video file with an audio track.", valueName: "AUDIO_OR_VIDEO")) var input: String
    @OptionGroup var jsonOutput: OutputOptions

    func run() async throws {
        let json = jsonOutput.json
        let audio = try AudioDecoder.decode(path: input, sampleRate: 16000)
        let features = try MFCC().compute(audio: audio, source: input)
        let rows = (0..<features.frames).map { f in (0..<features.numcep).map { features[f, $0] } }
        if json {
            let object: [String: Any] = ["input": input, "sample_rate": 16000, "frames": features.frames,
                                         "numcep": features.numcep, "mfcc": rows]
            JSONOutput.print(object: object)
        } else {
            print((0..<features.numcep).map { "c\($0)" }.joined(separator: ","))
            for row in rows { print(row.map { String(format: "%.9g", $0) }.joined(separator: ",")) }
        }
    }
}
