import Foundation

/// Arm, clip and step ids a handle has checked against its study. Registrations are never
/// deleted, so a positive check never goes stale; this spares three lookups per written unit.
final class ValidatedKeys: @unchecked Sendable {
    private let lock = NSLock()
    private var arms = Set<ArmID>()
    private var clips = Set<ClipID>()
    private var steps = Set<Int>()

    func contains(_ key: UnitKey) -> Bool {
        lock.withLock { arms.contains(key.arm) && clips.contains(key.clip) && (key.step == gtStep || steps.contains(key.step)) }
    }
    func contains(arm: ArmID) -> Bool { lock.withLock { arms.contains(arm) } }
    func contains(clip: ClipID) -> Bool { lock.withLock { clips.contains(clip) } }
    func contains(step: Int) -> Bool { lock.withLock { steps.contains(step) } }

    func insert(_ key: UnitKey) {
        lock.withLock {
            arms.insert(key.arm)
            clips.insert(key.clip)
            if key.step != gtStep { steps.insert(key.step) }
        }
    }
}
