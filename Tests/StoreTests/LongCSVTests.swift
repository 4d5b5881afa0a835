import Digest
import Foundation
import Synthetic
import Testing
@testable import Store

@Suite struct LongCSVTests {
    static let imported = StudyStore.importedConfig(name: "omniavatar", model: "omniavatar-14b", drop: "text+audio")

    @Test func exportImportExportIsByteIdentical() throws {
        let dir = try TempDir()
        let store = try StudyStore.create(at: dir.file("a.sqlite"), config: SyntheticStudy.config)
        let reg = try SyntheticStudy.register(store, clips: 3, arms: 2, steps: 4)
        let odd = try store.registerClip(ClipSpec(name: "clip \"7\", take 2"))
        for clip in 0..<3 { for arm in 0..<2 { for step in [gtStep, 0, 1, 2, 3] { for seed in [0, 3] {
            try store.writeUnit(SyntheticStudy.unit(reg, clip: clip, arm: arm, step: step, seed: seed))
        } } } }
        try store.writeUnit(UnitResult(key: UnitKey(clip: odd, arm: reg.arms[0], step: 2),
                                       measurements: [MeasurementValue(metric: "ssim", region: "mouth", value: 1e-300, protocolName: "v2, masked"),
                                                      MeasurementValue(metric: "psnr", region: "full", value: -.infinity)]))
        let first = try store.exportCSV(arm: reg.arms[0])
        let lines = first.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines[0] == "step,t,sample,metric,region,value,protocol,arm,seed")
        #expect(lines[1].hasPrefix("-1,gt,clip00,"))
        #expect(first.contains("2,\(SyntheticStudy.steps(4)[2].t),\"clip \"\"7\"\", take 2\",ssim,mouth,1e-300,\"v2, masked\",euler_jump s0=1 s1=4.5,0\n"))
        #expect(first.contains(",psnr,full,-inf,,euler_jump s0=1 s1=4.5,0\n"))
        #expect(first.contains(",psnr,full,inf,,euler_jump s0=1 s1=4.5,3\n"))
        #expect(first.contains(",nan,,euler_jump"))
        #expect(lines.count == 1 + 3 * 5 * 2 * 16 + 2 + 1)

        let file = dir.file("exported.csv")
        try Data(first.utf8).write(to: file)
        let other = try StudyStore.create(at: dir.file("b.sqlite"), config: Self.imported)
        let summary = try other.importCSV(file, arm: nil)
        #expect(summary.rows == 3 * 5 * 2 * 16 + 2)
        #expect(summary.gtRows == 3 * 2 * 16)
        #expect(summary.arms == ["euler_jump s0=1 s1=4.5"])
        #expect(summary.written == summary.units && summary.unchanged == 0)
        let second = try other.exportCSV(arm: other.arm(label: "euler_jump s0=1 s1=4.5")!.id)
        #expect(second == first)
        // Importing the same file again is a no-op; the provenance row records the file's hash.
        let repeatImport = try other.importCSV(file, arm: .eulerJump(s0: 1, s1: 4.5))
        #expect(repeatImport.written == 0 && repeatImport.unchanged == summary.units)
        #expect(repeatImport.sha256 == SHA256Digest.hex([UInt8](try Data(contentsOf: file))))
        #expect(try other.exportCSV(arm: other.arm(label: "euler_jump s0=1 s1=4.5")!.id) == first)
        // The whole-directory export writes one file per arm.
        let files = try store.exportCSV(to: dir.file("out"))
        #expect(files.map(\.lastPathComponent) == ["euler_jump_s0=1_s1=1.csv", "euler_jump_s0=1_s1=4.5.csv"])
        #expect(try String(contentsOf: files[1], encoding: .utf8) == first)
        // JSON lines: one object per measurement.
        let jsonl = try other.exportJSONLines()
        #expect(jsonl.split(separator: "\n").count == summary.rows)
        let objects = try jsonl.split(separator: "\n").map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        #expect(objects.filter { $0["t"] as? String == "gt" }.count == summary.gtRows)
        #expect(objects.contains { $0["protocol"] as? String == "v2, masked" && $0["value"] as? Double == 1e-300 })
        #expect(objects.contains { $0["value"] as? String == "-inf" })
        #expect(objects.contains { $0["value"] is NSNull })
    }

    @Test func readsWhatScriptsWrite() throws {
        let dir = try TempDir()
        // pandas to_csv with its index column, CRLF, a BOM, quoted fields, step as float, t with 6
        // decimals, missing values spelt several ways, a protocol column, a blank line.
        let text = "\u{FEFF},step,t,sample,metric,region,value,protocol\r\n"
            + "0,-1,gt,clip01,sync_c,face,7.91,syncnet\r\n"
            + "1,30.0,0.768935,clip01,sync_c,face,6.5,syncnet\r\n"
            + "2,30,0.768935,\"clip01\",ssim,mouth,,\r\n"
            + "3,30,0.768935,clip01,lpips,mouth,NaN,\r\n"
            + "\r\n"
            + "4, 31 ,0.755910,\"clip,02\",psnr,full,inf,\r\n"
            + "5,31,0.755910,clip01,mse,full,1.5e-3,\"quoted \"\"p\"\"\"\r\n"
        let file = dir.file("omni_ej.csv")
        try Data(text.utf8).write(to: file)
        let store = try StudyStore.create(at: dir.file("s.sqlite"), config: Self.imported)
        let summary = try store.importCSV(file, arm: try ArmSpec(parsing: "euler_jump s0=1 s1=4.5"))
        #expect(summary.rows == 6)
        #expect(summary.gtRows == 1)
        #expect(summary.ignoredColumns.isEmpty)
        #expect(summary.clips == 2)
        let snap = try store.snapshot()
        #expect(snap.steps == [Step(j: 30, t: 0.768935), Step(j: 31, t: 0.75591)])
        #expect(Set(snap.clips.map(\.name)) == ["clip01", "clip,02"])
        let values = Dictionary(uniqueKeysWithValues: snap.measurements.map { ("\($0.step) \(snap.clip($0.clip)!.name) \($0.metric)", $0) })
        #expect(values["-1 clip01 sync_c"]?.value == 7.91)
        #expect(values["-1 clip01 sync_c"]?.protocolName == "syncnet")
        #expect(values["30 clip01 sync_c"]?.value == 6.5)
        #expect(values["30 clip01 ssim"]?.value.isNaN == true)
        #expect(values["30 clip01 lpips"]?.value.isNaN == true)
        #expect(values["31 clip,02 psnr"]?.value == .infinity)
        #expect(values["31 clip01 mse"]?.value == 0.0015)
        #expect(values["31 clip01 mse"]?.protocolName == "quoted \"p\"")
        // An unknown column is skipped and reported.
        let extra = dir.file("extra.csv")
        try Data("step,t,sample,metric,region,value,note\n5,0.9,clip01,ssim,full,0.7,hello\n".utf8).write(to: extra)
        let s2 = try store.importCSV(extra, arm: .trajectory(w: 4.5))
        #expect(s2.ignoredColumns == ["note"])
    }

    @Test func malformedLineIsReportedAndNothingImported() throws {
        let dir = try TempDir()
        let store = try StudyStore.create(at: dir.file("s.sqlite"), config: Self.imported)
        let good = "step,t,sample,metric,region,value\n-1,gt,clip01,sync_c,face,7.9\n0,0.999,clip01,ssim,mouth,0.8\n"
        let cases: [(text: String, line: Int, problem: String)] = [
            (good + "1,0.995732,clip01,ssim,mouth,zero.8\n", 4, "value 'zero.8' is not a number"),
            (good + "\"multi\nline\",0.99,clip01,ssim,mouth,0.8\n2,0.99,clip01,ssim\n", 4, "step 'multi\nline' is not an integer"),
            (good + "1,0.995732,clip01,ssim,mouth,0.8\n2,0.99,clip01,ssim\n", 5, "4 fields, the header has 6"),
            (good + "1,gt,clip01,ssim,mouth,0.8\n", 4, "t 'gt' on step 1, GT rows have step -1"),
            (good + "-1,0.5,clip01,ssim,mouth,0.8\n", 4, "step -1 (GT) with t '0.5', expected 'gt'"),
            (good + "0,0.5,clip01,lpips,mouth,0.8\n", 4, "step 0 has t 0.5, line 3 says 0.999"),
            (good + "0,0.999,clip01,ssim,mouth,0.81\n", 4, "ssim/mouth of clip01 step 0 repeats line 3 with another value"),
            ("step,t,sample,metric,value\n0,0.9,a,ssim,1\n", 1, "header lacks region (expected step,t,sample,metric,region,value)"),
            (good + "3,0.9,\"clip01,ssim,mouth,0.8\n", 4, "unclosed quote"),
        ]
        for (n, c) in cases.enumerated() {
            let file = dir.file("bad\(n).csv")
            try Data(c.text.utf8).write(to: file)
            expectStoreError({ try store.importCSV(file, arm: .eulerJump(s0: 1, s1: 4.5)) }) {
                guard case let .malformedCSV(path, line, problem) = $0 else { return false }
                return path == file.path && line == c.line && problem == c.problem
            }
        }
        // The error's one line names file and line.
        let error = StoreError.malformedCSV(path: "/x/a.csv", line: 4, problem: "value 'zero.8' is not a number")
        #expect(error.description == "/x/a.csv:4: value 'zero.8' is not a number; nothing from this file was imported.")
        // Nothing at all was imported by the failed files.
        let summary = try store.summary()
        #expect(summary.measurements == 0 && summary.clips == 0 && summary.arms == 0 && summary.steps == 0 && summary.doneUnits == 0)
        // A file conflicting with stored units is refused whole, too.
        let first = dir.file("first.csv")
        try Data(good.utf8).write(to: first)
        try store.importCSV(first, arm: .eulerJump(s0: 1, s1: 4.5))
        let clash = dir.file("clash.csv")
        try Data("step,t,sample,metric,region,value\n1,0.995732,clip02,ssim,mouth,0.5\n0,0.999,clip01,ssim,mouth,0.7\n".utf8).write(to: clash)
        expectStoreError({ try store.importCSV(clash, arm: .eulerJump(s0: 1, s1: 4.5)) }) {
            guard case let .malformedCSV(_, line, problem) = $0 else { return false }
            return line == 3 && problem.contains("already stored with other values")
        }
        let after = try store.summary()
        #expect(after.measurements == 2 && after.clips == 1 && after.steps == 1)
        // No arm anywhere.
        expectStoreError({ try store.importCSV(first, arm: nil) }) {
            if case let .malformedCSV(_, 1, problem) = $0 { return problem.hasPrefix("no arm column") } else { return false }
        }
    }
}
