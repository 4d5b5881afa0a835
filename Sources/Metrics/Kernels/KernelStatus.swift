import Foundation

/// Set by any worker whose C kernel call failed (bad sizes, scratch allocation), read once all
/// workers of a `concurrentPerform` have returned.
final class _KernelStatus: @unchecked Sendable {
    private let lock = NSLock()
    private var _failed = false
    var failed: Bool { lock.withLock { _failed } }
    func fail() { lock.withLock { _failed = true } }
}
