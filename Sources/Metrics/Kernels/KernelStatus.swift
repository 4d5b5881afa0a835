import Foundation

/// The status codes of the C kernel calls of one computation, gathered from the workers of a
/// `concurrentPerform` and read once they have all returned: 0 when every call returned 0,
/// otherwise the first non-zero code recorded.
final class _KernelStatus: @unchecked Sendable {
    private let lock = NSLock()
    private var _code: Int32 = 0
    var code: Int32 { lock.withLock { _code } }
    var failed: Bool { code != 0 }
    func record(_ code: Int32) {
        guard code != 0 else { return }
        lock.withLock { if _code == 0 { _code = code } }
    }
}
