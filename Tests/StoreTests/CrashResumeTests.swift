import Foundation
import Synthetic
import Testing
@testable import Store

/// The writer is our Store code in a child process (`StoreHarness crash-writer`), killed with
/// SIGKILL mid-stream: what survives must be whole units, and exactly the finished-unit list.
@Suite struct CrashResumeTests {
    static func harness() throws -> URL {
        let candidates = [Bundle.main.executableURL, URL(fileURLWithPath: CommandLine.arguments[0])].compactMap { $0 }
        for exe in candidates {
            var dir = exe.deletingLastPathComponent()
            for _ in 0..<4 {
                let url = dir.appendingPathComponent("StoreHarness")
                if FileManager.default.isExecutableFile(atPath: url.path) { return url }
                dir = dir.deletingLastPathComponent()
            }
        }
        throw StoreError.missing(path: "StoreHarness next to \(candidates.map(\.path))")
    }

    @Test func resumeAfterSIGKILL() throws {
        let dir = try TempDir()
        let url = dir.file("crash.sqlite")
        let process = Process()
        process.executableURL = try Self.harness()
        process.arguments = ["crash-writer", url.path]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        // Read committed-unit lines until enough units are in, then kill without warning.
        var buffer = Data()
        var reported = 0
        let handle = pipe.fileHandleForReading
        while reported < 400 {
            let chunk = handle.availableData
            if chunk.isEmpty { break }
            buffer.append(chunk)
            if let text = String(data: buffer, encoding: .utf8),
               let last = text.split(separator: "\n").last(where: { $0.hasPrefix("committed ") }),
               let n = Int(last.dropFirst("committed ".count)) {
                reported = n
            }
        }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        #expect(process.terminationReason == .uncaughtSignal)
        #expect(process.terminationStatus == SIGKILL)
        #expect(reported >= 400)
        // Everything the child printed before it died: its last line is its last reported commit.
        buffer.append(handle.readDataToEndOfFile())
        let lines = String(decoding: buffer, as: UTF8.self).split(separator: "\n").filter { $0.hasPrefix("committed ") }
        let lastReported = lines.last.flatMap { Int($0.dropFirst("committed ".count)) } ?? 0
        #expect(lastReported >= reported)

        let store = try StudyStore.open(at: url)
        let finished = try store.finishedUnits()
        let snap = try store.snapshot()
        // Exactly what the child reported, or one more: a unit committed before its line was printed.
        #expect(finished.count == lastReported || finished.count == lastReported + 1)
        // Every finished unit is whole and exact; no measurement lies outside a finished unit.
        var byUnit: [UnitKey: [MeasurementRow]] = [:]
        for m in snap.measurements { byUnit[UnitKey(clip: m.clip, arm: m.arm, step: m.step, seed: m.seed), default: []].append(m) }
        #expect(Set(byUnit.keys) == finished)
        let clipIndex = Dictionary(uniqueKeysWithValues: snap.clips.enumerated().map { ($1.id, Int($1.name.dropFirst(4))!) })
        let armIndex = Dictionary(uniqueKeysWithValues: snap.arms.map { arm in (arm.id, SyntheticStudy.arms.firstIndex(of: arm.spec)!) })
        var spatial = 0
        for (key, rows) in byUnit {
            let expected = SyntheticStudy.measurements(clip: clipIndex[key.clip]!, arm: armIndex[key.arm]!, step: key.step, seed: key.seed)
            #expect(rows.count == expected.count)
            for e in expected {
                let got = rows.first { $0.metric == e.metric && $0.region == e.region }
                #expect(got.map { $0.value.isNaN ? e.value.isNaN : $0.value == e.value } == true)
            }
            if armIndex[key.arm]! == 6 && key.step != gtStep { spatial += 1 }
        }
        let mapCount = try store.maps(arm: snap.arm(label: "spatial w=4.5")!.id).count
        #expect(spatial > 0)
        #expect(mapCount == spatial)
        // Resuming writes the rest without touching what is there: the next unit in order is new.
        let reg = SyntheticStudy.Registration(clips: snap.clips.map(\.id), arms: SyntheticStudy.arms.map { snap.arm(label: $0.label)!.id })
        let sample = finished.first!
        let again = SyntheticStudy.unit(reg, clip: clipIndex[sample.clip]!, arm: armIndex[sample.arm]!, step: sample.step, seed: sample.seed)
        #expect(try store.writeUnit(again) == .unchanged)
    }
}
