import ArgumentParser
import Benchmarks
import Foundation
import Media
import Metrics
import Store
import Synthetic
import TrajectoryProbe

/// `trajprobe bench`: benchmarks that print a ratio against a reference timed in the same run.
struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Benchmarks: each prints a ratio against a reference tool timed in the same run.",
        discussion: ExitStatus.discussion("""
            Speed is checked here, never in timed tests. Each benchmark times trajprobe and a \
            reference implementation on the same input in the same process run and prints both \
            figures and their ratio (higher is better for trajprobe).

              trajprobe bench media            # decode vs the ffmpeg CLI
              trajprobe bench store            # Store API vs sqlite3 .import
              trajprobe bench probe            # 8 scales vs 1; teacher FLOP/s vs sgemm
              make bench                       # all of them, Python references included
            """),
        subcommands: [BenchMedia.self, BenchFidelity.self, BenchNets.self, BenchStore.self, BenchProbe.self, BenchRemote.self])
}

/// `trajprobe bench media`: libav decode throughput against the ffmpeg CLI on the same clip.
struct BenchMedia: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "media",
        abstract: "Decode a 512x512 25 fps clip to RGB frames, against `ffmpeg -f rawvideo -pix_fmt rgb24`.",
        discussion: ExitStatus.help)

    @Option(help: "Clip length in seconds.") var seconds = 10
    @Option(help: "Frame size (square).") var size = 512
    @Option(help: "Repetitions; the best of each side counts.") var repeats = 3

    func run() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("trajprobe-bench-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("clip.mp4").path
        let frameCount = seconds * 25
        let writer = try VideoWriter(path: path, width: size, height: size, fps: 25,
                                     options: VideoEncodeOptions(crf: 18, preset: "veryfast"))
        for k in 0..<frameCount { try writer.append(BenchMedia.pattern(k, size: size)) }
        try writer.finish()
        guard let ffmpeg = which("ffmpeg") else {
            throw ValidationError("the ffmpeg command is not installed: run `make bench-deps` (apt-get install ffmpeg)")
        }
        var ours = Double.infinity, theirs = Double.infinity
        for _ in 0..<repeats {
            let t0 = Date()
            let reader = try VideoReader(path: path)
            var n = 0
            while let frame = try reader.nextFrame() { n += frame.rgb.count > 0 ? 1 : 0 }
            ours = min(ours, Date().timeIntervalSince(t0))
            guard n == frameCount else { throw ValidationError("decoded \(n) of \(frameCount) frames") }
            let t1 = Date()
            let p = Process()
            p.executableURL = URL(fileURLWithPath: ffmpeg)
            p.arguments = ["-nostdin", "-loglevel", "error", "-i", path, "-f", "rawvideo", "-pix_fmt", "rgb24", "-y", "/dev/null"]
            try p.run()
            p.waitUntilExit()
            theirs = min(theirs, Date().timeIntervalSince(t1))
        }
        let fpsOurs = Double(frameCount) / ours, fpsTheirs = Double(frameCount) / theirs
        print("media decode \(size)x\(size), \(frameCount) frames (H.264):")
        print(String(format: "  trajprobe VideoReader  %8.1f frames/s  (%.3f s)", fpsOurs, ours))
        print(String(format: "  ffmpeg CLI rawvideo    %8.1f frames/s  (%.3f s)", fpsTheirs, theirs))
        print(String(format: "  ratio (trajprobe / ffmpeg throughput): %.2fx  (target >= 0.8x)", fpsOurs / fpsTheirs))
    }

    /// Frame `k` of the benchmark clip: a moving pattern H.264 cannot compress to nothing.
    static func pattern(_ k: Int, size: Int) -> Frame {
        var rgb = [UInt8](repeating: 0, count: size * size * 3)
        for y in 0..<size {
            for x in 0..<size {
                let i = (y * size + x) * 3
                rgb[i] = UInt8(truncatingIfNeeded: x + k * 3)
                rgb[i + 1] = UInt8(truncatingIfNeeded: y * 2 - k)
                rgb[i + 2] = UInt8(truncatingIfNeeded: (x ^ y) + k)
            }
        }
        return Frame(width: size, height: size, rgb: rgb, index: k)
    }
}

/// `trajprobe bench fidelity`: SSIM and MFCC timings for the Python driver to compare.
struct BenchFidelity: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fidelity",
        abstract: "SSIM on 100 pairs of 512x512 RGB frames and MFCC of 60 s of audio (the Swift half).",
        discussion: ExitStatus.discussion("""
            The reference half is scikit-image and python_speech_features on the same inputs:
              .venv/bin/python Benchmarks/metrics_fidelity_bench.py \\
                  --swift "trajprobe bench fidelity --json"
            which prints the ratios.
            """))
    @OptionGroup var jsonOutput: OutputOptions

    func run() async throws {
        let result = try FidelityBenchmark.run()
        if jsonOutput.json {
            try JSONOutput.print(result)
        } else {
            print(result)
        }
    }
}

/// `trajprobe bench nets`: LPIPS and SyncNet against the torch reference timings in a folder.
struct BenchNets: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nets",
        abstract: "LPIPS on 100 mouth crops and SyncNet LSE on a 10 s clip against PyTorch (the Swift half).",
        discussion: ExitStatus.discussion("""
            DIR holds what the reference half wrote: the formula weights (lpips.safetensors, \
            syncnet.safetensors) and PyTorch's timings and results (reference.json). \
            Benchmarks/metrics_nets_bench.sh runs both halves, alternating them REPEATS times:
              REPEATS=3 Benchmarks/metrics_nets_bench.sh /tmp/nets-bench
            """))
    @Argument(help: ArgumentHelp("Directory written by Benchmarks/metrics_nets_bench.py.", valueName: "dir")) var directory: String

    func run() async throws {
        print(try MetricsNetsBench.run(directory: URL(fileURLWithPath: directory)))
    }
}

/// `trajprobe bench store`: Store writes against the sqlite3 CLI's `.import` of the same rows, and a CSV import.
struct BenchStore: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "store",
        abstract: "1,000,000 measurements through the Store API against the sqlite3 CLI's .import; 100k-row CSV import.",
        discussion: ExitStatus.help)
    @Option(help: "Measurements to write.") var measurements = 1_000_000

    func run() async throws {
        guard let sqlite3 = which("sqlite3") else {
            throw ValidationError("the sqlite3 command is not installed: run `make bench-deps` (apt-get install sqlite3)")
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("trajprobe-store-bench-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        print(try StoreBenchmark.run(directory: dir, measurements: measurements, sqlite3: sqlite3))
    }
}

/// `trajprobe bench probe`: pass sharing (8 scales vs 1) and the teacher's FLOP/s against sgemm.
struct BenchProbe: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "probe",
        abstract: "8 guidance scales over 1 for shared-pass arms; the analytic teacher's FLOP/s over a plain sgemm.",
        discussion: ExitStatus.help)

    func run() async throws {
        for line in try ProbeBenchmark.run().lines { print(line) }
    }
}

/// `trajprobe bench remote`: a remote teacher's binary tensor transport against JSON, and the client's overhead per call.
struct BenchRemote: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "remote",
        abstract: "Remote teacher: requests/s and MB/s of the binary tensor extension against JSON, and the client's overhead per call.",
        discussion: ExitStatus.discussion("""
            Needs a running teacher server; Benchmarks/remote_bench.sh starts the reference server's \
            echo model (next to no compute) and runs this twice: video-sized latents, then \
            probe-sized calls. The overhead is client wall time per call minus the server's own \
            compute_ms per call: request building, encoding, HTTP on loopback and decoding.

              .venv/bin/python tools/teacher_server/server.py --model echo \\
                  --state-shape 16,5,30,52 --port 8000 &
              trajprobe bench remote --url http://127.0.0.1:8000 --model echo \\
                  --rows 4 --calls 20
            """))

    @Option(help: "Server URL.") var url: String
    @Option(help: "Model name on the server.") var model = "echo"
    @Option(help: "State rows per request.") var rows = 4
    @Option(help: "Timed calls per transport.") var calls = 20

    func run() async throws {
        for line in try RemoteBenchmark.run(url: url, model: model, rows: rows, calls: calls).lines { print(line) }
    }
}
