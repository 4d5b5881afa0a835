import Foundation
import Store

/// The `ode_schedule.json` written next to imported prediction videos.
public struct ODESchedule: Sendable, Equatable {
    /// The sampler's times, decreasing within [0, 1]: `num_steps` or `num_steps + 1` values.
    public var tList: [Double]
    /// Sampling steps the videos were made with.
    public var numSteps: Int
    /// Timestep shift of the schedule, compared with trajprobe's own.
    public var shift: Double
    /// CFG scale the videos were made with.
    public var guidanceScale: Double

    /// The most steps an imported schedule may have: the probe's own limit, so a typo cannot
    /// allocate gigabytes of times.
    public static let maxSteps = ShiftedSchedule.maxSteps

    /// The four keys as JSON types: decoding into `Double` accepts `1`, `0`, `4` and `4.5` and
    /// refuses `true`. (JSONSerialization would not tell them apart on Linux: Foundation there
    /// bridges the numbers 0 and 1 to NSNumbers that `is Bool` matches.)
    private struct Keys: Decodable {
        var t_list: [Double]?
        var num_steps: Double?
        var shift: Double?
        var guidance_scale: Double?
    }

    /// Parses and checks the four required keys (other keys are the user's and are ignored).
    public static func load(_ url: URL) throws(ProbeError) -> ODESchedule {
        let data: Data
        do { data = try Data(contentsOf: url) } catch { throw .unreadable(file: url.path, reason: "cannot read: \(error.localizedDescription)") }
        return try parse(data, file: url.path)
    }

    /// Parses the file's bytes; `file` names it in errors.
    public static func parse(_ data: Data, file: String) throws(ProbeError) -> ODESchedule {
        let object: Any
        do { object = try JSONSerialization.jsonObject(with: data) } catch {
            throw .unreadable(file: file, reason: "not valid JSON: \(error.localizedDescription)")
        }
        guard let dict = object as? [String: Any] else { throw .invalidValue(file: file, key: "(root)", problem: "expected an object") }
        func number(_ k: String) throws(ProbeError) -> Double {
            guard let v = dict[k] else { throw .missingKey(file: file, key: k) }
            guard let n = v as? NSNumber, !isJSONBool(v), n.doubleValue.isFinite else {
                throw .invalidValue(file: file, key: k, problem: "expected a number")
            }
            return n.doubleValue
        }
        guard let rawList = dict["t_list"] else { throw .missingKey(file: file, key: "t_list") }
        guard let list = rawList as? [NSNumber], list.count == (rawList as? [Any])?.count, !list.contains(where: { isJSONBool($0) }) else {
            throw .invalidValue(file: file, key: "t_list", problem: "expected a list of numbers")
        }
        let steps = try number("num_steps")
        guard steps == steps.rounded(), steps >= 1, steps <= Double(ShiftedSchedule.maxSteps) else {
            throw .invalidValue(file: file, key: "num_steps", problem: "expected an integer in 1...\(ShiftedSchedule.maxSteps)")
        }
        let s = ODESchedule(tList: list.map(\.doubleValue), numSteps: Int(steps), shift: try number("shift"),
                            guidanceScale: try number("guidance_scale"))
        guard s.tList.count == s.numSteps || s.tList.count == s.numSteps + 1 else {
            throw .invalidValue(file: file, key: "t_list", problem: "\(s.tList.count) times for num_steps \(s.numSteps)")
        }
        guard zip(s.tList, s.tList.dropFirst()).allSatisfy({ $0 > $1 }), s.tList.allSatisfy({ $0 >= 0 && $0 <= 1 }) else {
            throw .invalidValue(file: file, key: "t_list", problem: "times must decrease within [0, 1]")
        }
        return s
    }

    /// Largest difference between `t_list` and the schedule trajprobe computes for the same
    /// `num_steps` and `shift` (over the shared length).
    public func deviation(from schedule: ShiftedSchedule) -> Double {
        zip(tList, schedule.times).map { abs($0 - $1) }.max() ?? 0
    }
}

/// Prediction videos the user produced with the real teacher, one directory per arm:
/// `<arm>/ode_schedule.json` and `<arm>/videos/<sample>/{gt,step_XXX}.mp4` (XXX zero-padded to
/// three digits). ``scan(root:steps:)`` checks completeness before any decoding so a study never
/// starts on a layout that would fail half-way.
public struct ImportedLayout: Sendable, Equatable {
    /// One arm directory: its schedule and the samples it holds.
    public struct Arm: Sendable, Equatable {
        /// Directory name: the arm's name as the user wrote it.
        public var name: String
        /// Path of the arm directory.
        public var directory: String
        /// The arm's parsed `ode_schedule.json`.
        public var schedule: ODESchedule
        /// Sample names, sorted.
        public var samples: [String]

        /// `videos/<sample>/gt.mp4`.
        public func groundTruth(sample: String) -> String { "\(directory)/videos/\(sample)/gt.mp4" }
        /// `videos/<sample>/step_XXX.mp4`.
        public func prediction(sample: String, step: Int) -> String {
            "\(directory)/videos/\(sample)/" + ImportedLayout.stepFile(step)
        }
    }

    /// The directory that was scanned.
    public var root: String
    /// The arms found, each complete.
    public var arms: [Arm]
    /// Steps every arm and sample provides.
    public var steps: [Int]

    /// The file name of step `j`'s prediction video (`step_XXX.mp4`).
    package static func stepFile(_ j: Int) -> String {
        let s = String(j)
        return "step_" + String(repeating: "0", count: max(0, 3 - s.count)) + s + ".mp4"
    }

    /// Scans `root` (one arm directory, or a directory of arm directories) and refuses it,
    /// naming every missing file, unless every arm has a valid `ode_schedule.json` and every
    /// sample of every arm has `gt.mp4` and a prediction for each of `steps` (default: all
    /// `0..<num_steps`). All arms must list the same samples.
    public static func scan(root: String, steps requested: [Int]? = nil) throws(ProbeError) -> ImportedLayout {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: root, isDirectory: &isDir), isDir.boolValue else {
            throw .incompleteImport(directory: root, missing: [root])
        }
        func subdirectories(_ path: String) -> [String] {
            ((try? fm.contentsOfDirectory(atPath: path)) ?? []).filter {
                var d: ObjCBool = false
                return !$0.hasPrefix(".") && fm.fileExists(atPath: "\(path)/\($0)", isDirectory: &d) && d.boolValue
            }.sorted()
        }
        let armDirs: [String]
        if fm.fileExists(atPath: "\(root)/ode_schedule.json") || fm.fileExists(atPath: "\(root)/videos") {
            armDirs = [root]
        } else {
            armDirs = subdirectories(root).map { "\(root)/\($0)" }
        }
        guard !armDirs.isEmpty else { throw .incompleteImport(directory: root, missing: ["<arm>/ode_schedule.json", "<arm>/videos/"]) }

        var missing: [String] = []
        var arms: [Arm] = []
        var allSamples = Set<String>()
        for dir in armDirs {
            let name = URL(fileURLWithPath: dir).lastPathComponent
            let schedulePath = "\(dir)/ode_schedule.json"
            guard fm.fileExists(atPath: schedulePath) else { missing.append(schedulePath); continue }
            let schedule = try ODESchedule.load(URL(fileURLWithPath: schedulePath))
            let samples = subdirectories("\(dir)/videos")
            if samples.isEmpty { missing.append("\(dir)/videos/<sample>/") }
            allSamples.formUnion(samples)
            arms.append(Arm(name: name, directory: dir, schedule: schedule, samples: samples))
        }
        let steps = requested ?? Array(0..<(arms.map(\.schedule.numSteps).max() ?? 0))
        for arm in arms {
            for j in steps where j < 0 || j >= arm.schedule.numSteps {
                throw .invalidValue(file: "\(arm.directory)/ode_schedule.json", key: "num_steps",
                                    problem: "step \(j) requested but the arm has \(arm.schedule.numSteps) steps")
            }
            for sample in allSamples.sorted() {
                guard arm.samples.contains(sample) else { missing.append("\(arm.directory)/videos/\(sample)/"); continue }
                let gt = arm.groundTruth(sample: sample)
                if !fm.fileExists(atPath: gt) { missing.append(gt) }
                for j in steps {
                    let p = arm.prediction(sample: sample, step: j)
                    if !fm.fileExists(atPath: p) { missing.append(p) }
                }
            }
        }
        guard missing.isEmpty else {
            // Only step predictions missing: say which steps every sample has.
            let predictions = missing.allSatisfy { URL(fileURLWithPath: $0).lastPathComponent.hasPrefix("step_") }
            if predictions && !arms.isEmpty {
                let complete = (0..<(arms.map(\.schedule.numSteps).min() ?? 0)).filter { j in
                    arms.allSatisfy { arm in allSamples.allSatisfy { fm.fileExists(atPath: arm.prediction(sample: $0, step: j)) } }
                }
                throw .missingSteps(directory: root, missing: missing, complete: complete)
            }
            throw .incompleteImport(directory: root, missing: missing)
        }
        return ImportedLayout(root: root, arms: arms, steps: steps)
    }
}
