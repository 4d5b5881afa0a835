import ArgumentParser
import Foundation
import Synthetic

/// `trajprobe demo-data`: the demo probe set, the same on every machine for one seed.
struct DemoDataCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo-data",
        abstract: "Generate the demo probe set: talking-head clips with espeak-ng speech and masks.",
        discussion: ExitStatus.discussion("""
            Writes clips/<identity>_c<k>.mp4 (25 fps video, 16 kHz AAC speech), masks/<identity>.png \
            (LatentSync convention: white = upper face, black = mouth) and manifest.yaml. The same \
            seed gives the same clips on every machine (espeak-ng's version aside).

              trajprobe demo-data --output demo-data --identities 4 --clips 4
            """))

    @Option(name: .shortAndLong, help: "Output directory.") var output = "demo-data"
    @Option(help: "Number of identities.") var identities = 4
    @Option(help: "Clips per identity (the last two of each are held out as probes, matched and dubbed).") var clips = 5
    @Option(help: "Frame size in pixels (square).") var size = 96
    @Option(help: "Random seed.") var seed: UInt64 = 2026

    func run() async throws {
        let generator = DemoDataGenerator(identities: identities, clipsPerIdentity: clips, size: size, seed: seed)
        let made = try generator.generate(into: output) { line in
            FileHandle.standardError.write(Data((line + "\n").utf8))
        }
        print("wrote \(made.count) clips to \(output)/clips")
    }
}
