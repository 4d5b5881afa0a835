import Foundation
import Support

/// The status codes of the C kernel calls of one computation, gathered from the workers of a
/// `concurrentPerform` and read once they have all returned: 0 when every call returned 0,
/// otherwise the first non-zero code recorded.
final class _KernelStatus: Sendable {
    private let first = Locked<Int32>(0)
    var code: Int32 { first.snapshot }
    var failed: Bool { code != 0 }
    func record(_ code: Int32) {
        guard code != 0 else { return }
        first.withLock { if $0 == 0 { $0 = code } }
    }
}
