import Foundation

/// A value behind a lock: trajprobe's one lock type, for the few places that share mutable
/// state between threads (progress counters, result slots filled by worker threads, caches).
///
/// A class, so every holder shares the one value; `@unchecked Sendable` because every access
/// goes through ``withLock(_:)``. Not reentrant: `body` must not touch the same instance.
public final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    /// A lock around `value`.
    public init(_ value: Value) { self.value = value }

    /// Runs `body` with exclusive access to the value and returns what it returns.
    public func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }

    /// A copy of the value as it is now.
    public var snapshot: Value { withLock { $0 } }
}
