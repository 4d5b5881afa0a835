import Foundation
import Measurement
import Store
import Testing

/// The layout of imported prediction videos (`import videos`): scanned and checked before any
/// work, every missing file named, the schedule JSON read with its number types.
struct ImportedLayoutTests {
    func makeLayout(steps: Int = 3, samples: [String] = ["s1", "s2"], arms: [String] = ["cfg", "nocfg"]) throws -> URL {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("trajprobe-import-\(UUID().uuidString)")
        for arm in arms {
            let dir = root.appendingPathComponent(arm)
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            let schedule = try ShiftedSchedule(numSteps: steps, shift: 5, maxT: 0.999)
            let json = "{\"t_list\": [\(schedule.times.map { "\($0)" }.joined(separator: ", "))], \"num_steps\": \(steps), \"shift\": 5.0, \"guidance_scale\": 4.5, \"note\": \"x\"}"
            try json.write(to: dir.appendingPathComponent("ode_schedule.json"), atomically: true, encoding: .utf8)
            for s in samples {
                let v = dir.appendingPathComponent("videos/\(s)")
                try FileManager.default.createDirectory(at: v, withIntermediateDirectories: true)
                for name in ["gt.mp4"] + (0..<steps).map(ImportedLayout.stepFile) {
                    try Data([0]).write(to: v.appendingPathComponent(name))
                }
            }
        }
        return root
    }

    @Test func completeLayoutScans() throws {
        let root = try makeLayout()
        defer { try? FileManager.default.removeItem(at: root) }
        let layout = try ImportedLayout.scan(root: root.path)
        #expect(layout.arms.map(\.name) == ["cfg", "nocfg"])
        #expect(layout.steps == [0, 1, 2])
        #expect(layout.arms[0].samples == ["s1", "s2"])
        #expect(layout.arms[0].schedule.guidanceScale == 4.5)
        #expect(layout.arms[0].schedule.deviation(from: try ShiftedSchedule(numSteps: 3, shift: 5, maxT: 0.999)) < 1e-12)
        #expect(layout.arms[1].prediction(sample: "s2", step: 2).hasSuffix("nocfg/videos/s2/step_002.mp4"))
    }

    @Test func missingFilesAreNamedBeforeWork() throws {
        let root = try makeLayout()
        defer { try? FileManager.default.removeItem(at: root) }
        try FileManager.default.removeItem(at: root.appendingPathComponent("cfg/videos/s2/step_001.mp4"))
        try FileManager.default.removeItem(at: root.appendingPathComponent("nocfg/videos/s1/gt.mp4"))
        do {
            _ = try ImportedLayout.scan(root: root.path)
            Issue.record("accepted an incomplete layout")
        } catch {
            guard case let .incompleteImport(_, missing) = error else { Issue.record("\(error)"); return }
            #expect(missing.count == 2)
            #expect(missing.contains { $0.hasSuffix("cfg/videos/s2/step_001.mp4") })
            #expect(missing.contains { $0.hasSuffix("nocfg/videos/s1/gt.mp4") })
        }
        // A subset that avoids the missing step still needs gt.
        #expect(throws: ProbeError.self) { try ImportedLayout.scan(root: root.path, steps: [0, 2]) }
    }

    @Test func badScheduleJSONIsRefused() throws {
        let root = try makeLayout(arms: ["only"])
        defer { try? FileManager.default.removeItem(at: root) }
        let path = root.appendingPathComponent("only/ode_schedule.json")
        try "{\"t_list\": [0.9, 0.5], \"num_steps\": 3, \"shift\": 5, \"guidance_scale\": 4.5}".write(to: path, atomically: true, encoding: .utf8)
        #expect(throws: ProbeError.invalidValue(file: path.path, key: "t_list", problem: "2 times for num_steps 3")) {
            try ImportedLayout.scan(root: root.path)
        }
        try "{\"t_list\": [0.9, 0.5, 0.1], \"num_steps\": 3, \"shift\": 5}".write(to: path, atomically: true, encoding: .utf8)
        #expect(throws: ProbeError.missingKey(file: path.path, key: "guidance_scale")) { try ImportedLayout.scan(root: root.path) }
        try "{\"t_list\": [0.9, 0.5, 0.1], \"num_steps\": 3, \"shift\": 5, \"guidance_scale\": true}".write(to: path, atomically: true, encoding: .utf8)
        #expect(throws: ProbeError.invalidValue(file: path.path, key: "guidance_scale", problem: "expected a number")) { try ImportedLayout.scan(root: root.path) }
        try "{\"t_list\": [0.9, 0.5, false], \"num_steps\": 3, \"shift\": 5, \"guidance_scale\": 1}".write(to: path, atomically: true, encoding: .utf8)
        #expect(throws: ProbeError.invalidValue(file: path.path, key: "t_list", problem: "expected a list of numbers")) { try ImportedLayout.scan(root: root.path) }
    }

    /// On Linux, JSONSerialization bridges the numbers 0 and 1 to NSNumbers that `is Bool`
    /// matches: no-CFG runs (`guidance_scale: 1`) and integers must still read as numbers.
    @Test(arguments: ["1", "0", "4", "1.0", "4.5", "1e0"])
    func integralAndUnitGuidanceScalesAreNumbers(text: String) throws {
        let root = try makeLayout(arms: ["only"])
        defer { try? FileManager.default.removeItem(at: root) }
        let path = root.appendingPathComponent("only/ode_schedule.json")
        try "{\"t_list\": [1, 0.5, 0], \"num_steps\": 3, \"shift\": 1, \"guidance_scale\": \(text)}".write(to: path, atomically: true, encoding: .utf8)
        let schedule = try ODESchedule.load(path)
        #expect(schedule.guidanceScale == Double(text)!)
        #expect(schedule.tList == [1, 0.5, 0])
        #expect(schedule.shift == 1)
    }

    @Test func missingStepsSuggestTheStepsEverySampleHas() throws {
        let root = try makeLayout(steps: 4)
        defer { try? FileManager.default.removeItem(at: root) }
        try FileManager.default.removeItem(at: root.appendingPathComponent("cfg/videos/s2/step_001.mp4"))
        try FileManager.default.removeItem(at: root.appendingPathComponent("nocfg/videos/s1/step_003.mp4"))
        do {
            _ = try ImportedLayout.scan(root: root.path)
            Issue.record("accepted a layout with missing steps")
        } catch {
            guard case let .missingSteps(_, missing, complete) = error else { Issue.record("\(error)"); return }
            #expect(missing.count == 2)
            #expect(complete == [0, 2])
            #expect(error.description.hasSuffix("every sample has steps 0,2: import those with --steps 0,2"))
        }
        #expect(try ImportedLayout.scan(root: root.path, steps: [0, 2]).steps == [0, 2])
    }
}
