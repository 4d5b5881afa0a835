import Foundation
import Testing
@testable import Store

/// A fresh directory per test, removed when the value goes away.
final class TempDir {
    let url: URL
    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("trajprobe-store-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }
    func file(_ name: String) -> URL { url.appendingPathComponent(name) }
    deinit { try? FileManager.default.removeItem(at: url) }
}

/// A study's content by names and labels (ids differ between files), for comparing studies
/// written in different ways.
struct CanonicalStudy: Equatable {
    struct Key: Hashable, Comparable {
        var clip: String, arm: String, step: Int, seed: Int, metric: String, region: String
        static func < (a: Key, b: Key) -> Bool {
            (a.arm, a.step, a.clip, a.seed, a.metric, a.region) < (b.arm, b.step, b.clip, b.seed, b.metric, b.region)
        }
    }
    var config: StudyRecord
    var clips: [ClipSpec]
    var arms: [String]
    var baselines: [String: Bool]
    var steps: [Step]
    var values: [Key: UInt64]
    var failed: [String]
    var maps: [String: [Float]]

    init(_ store: StudyStore) throws {
        let s = try store.snapshot()
        config = s.run.config
        clips = s.clips.map(\.spec).sorted { $0.name < $1.name }
        arms = s.arms.map(\.label).sorted()
        baselines = Dictionary(uniqueKeysWithValues: s.arms.map { ($0.label, $0.isBaseline) })
        steps = s.steps
        var v: [Key: UInt64] = [:]
        for m in s.measurements {
            v[Key(clip: s.clip(m.clip)!.name, arm: s.arm(m.arm)!.label, step: m.step, seed: m.seed, metric: m.metric, region: m.region)] =
                m.value.isNaN ? Double.nan.bitPattern : m.value.bitPattern
        }
        values = v
        failed = s.failedUnits.map { "\(s.clip($0.key.clip)!.name) \(s.arm($0.key.arm)!.label) \($0.key.step) \($0.key.seed): \($0.reason)" }.sorted()
        var maps: [String: [Float]] = [:]
        for arm in s.arms {
            for m in try store.maps(arm: arm.id) {
                maps["\(s.clip(m.key.clip)!.name) \(arm.label) \(m.key.step) \(m.key.seed) \(m.map.name) \(m.map.shape)"] = m.map.values
            }
        }
        self.maps = maps
    }
}

func expectStoreError(_ body: () throws -> Void, _ check: (StoreError) -> Bool, sourceLocation: SourceLocation = #_sourceLocation) {
    do {
        try body()
        Issue.record("expected a StoreError, nothing was thrown", sourceLocation: sourceLocation)
    } catch let error as StoreError {
        #expect(check(error), "unexpected error: \(error)", sourceLocation: sourceLocation)
    } catch {
        Issue.record("expected a StoreError, got \(error)", sourceLocation: sourceLocation)
    }
}
