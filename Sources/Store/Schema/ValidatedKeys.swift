import Foundation
import Support

/// Arm, clip and step ids a handle has checked against its study. Registrations are never
/// deleted, so a positive check never goes stale; this spares three lookups per written unit.
final class ValidatedKeys: Sendable {
    private let ids = Locked((arms: Set<ArmID>(), clips: Set<ClipID>(), steps: Set<Int>()))

    func contains(_ key: UnitKey) -> Bool {
        ids.withLock { $0.arms.contains(key.arm) && $0.clips.contains(key.clip) && (key.step == gtStep || $0.steps.contains(key.step)) }
    }
    func contains(arm: ArmID) -> Bool { ids.withLock { $0.arms.contains(arm) } }
    func contains(clip: ClipID) -> Bool { ids.withLock { $0.clips.contains(clip) } }
    func contains(step: Int) -> Bool { ids.withLock { $0.steps.contains(step) } }

    func insert(_ key: UnitKey) {
        ids.withLock {
            $0.arms.insert(key.arm)
            $0.clips.insert(key.clip)
            if key.step != gtStep { $0.steps.insert(key.step) }
        }
    }
}
