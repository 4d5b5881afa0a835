import Foundation
import Measurement
import TrajectoryProbe

/// Transport and client overhead of ``RemoteTeacher`` against a running server.
///
/// Two questions: how many latents per second the binary tensor extension moves compared with
/// the JSON form (same server, same payloads, same run), and how much time the probe adds to each
/// teacher call beyond the model's own compute (the server reports `compute_ms` per answer).
public enum RemoteBenchmark {
    /// One transport's timing over the same calls and payloads as the others, so rows compare directly.
    public struct Row: Sendable {
        /// The transport's label: `binary fp32`, `binary fp16` or `json fp32`.
        public var transport: String
        /// Timed prediction calls (the warm-up call is not counted).
        public var requests: Int
        /// Client wall time of the timed calls, in seconds.
        public var seconds: Double
        /// Latent bytes moved (request x_t plus answer), as FP32 would carry them.
        public var megabytes: Double
        /// The server's own compute over the timed calls (its `compute_ms`, summed), in seconds; what the
        /// client time beyond it costs is the probe's overhead.
        public var serverSeconds: Double
        /// Calls per second of client wall time.
        public var requestsPerSecond: Double { Double(requests) / seconds }
        /// Latent throughput at the FP32 size, so binary FP16 is credited with the payload it stands for.
        public var megabytesPerSecond: Double { megabytes / seconds }
        /// Client wall time per call minus the server's compute per call, in milliseconds.
        public var overheadMilliseconds: Double { (seconds - serverSeconds) / Double(requests) * 1000 }
    }

    /// Runs `calls` predictions of `rows` states per transport (binary FP32, binary FP16, JSON FP32)
    /// and returns one row per transport plus the printable report.
    public static func run(url: String, model: String, rows: Int, calls: Int) throws -> (rows: [Row], lines: [String]) {
        var results: [Row] = []
        var shape: [Int] = []
        for (label, binary, datatype) in [("binary fp32", true, WireDatatype.fp32), ("binary fp16", true, .fp16), ("json fp32", false, .fp32)] {
            let teacher = try RemoteTeacher(options: RemoteTeacherOptions(url: url, model: model, timeout: 300, retry: RetryPolicy(retries: 0),
                                                                          concurrency: 1, maxBatch: rows, binary: binary, datatype: datatype))
            shape = teacher.stateShape ?? []
            let d = shape.reduce(1, *)
            let states = GaussianNoise(key: "remote bench").tensor(shape: [rows] + shape)
            let conditioning = Conditioning(clip: "bench", identity: "bench",
                                            audioFeatures: Tensor(zeros: [rows, max(teacher.conditioningWidth, 1)]))
            let sigmas = Array(repeating: 0.5, count: rows)
            // One warm-up call (connection set-up, server first-request costs) outside the timing.
            _ = try teacher.predict(states: states, sigmas: sigmas, conditioning: conditioning, branches: [.cond])
            let before = teacher.stats
            let started = DispatchTime.now().uptimeNanoseconds
            for _ in 0..<calls {
                _ = try teacher.predict(states: states, sigmas: sigmas, conditioning: conditioning, branches: [.cond])
            }
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
            let after = teacher.stats
            results.append(Row(transport: label, requests: calls, seconds: seconds,
                               megabytes: Double(2 * calls * rows * d * 4) / 1e6, serverSeconds: after.serverSeconds - before.serverSeconds))
        }
        var lines = ["remote teacher transport: \(rows) rows of \(shape) per request (\(String(format: "%.2f", Double(rows * shape.reduce(1, *) * 4) / 1e6)) MB of FP32 latents each way), model \(model) at \(url)"]
        lines.append("  transport      req/s      MB/s   overhead/call (ms)   server compute/call (ms)")
        for r in results {
            lines.append(String(format: "  %-12@ %7.2f  %8.1f   %18.2f   %24.2f", r.transport as NSString, r.requestsPerSecond,
                                r.megabytesPerSecond, r.overheadMilliseconds, r.serverSeconds / Double(r.requests) * 1000))
        }
        let binary = results[0], json = results[2]
        lines.append(String(format: "  binary / json: %.1fx requests/s, %.1fx MB/s", binary.requestsPerSecond / json.requestsPerSecond,
                            binary.megabytesPerSecond / json.megabytesPerSecond))
        return (results, lines)
    }
}
