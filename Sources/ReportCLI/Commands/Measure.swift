import ArgumentParser

/// `trajprobe measure`: score any video against a reference without writing code.
struct Measure: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Score videos: fidelity to a reference, lip sync, MFCC features.",
        discussion: ExitStatus.discussion("""
            The same metrics the probe stores, on any file libav reads, so that numbers from your \
            own scripts and trajprobe's can be compared directly.

              trajprobe measure fidelity --reference ref.mp4 pred.mp4 --mask mask.png
              trajprobe measure sync clip.mp4 --syncnet syncnet_v2.safetensors
              trajprobe measure mfcc speech.wav --json
            """),
        subcommands: [MeasureFidelity.self, MeasureSync.self, MeasureMFCC.self])
}
