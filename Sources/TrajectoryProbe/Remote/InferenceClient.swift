import Dispatch
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
import Support
#endif

/// How failed attempts are repeated: connection errors, timeouts and 5xx answers are retried
/// with exponential backoff (`base · 2^(k-1)`, capped); 4xx answers and malformed bodies are not.
public struct RetryPolicy: Sendable, Equatable {
    /// Retries after the first attempt.
    public var retries: Int
    /// Seconds before the first retry; each later retry waits twice as long.
    public var baseDelay: Double
    /// Upper bound on one wait, in seconds, however many retries came before.
    public var maxDelay: Double

    /// Four retries, 0.5 s doubling up to 10 s: rides out a server restart without stalling a study.
    public init(retries: Int = 4, baseDelay: Double = 0.5, maxDelay: Double = 10) {
        self.retries = retries
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
    }

    /// Seconds to wait before retry `k` (1-based).
    public func delay(beforeRetry k: Int) -> Double { min(baseDelay * pow(2, Double(k - 1)), maxDelay) }
}

/// Counters of one client, for the benchmark and the probe summary.
public struct TransportStats: Sendable, Equatable {
    /// HTTP attempts that did not time out, GETs and failed ones included.
    public var requests = 0
    /// Attempts repeated after a retryable failure.
    public var retries = 0
    /// Request body bytes sent by those attempts.
    public var bytesSent = 0
    /// Response body bytes received by those attempts.
    public var bytesReceived = 0
    /// Wall-clock seconds inside successful infer calls, and the servers' own compute time of them.
    public var clientSeconds = 0.0
    /// The servers' own compute time of those calls (`compute_ms`), when they report it.
    public var serverSeconds = 0.0
}

/// A blocking client of the Open Inference Protocol's REST API (KServe v2) on FoundationNetworking.
///
/// Blocking on purpose: ``Teacher/predict(states:sigmas:conditioning:branches:)`` is synchronous
/// and the probe runs its lanes on their own threads, so each lane simply waits for its answer.
/// FoundationNetworking (libcurl underneath) ships with the Swift toolchain on Linux, keeps
/// connections alive per host, and adds no package to the build; the protocol needs nothing else.
public final class InferenceClient: @unchecked Sendable {
    /// Server root without a trailing slash; request paths such as `/v2/models/m` are appended.
    public let baseURL: URL
    /// Seconds one request may take before it fails (and is retried).
    public let timeout: Double
    /// How failed requests are retried.
    public let retry: RetryPolicy
    private let session: URLSession
    private let counters = Locked(TransportStats())

    // MARK: - Connecting

    /// Accepts only http(s) URLs with a host; `maxConnections` caps the connections kept per host.
    public init(url: String, timeout: Double, retry: RetryPolicy = RetryPolicy(), maxConnections: Int = 8) throws(RemoteError) {
        guard let u = URL(string: url.hasSuffix("/") ? String(url.dropLast()) : url), let scheme = u.scheme?.lowercased(),
              scheme == "http" || scheme == "https", u.host != nil else { throw .invalidURL(url) }
        baseURL = u
        self.timeout = timeout
        self.retry = retry
        let config = URLSessionConfiguration.ephemeral
        config.httpMaximumConnectionsPerHost = max(1, maxConnections)
        config.timeoutIntervalForRequest = timeout
        config.timeoutIntervalForResource = timeout
        config.requestCachePolicy = .reloadIgnoringLocalCacheData
        session = URLSession(configuration: config)
    }

    deinit { session.invalidateAndCancel() }

    /// A snapshot of the counters so far (thread-safe).
    public var stats: TransportStats { counters.snapshot }

    // MARK: - Requests

    /// `GET path` as JSON, with retries.
    public func getJSON(_ path: String) throws(RemoteError) -> [String: Any] {
        let (body, _) = try send(path: path, method: "GET", body: nil, headerLength: nil)
        guard let object = try? JSONSerialization.jsonObject(with: body), let dict = object as? [String: Any] else {
            throw .malformedResponse(url: url(path), problem: "GET answer is not a JSON object")
        }
        return dict
    }

    /// `POST /v2/models/{model}/infer`, with retries.
    public func infer(model: String, _ request: InferenceRequest) throws(RemoteError) -> InferenceResponse {
        let path = "/v2/models/\(model)/infer"
        let (body, headerLength) = request.encoded()
        let started = DispatchTime.now().uptimeNanoseconds
        let (answer, answerHeader) = try send(path: path, method: "POST", body: body, headerLength: headerLength)
        let response = try InferenceResponse.decode(answer, headerLength: answerHeader, url: url(path))
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
        counters.withLock {
            $0.clientSeconds += seconds
            $0.serverSeconds += (response.computeMilliseconds ?? 0) / 1000
        }
        return response
    }

    // MARK: - Transport and retries

    func url(_ path: String) -> String { baseURL.absoluteString + path }

    /// One request with the retry policy; returns the body and its `Inference-Header-Content-Length`.
    func send(path: String, method: String, body: Data?, headerLength: Int?) throws(RemoteError) -> (Data, Int?) {
        var attempt = 0
        while true {
            attempt += 1
            do {
                return try sendOnce(path: path, method: method, body: body, headerLength: headerLength, attempt: attempt)
            } catch {
                guard error.isRetryable, attempt <= retry.retries else { throw error }
                counters.withLock { $0.retries += 1 }
                Thread.sleep(forTimeInterval: retry.delay(beforeRetry: attempt))
            }
        }
    }

    private func sendOnce(path: String, method: String, body: Data?, headerLength: Int?, attempt: Int) throws(RemoteError) -> (Data, Int?) {
        let full = url(path)
        var request = URLRequest(url: URL(string: full)!)
        request.httpMethod = method
        request.timeoutInterval = timeout
        if let body {
            request.httpBody = body
            request.setValue(headerLength == nil ? "application/json" : "application/octet-stream", forHTTPHeaderField: "Content-Type")
            if let headerLength { request.setValue(String(headerLength), forHTTPHeaderField: "Inference-Header-Content-Length") }
        }
        final class Box: @unchecked Sendable { var data: Data?; var response: URLResponse?; var error: Error? }
        let box = Box()
        let done = DispatchSemaphore(value: 0)
        let task = session.dataTask(with: request) { data, response, error in
            box.data = data; box.response = response; box.error = error
            done.signal()
        }
        task.resume()
        // libcurl's own timeout is the first line; this one also bounds a stalled transfer.
        if done.wait(timeout: .now() + timeout + 0.5) == .timedOut {
            task.cancel()
            _ = done.wait(timeout: .now() + 2)
            throw .timedOut(url: full, seconds: timeout, attempts: attempt)
        }
        counters.withLock {
            $0.requests += 1
            $0.bytesSent += body?.count ?? 0
            $0.bytesReceived += box.data?.count ?? 0
        }
        if let error = box.error {
            let code = (error as? URLError)?.code
            if code == .timedOut { throw .timedOut(url: full, seconds: timeout, attempts: attempt) }
            let text = (error as NSError).userInfo[NSLocalizedDescriptionKey] as? String ?? "\(error)"
            throw .unreachable(url: full, attempts: attempt, reason: text)
        }
        guard let http = box.response as? HTTPURLResponse else {
            throw .unreachable(url: full, attempts: attempt, reason: "no HTTP response")
        }
        let data = box.data ?? Data()
        switch http.statusCode {
        case 200..<300:
            let header = http.value(forHTTPHeaderField: "Inference-Header-Content-Length").flatMap { Int($0) }
            return (data, header)
        case 500..<600:
            throw .serverError(url: full, status: http.statusCode, message: InferenceClient.message(data), attempts: attempt)
        default:
            throw .rejected(url: full, status: http.statusCode, message: InferenceClient.message(data))
        }
    }

    // MARK: - Error messages

    /// The server's `{"error": …}` text, else one line about the body: an HTML page (a proxy's
    /// or a web server's 404) by its title, anything else by its first 120 characters with
    /// whitespace and control characters folded, so that an error stays one line.
    package static func message(_ data: Data) -> String {
        if let o = try? JSONSerialization.jsonObject(with: data) as? [String: Any], let e = o["error"] as? String { return oneLine(e, limit: 300) }
        let text = String(decoding: data.prefix(4096), as: UTF8.self)
        let lower = text.lowercased()
        if lower.contains("<html") || lower.contains("<!doctype html") {
            var title = ""
            if let open = lower.range(of: "<title>"), let close = lower.range(of: "</title>", range: open.upperBound..<lower.endIndex) {
                title = oneLine(String(text[open.upperBound..<close.lowerBound]), limit: 120)
            }
            return "an HTML page (\(data.count) bytes\(title.isEmpty ? "" : ", title '\(title)'")), not the inference protocol's JSON: check the URL"
        }
        let line = oneLine(text, limit: 120)
        return line.isEmpty ? "(empty body)" : line
    }

    /// `text` on one line: runs of whitespace and control characters become one space, cut to
    /// `limit` characters with an ellipsis.
    static func oneLine(_ text: String, limit: Int) -> String {
        var out = "", pendingSpace = false
        for c in text {
            if c.isWhitespace || c.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) {
                pendingSpace = !out.isEmpty
                continue
            }
            if pendingSpace { out.append(" "); pendingSpace = false }
            out.append(c)
            if out.count > limit { return String(out.prefix(limit)) + "…" }
        }
        return out
    }
}
