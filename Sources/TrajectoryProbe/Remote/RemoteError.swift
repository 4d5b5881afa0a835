/// Every way a remote teacher call can fail, each naming the URL. `description` is one line.
public enum RemoteError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The URL in the study file is not an http(s) URL.
    case invalidURL(String)
    /// No connection (refused, reset, DNS), after every retry.
    case unreachable(url: String, attempts: Int, reason: String)
    /// No answer within the timeout, after every retry.
    case timedOut(url: String, seconds: Double, attempts: Int)
    /// A 5xx answer, after every retry.
    case serverError(url: String, status: Int, message: String, attempts: Int)
    /// A 4xx answer: the request is wrong, so it is not retried.
    case rejected(url: String, status: Int, message: String)
    /// A 2xx answer that is not a valid inference response.
    case malformedResponse(url: String, problem: String)
    /// The server's declared model does not fit the probe (shapes, inputs, outputs, branches).
    case incompatibleModel(url: String, problem: String)

    public var description: String {
        switch self {
        case let .invalidURL(u):
            return "remote teacher: '\(u)' is not an http:// or https:// URL"
        case let .unreachable(url, attempts, reason):
            return "remote teacher \(url): unreachable after \(attempts) attempt\(attempts == 1 ? "" : "s") (\(reason))"
        case let .timedOut(url, seconds, attempts):
            return "remote teacher \(url): no answer within \(seconds) s (\(attempts) attempt\(attempts == 1 ? "" : "s")); raise teacher.timeout_s for slow models"
        case let .serverError(url, status, message, attempts):
            return "remote teacher \(url): HTTP \(status) after \(attempts) attempt\(attempts == 1 ? "" : "s"): \(message)"
        case let .rejected(url, status, message):
            return "remote teacher \(url): HTTP \(status) (request refused, not retried): \(message)"
        case let .malformedResponse(url, problem):
            return "remote teacher \(url): malformed response: \(problem)"
        case let .incompatibleModel(url, problem):
            return "remote teacher \(url): model does not fit the probe: \(problem)"
        }
    }

    /// Whether a failed attempt may succeed when tried again (connection trouble, timeouts, 5xx).
    var isRetryable: Bool {
        switch self {
        case .unreachable, .timedOut, .serverError: return true
        default: return false
        }
    }
}
