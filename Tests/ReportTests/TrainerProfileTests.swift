import Foundation
import Testing
import Yams
@testable import Report
import Store

/// Trainer profiles: the values each trainer's config holds, in Swift, and each file loaded by the
/// trainer's own loader in Python (tools/trainer_configs/check_profiles.py).
@Suite struct TrainerProfileTests {
    static let config = try! StudyReport(study: Planted.study(clips: 6)).studentConfig(form: .uncond, date: "2026-11-25")
    static let times = (try! ShiftedSchedule(numSteps: 50, shift: 5, maxT: 0.999))

    /// A searched three-step schedule (re-noise) and a one-step one, next to the two-step rule's.
    static var schedules: [(String, StudentSchedule)] {
        [("two_step", StudentSchedule(twoStep: config)),
         ("three_step", StudentSchedule(tList: [0.999, times.t(20), times.t(36), 0], guidance: [1, 4.5, 1], transition: .renoise, source: "search N=3")),
         ("one_step", StudentSchedule(tList: [0.999, 0], guidance: [4.5], transition: .euler, source: "search N=1"))]
    }

    @Test func warpedAndDirectStepsInvertTheShift() {
        // t_30 = 0.768935 = shift(u) at u = 0.3996: k = 400 warped, 769 direct; the first step is 1000.
        let t = [0.999, Self.times.t(30), Self.times.t(40), 0]
        #expect(TrainerProfile.warpedSteps(t, shift: 5) == [1000, 400, 200])
        #expect(TrainerProfile.directSteps(t) == [1000, 769, 555])
    }

    @Test func eachTargetWritesItsKeysScalesAndCFGForm() throws {
        let two = StudentSchedule(twoStep: Self.config)
        #expect(two.guidance == [1, 4.5] && two.transition == .euler && two.tList == Self.config.provenance.t_list_exact)
        func load(_ t: TrainerTarget) throws -> [String: Any] {
            try #require(try Yams.load(yaml: TrainerProfile(target: t, config: Self.config).yaml()) as? [String: Any])
        }
        // The planted study's rule lands at step L (t_L): the keys carry it in each trainer's scale.
        let tL = Self.config.provenance.t_list_exact[1], c = Self.config
        let lf = try #require(try load(.lipforcing)["model"] as? [String: Any])
        #expect(lf["guidance_scale"] as? Double == 4.5)
        #expect((lf["sync_window_cfg"] as? [String: Any])?["t_lo"] as? Double == c.sync_window_cfg.t_lo)
        #expect((lf["sample_t_cfg"] as? [String: Any])?["t_list"] as? [Double] == [0.999, (tL * 1000).rounded() / 1000, 0.0])
        #expect(lf["student_sample_type"] as? String == "ode" && lf["student_sample_steps"] as? Int == 2)
        let fg = try #require(try load(.fastgen)["model"] as? [String: Any])
        #expect(fg["sync_window_cfg"] == nil && fg["guidance_scale"] as? Double == 4.5)
        let sf = try load(.selfForcing)
        #expect(sf["denoising_step_list"] as? [Int] == [1000, Int((1000 * tL / (5 - 4 * tL)).rounded())] && sf["warp_denoising_step"] as? Bool == true)
        #expect(sf["guidance_scale"] as? Double == 3.5 && (sf["model_kwargs"] as? [String: Any])?["timestep_shift"] as? Double == 5)
        let cv = try load(.causvid)
        #expect(cv["denoising_step_list"] as? [Int] == [1000, Int((1000 * tL).rounded()), 0] && cv["real_guidance_scale"] as? Double == 3.5)
        let fv = try load(.fastvideo)
        #expect((fv["method"] as? [String: Any])?["real_score_guidance_scale"] as? Double == 4.5)
        #expect((fv["pipeline"] as? [String: Any])?["flow_shift"] as? Double == 5)
        // What a trainer has no key for is said, not dropped.
        #expect(TrainerProfile(target: .selfForcing, config: Self.config).yaml().contains("# lacks: Self-Forcing has no sync window"))
        #expect(TrainerProfile(target: .fastgen, config: Self.config).lacks.contains { $0.contains("sync_window_cfg") })
    }

    /// The trajprobe-native config as Python: one line per leaf, nesting kept (teacher_guidance
    /// .per_step and .interval_steps, provenance.…), values as the YAML has them.
    @Test func nativePythonKeepsEveryKeyAndNesting() throws {
        let yaml = try Self.config.yaml()
        let py = try PythonConfig.assignments(yaml: yaml, prefix: "config.model", file: "schedule.yaml")
        let lines = py.split(separator: "\n").map(String.init)
        let c = Self.config
        #expect(lines.contains("config.model.t_list = [\(c.t_list.map { ConfigLiteral.number($0) }.joined(separator: ", "))]"))
        #expect(lines.contains("config.model.sync_window_cfg.t_lo = \(ConfigLiteral.number(c.sync_window_cfg.t_lo))"))
        #expect(lines.contains("config.model.teacher_guidance.interval_steps = [\(c.teacher_guidance.interval_steps.map(String.init).joined(separator: ", "))]"))
        #expect(lines.contains { $0.hasPrefix("config.model.teacher_guidance.per_step = [1.0, ") })
        #expect(lines.contains("config.model.provenance.study = \"planted\""))
        // As many assignments as the YAML has leaves.
        func leaves(_ n: Node) -> Int { n.mapping.map { $0.values.map(leaves).reduce(0, +) } ?? 1 }
        let root = try #require(try Yams.compose(yaml: yaml))
        #expect(lines.filter { !$0.hasPrefix("#") }.count == leaves(root))
    }

    /// Every target's YAML and Python, for the two-step rule's schedule and two searched ones,
    /// loaded by the trainer's own loader (OmegaConf / PyYAML) and read back as its code does.
    @Test(.enabled(if: TrainerLoaders.enabled, "needs .venv with omegaconf and PyYAML (tools/make_venv.sh --server)"))
    func filesLoadInEachTrainersLoader() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("trajprobe-profiles-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        for target in TrainerTarget.allCases {
            for (name, schedule) in Self.schedules {
                let p = TrainerProfile(target: target, config: Self.config, schedule: schedule)
                let stem = "\(target.rawValue)_\(name)"
                try p.yaml().write(to: dir.appendingPathComponent("\(stem).yaml"), atomically: true, encoding: .utf8)
                try p.python().write(to: dir.appendingPathComponent("\(stem).py"), atomically: true, encoding: .utf8)
                let meant: [String: Any] = ["target": target.rawValue, "t_list": schedule.tList, "w": Self.config.guidance_scale,
                                            "transition": schedule.transition.rawValue, "shift": Self.config.sample_t_cfg.shift,
                                            "t_lo": Self.config.sync_window_cfg.t_lo, "t_hi": Self.config.sync_window_cfg.t_hi]
                try JSONSerialization.data(withJSONObject: meant).write(to: dir.appendingPathComponent("\(stem).json"))
            }
        }
        let (status, output) = try TrainerLoaders.run([TrainerLoaders.script, dir.path])
        #expect(status == 0, "\(output)")
        #expect(output.split(separator: "\n").filter { $0.hasPrefix("ok ") }.count == TrainerTarget.allCases.count * 3, "\(output)")
    }
}

/// The venv Python with the trainers' config loaders (`make test` installs them).
enum TrainerLoaders {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static var python: String { ProcessInfo.processInfo.environment["TRAJPROBE_PYTHON"] ?? root.appendingPathComponent(".venv/bin/python").path }
    static var script: String { root.appendingPathComponent("tools/trainer_configs/check_profiles.py").path }

    static func run(_ args: [String]) throws -> (Int32, String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: python)
        p.arguments = args
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// Skipped without the venv, unless TRAJPROBE_REQUIRE_SERVER=1 (`make test`, CI): then a
    /// missing loader fails the test instead.
    static let enabled: Bool = {
        if ProcessInfo.processInfo.environment["TRAJPROBE_REQUIRE_SERVER"] == "1" { return true }
        guard FileManager.default.isExecutableFile(atPath: python),
              let r = try? run(["-c", "import numpy, omegaconf, yaml"]), r.0 == 0 else {
            print("skipping trainer-loader tests: \(python) lacks numpy, omegaconf or PyYAML (run tools/make_venv.sh --server)")
            return false
        }
        return true
    }()
}
