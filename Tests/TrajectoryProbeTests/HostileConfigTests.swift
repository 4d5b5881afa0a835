import Foundation
import Measurement
import Testing
import Store
@testable import TrajectoryProbe

/// Issue 16's configuration and wire repros (D2, D3, D5, D11, remote decoding): each hostile
/// value is refused at parse time with the exact one-line error naming the file and the key.
@Suite struct HostileConfigTests {
    let base = URL(fileURLWithPath: "/data/study")
    static let head = "clips: [{id: a, video: v.mp4, identity: i, box: \"1,1,2,2\"}]\narms: [\"fresh_noise w=1\", \"fresh_noise w=2\"]\n"

    func error(_ extra: String, teacher: String = "teacher: {bank: b}\n") -> String? {
        do {
            _ = try ProbeStudyFile.parse(text: Self.head + teacher + extra, file: "s.yaml", baseDirectory: base)
            return nil
        } catch {
            return error.description
        }
    }

    @Test(arguments: [
        // D2
        ("steps: {num_steps: 9223372036854775807}\n", "s.yaml: key 'steps.num_steps': must lie in 1...10000, got 9223372036854775807"),
        ("steps: {num_steps: 1000000000}\n", "s.yaml: key 'steps.num_steps': must lie in 1...10000, got 1000000000"),
        ("steps: {num_steps: 0}\n", "s.yaml: key 'steps.num_steps': must lie in 1...10000, got 0"),
        ("steps: {num_steps: 99999999999999999999}\n", "s.yaml: key 'steps.num_steps': expected an integer, got '99999999999999999999' (line 4)"),
        // D5
        ("sync: {model: syncnet-v2, weights: /dev/null, preset: syncnet_pyton}\n",
         "s.yaml: key 'sync.preset': 'syncnet_pyton' is not one of syncnet_python, syncnet_python-jpeg, lipforcing-reward"),
        ("sync: {model: facesync-cca, preset: lipforcing-reward}\n",
         "s.yaml: key 'sync.preset': presets are SyncNet-v2 preprocessing (sync.model syncnet-v2); facesync-cca has its own fixed settings"),
        ("sync: {model: facesync-cca, weights: /dev/null}\n",
         "s.yaml: key 'sync.weights': weights are for sync.model syncnet-v2 (facesync-cca is fitted on the bank)"),
        // D11
        ("steps: {num_steps: 50, subset: []}\n",
         "s.yaml: key 'steps.subset': empty list: name at least one step, or leave subset out to probe every step"),
        ("lpips: {weights: /nonexistent/alex.safetensors}\nmetrics: [mse, ssim]\n",
         "s.yaml: key 'lpips.weights': no such file: /nonexistent/alex.safetensors"),
        ("sync: {model: syncnet-v2, weights: /nonexistent/syncnet.safetensors}\n",
         "s.yaml: key 'sync.weights': no such file: /nonexistent/syncnet.safetensors"),
    ])
    func hostileValuesAreRefusedAtParseTime(extra: String, message: String) {
        #expect(error(extra) == message)
    }

    @Test(arguments: [
        ("teacher: {bank: b, resolution: 100000}\n", "s.yaml: key 'teacher.resolution': must lie in 4...4096, got 100000"),
        ("teacher: {bank: b, working_space: pca, pca_components: 1000000000}\n",
         "s.yaml: key 'teacher.pca_components': must lie in 1...4096, got 1000000000"),
        ("teacher: {kind: remote, url: 'http://h', model: m, timeout_s: 1e300}\n",
         "s.yaml: key 'teacher.timeout_s': must lie in (0, 86400] seconds, got 1e+300"),
        ("teacher: {kind: remote, url: 'http://h', model: m, concurrency: 100000}\n",
         "s.yaml: key 'teacher.concurrency': must lie in 1...256 (a thread each), got 100000"),
        ("teacher: {kind: remote, url: 'http://h', model: m, max_batch: 9223372036854775807}\n",
         "s.yaml: key 'teacher.max_batch': must lie in 1...65536, got 9223372036854775807"),
        ("teacher: {kind: remote, url: 'http://h', model: m, retries: 1000000}\n",
         "s.yaml: key 'teacher.retries': must lie in 0...100, got 1000000"),
    ])
    func teacherLimitsAreStated(teacher: String, message: String) {
        #expect(error("", teacher: teacher) == message)
    }

    @Test func limitsAreInclusiveAndNullsAreAbsent() throws {
        let c = try ProbeStudyFile.parse(text: Self.head + "teacher: {bank: b, resolution: 4096}\nsteps: {num_steps: 10000, subset: [0, 9999]}\n"
                                      + "sync: {model: facesync-cca, weights: null, preset: ~}\n", file: "s.yaml", baseDirectory: base)
        #expect(c.teacher.resolution == 4096 && c.steps.numSteps == 10_000 && c.steps.subset == [0, 9999])
        #expect(c.sync.weights == nil && c.sync.preset == nil)
        #expect(throws: ScheduleError("num_steps must lie in 1...10000, got 9223372036854775807")) {
            try ShiftedSchedule(numSteps: Int.max, shift: 5, maxT: 0.999)
        }
        var flags = c
        #expect(throws: ProbeError.invalidValue(file: "--resolution", key: "100000", problem: "must lie in 4...4096")) {
            try flags.override(resolution: 100_000)
        }
    }

    @Test func yamlSyntaxErrorsStayOneLine() {
        do {
            _ = try ProbeStudyFile.parse(text: "arms: [a, b\n  c: {\n", file: "s.yaml", baseDirectory: base)
            Issue.record("accepted broken YAML")
        } catch {
            #expect(!error.description.contains("\n") && error.description.hasPrefix("s.yaml: not valid YAML: "), "\(error)")
        }
    }

    @Test func configurationFilesMustBeRegularFiles() {
        // `/dev/zero` would be read forever; a directory is not a manifest.
        #expect(throws: ProbeError.unreadable(file: "/dev/zero", reason: "not a regular file")) {
            try ProbeStudyFile.parse(text: "probe_set: /dev/zero\narms: [\"fresh_noise w=1\"]\nteacher: {bank: b}\n", file: "s.yaml", baseDirectory: base)
        }
        #expect(throws: ProbeError.unreadable(file: "/tmp", reason: "not a regular file")) { try ProbeStudyFile.load(URL(fileURLWithPath: "/tmp")) }
        #expect(throws: ProbeError.unreadable(file: "/nonexistent.yaml", reason: "cannot read: no such file")) {
            try ProbeStudyFile.load(URL(fileURLWithPath: "/nonexistent.yaml"))
        }
    }

    @Test func scheduledCFGWithAHugeTauIsAnError() {
        #expect(error("", teacher: "teacher: {bank: b}\narms2: 0\n")?.contains("unknown key 'arms2'") == true)
        let text = "clips: [{id: a, video: v.mp4, identity: i, box: \"1,1,2,2\"}]\narms: [\"scheduled_cfg tau=1e300 w=2\"]\nteacher: {bank: b}\n"
        #expect(throws: ProbeError.invalidValue(file: "s.yaml", key: "arms[0]",
                                                problem: "arm 'scheduled_cfg tau=1e+300 w=2': tau must be an integer step in 0...50")) {
            try ProbeStudyFile.parse(text: text, file: "s.yaml", baseDirectory: base)
        }
    }

    // MARK: - ode_schedule.json

    @Test(arguments: [
        (#"{"t_list": [0.5, 0], "num_steps": 1e300, "shift": 5, "guidance_scale": 4.5}"#,
         "o.json: key 'num_steps': expected an integer in 1...10000"),
        (#"{"t_list": [0.5, 0], "num_steps": true, "shift": 5, "guidance_scale": 4.5}"#, "o.json: key 'num_steps': expected a number"),
        (#"{"t_list": [0.5, 0], "num_steps": 1, "shift": 5, "guidance_scale": "4.5"}"#, "o.json: key 'guidance_scale': expected a number"),
    ])
    func odeScheduleNumbersAreChecked(json: String, message: String) {
        do {
            _ = try ODESchedule.parse(Data(json.utf8), file: "o.json")
            Issue.record("accepted \(json)")
        } catch {
            #expect(error.description == message)
        }
    }


    // MARK: - Remote answers

    @Test func responseShapesThatOverflowAreMalformed() {
        func problem(_ body: String, _ header: Int? = nil) -> String? {
            do { _ = try InferenceResponse.decode(Data(body.utf8), headerLength: header, url: "u"); return nil } catch {
                guard case .malformedResponse(_, let p) = error else { return "wrong error \(error)" }
                return p
            }
        }
        let huge = #"{"outputs":[{"name":"x0","shape":[4294967296,4294967296,16],"datatype":"FP32","data":[1]}]}"#
        #expect(problem(huge) == "output 'x0' has shape [4294967296, 4294967296, 16], more values than the \(huge.utf8.count)-byte body holds")
        let h = #"{"outputs":[{"name":"x0","shape":[2],"datatype":"FP32","parameters":{"binary_data_size":9223372036854775807}}]}"#
        #expect(problem(h + "12345678", h.utf8.count)
                == "output 'x0': 9223372036854775807 binary bytes for shape [2] FP32, 8 left in the body")
        #expect(problem(#"{"outputs":[{"name":"x0","shape":[1e30],"datatype":"FP32","data":[1]}]}"#)?.hasPrefix("output 'x0' has shape [") == true)
        #expect(problem(#"{"outputs":[{"name":"x0","shape":[2],"datatype":"FP32","data":[true, 1]}]}"#) == "output 'x0': value 0 is not a number")
        // 0 and 1 are numbers, not booleans.
        #expect(problem(#"{"outputs":[{"name":"x0","shape":[2],"datatype":"FP32","data":[0, 1]}]}"#) == nil)
    }

    @Test func metadataShapesAreChecked() {
        func problem(_ shape: String) -> String? {
            let o = try! JSONSerialization.jsonObject(with: Data(#"{"name":"m","inputs":[{"name":"x_t","datatype":"FP32","shape":\#(shape)}],"outputs":[]}"#.utf8)) as! [String: Any]
            do { _ = try RemoteModelMetadata.parse(o, url: "u"); return nil } catch {
                guard case .malformedResponse(_, let p) = error else { return "wrong error \(error)" }
                return p
            }
        }
        #expect(problem("[-1, 3, 32, 32]") == nil)
        #expect(problem("[-1, 4294967296, 4294967296]") == "inputs 'x_t' has shape [-1, 4294967296, 4294967296]")
        #expect(problem("[-1, 2147483647, 2147483647]") == "inputs 'x_t' has shape [-1, 2147483647, 2147483647], too large")
        #expect(problem("[-2, 3]") == "inputs 'x_t' has shape [-2, 3]")
    }

    @Test func htmlErrorPagesBecomeOneLine() {
        let page = "<!DOCTYPE html>\n<html>\n<head><title>404 Not Found</title></head>\n<body>\n<h1>Not Found</h1>\n"
            + String(repeating: "<p>The requested URL was not found on this server.</p>\n", count: 40) + "</body></html>\n"
        let message = InferenceClient.message(Data(page.utf8))
        #expect(message == "an HTML page (\(page.utf8.count) bytes, title '404 Not Found'), not the inference protocol's JSON: check the URL")
        #expect(InferenceClient.message(Data(#"{"error": "model 'x' \n not found"}"#.utf8)) == "model 'x' not found")
        let text = InferenceClient.message(Data((String(repeating: "bad gateway\n", count: 50)).utf8))
        #expect(!text.contains("\n") && text.count <= 121 && text.hasSuffix("…"), "\(text.count): \(text)")
    }
}
