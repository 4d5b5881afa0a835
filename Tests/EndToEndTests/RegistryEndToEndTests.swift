import Foundation
import Store
import Testing

/// `import registry` and `report` through the shipped executable on the committed registry
/// fixture (tools/fixtures/registry_fixture.py): refused without the knob words it does not
/// define, imported as written with them, reported with its comparisons side by side.
@Suite(.enabled(if: ProcessInfo.processInfo.environment["TRAJPROBE_E2E_BINARY"] != nil, "set TRAJPROBE_E2E_BINARY (make e2e)"))
struct RegistryEndToEndTests {
    let binary = ProcessInfo.processInfo.environment["TRAJPROBE_E2E_BINARY"] ?? ""
    static let registry = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/registry/configs/registry.yaml").path

    func run(_ args: [String], in dir: URL) throws -> (status: Int32, output: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binary)
        p.arguments = args
        p.currentDirectoryURL = dir
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        try p.run()
        let out = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        return (p.terminationStatus, out)
    }

    @Test func registryImportsAsWrittenAndReportsSideBySide() throws {
        let fm = FileManager.default
        let work = fm.temporaryDirectory.appendingPathComponent("trajprobe-registry-\(UUID().uuidString)")
        try fm.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? fm.removeItem(at: work) }

        let refused = try run(["import", "registry", Self.registry, "--db", "all.sqlite"], in: work)
        #expect(refused.status == 1)
        #expect(refused.output.contains("experiment 'it_euler_on_on': knob word 'on' is not defined by the registry: give --knob on='text=T,audio=A'"))
        #expect(!fm.fileExists(atPath: work.path + "/all.sqlite"))
        #expect(try run(["import", "registry", Self.registry, "--db", "all.sqlite", "--knob", "on=text=5"], in: work).status == 64)
        #expect(try run(["import", "registry", Self.registry, "--db", "all.sqlite", "--sync-model", "syncnet"], in: work).status == 64)

        let done = try run(["import", "registry", Self.registry, "--db", "all.sqlite", "--knob", "on=text=5,audio=4",
                            "--knob", "noaudio=text=5,audio=1", "--sync-model", "syncnet-v2", "--sync-preset", "syncnet_python"], in: work)
        #expect(done.status == 0, "\(done.output)")
        #expect(done.output.contains("warning: skipped experiment 'it_euler_on_noaudio'"))
        #expect(done.output.contains("studies: 'omniavatar text+audio', 'omniavatar audio', 'omniavatar', 'latentsync', 'infinitetalk'"))
        let runs = try StudyStore.listRuns(at: work.appendingPathComponent("all.sqlite"))
        #expect(runs.allSatisfy { $0.config.syncModel == "syncnet-v2" })

        let report = try run(["report", "all.sqlite", "-o", "out"], in: work)
        #expect(report.status == 0, "\(report.output)")
        let md = try String(contentsOfFile: work.path + "/out/report.md", encoding: .utf8)
        #expect(md.contains("## Comparisons"))
        for name in ["default_trajectory", "euler_nocfg_on", "euler_nocfg_nocfg"] { #expect(md.contains("### Comparison `\(name)`")) }
        #expect(md.contains("| step | infinitetalk sync_c mouth | omniavatar sync_c mouth |"))

        // import csv records the teacher's scales and the sync model it is told.
        let csv = URL(fileURLWithPath: Self.registry).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("results/infinitetalk/euler_on_on.csv").path
        let one = try run(["import", "csv", csv, "--study", "one.sqlite", "--arm", "euler_jump s0t=5 s0a=4 s1t=5 s1a=4", "--model", "infinitetalk",
                           "--guidance", "text=5,audio=4", "--sync-model", "syncnet-v2"], in: work)
        #expect(one.status == 0, "\(one.output)")
        let store = try StudyStore.open(at: work.appendingPathComponent("one.sqlite"), readOnly: true)
        #expect(store.config.syncModel == "syncnet-v2")
        let settings = store.config.parameters
        #expect(settings.guidance == .pair(text: 5, audio: 4))
    }
}
