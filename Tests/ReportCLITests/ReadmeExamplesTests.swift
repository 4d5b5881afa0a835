import Foundation
import Testing

/// The README's examples as written: every `trajprobe` line of its ```sh/```bash blocks runs, in
/// order, against the tiny fixture (study.yaml is the fixture's study), through /bin/sh so globs
/// and quoting are the user's. A line whose comment says `[not run by the README test: REASON]`
/// is skipped for that stated reason.
struct ReadmeExamplesTests {
    /// One command line of a README code block.
    struct Example: CustomStringConvertible {
        var line: Int
        var command: String
        /// Why it is not run (from its visible marker), or nil.
        var skip: String?
        var description: String { "README.md:\(line): \(command)" }
    }

    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The `trajprobe` command lines of the ```sh/```bash blocks of `text` (continuations joined,
    /// comments cut).
    static func examples(in text: String) -> [Example] {
        var out: [Example] = []
        var inShell = false, pending: (line: Int, text: String)?
        for (i, raw) in text.components(separatedBy: "\n").enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.hasPrefix("```") {
                inShell = !inShell && (line == "```sh" || line == "```bash")
                continue
            }
            guard inShell else { continue }
            var joined = pending.map { $0.text + " " + line } ?? line
            let start = pending?.line ?? i + 1
            if joined.hasSuffix("\\") {
                joined.removeLast()
                pending = (start, joined.trimmingCharacters(in: .whitespaces))
                continue
            }
            pending = nil
            guard joined.hasPrefix("trajprobe ") else { continue }
            var command = joined, skip: String?
            if let hash = joined.range(of: " #") {
                let comment = String(joined[hash.upperBound...])
                command = String(joined[..<hash.lowerBound]).trimmingCharacters(in: .whitespaces)
                if let marker = comment.range(of: "[not run by the README test: ") {
                    skip = String(comment[marker.upperBound...].prefix { $0 != "]" })
                }
            }
            out.append(Example(line: start, command: command, skip: skip))
        }
        return out
    }

    @Test func theExtractorReadsBlocksContinuationsAndMarkers() {
        let text = """
            ```sh
            trajprobe a x.sqlite   # note
            trajprobe b \\
                --db y.sqlite
            make demo
            trajprobe c   # fast [not run by the README test: needs a server]
            ```
            trajprobe d
            ```yaml
            trajprobe e
            ```
            """
        let found = Self.examples(in: text)
        #expect(found.map(\.command) == ["trajprobe a x.sqlite", "trajprobe b --db y.sqlite", "trajprobe c"])
        #expect(found.map(\.line) == [2, 3, 6])
        #expect(found.map(\.skip) == [nil, nil, "needs a server"])
    }

    @Test func everyReadmeExampleRunsAsWritten() throws {
        let readme = try String(contentsOf: Self.packageRoot.appendingPathComponent("README.md"), encoding: .utf8)
        let examples = Self.examples(in: readme)
        // The workflow block and the remote-teacher block.
        #expect(examples.count >= 11, "\(examples)")
        let fixture = try Fixture.get()
        let dir = try fixture.copy("readme")
        defer { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("runs"), withIntermediateDirectories: true)
        // Trajectory arms on three steps: the tiny study has a sync window and a landing step, so
        // `schedule` writes a config (exit 0), as on a real teacher.
        let yaml = dir.appendingPathComponent("study.yaml")
        try String(contentsOf: yaml, encoding: .utf8).replacingOccurrences(of: "subset: [20, 30]", with: "subset: [10, 20, 30]")
            .replacingOccurrences(of: "arms: [fresh_noise w=1, fresh_noise w=2]", with: "arms: [trajectory w=1, trajectory w=2]")
            .write(to: yaml, atomically: true, encoding: .utf8)
        // The registry example's repository: the committed fixture (configs/registry.yaml, results/).
        let registry = Self.packageRoot.appendingPathComponent("Tests/Fixtures/registry")
        for item in ["configs", "results"] {
            try FileManager.default.copyItem(at: registry.appendingPathComponent(item), to: dir.appendingPathComponent(item))
        }
        var ran = 0
        for example in examples {
            guard example.skip == nil else { continue }
            let r = try CLI.sh(example.command, in: dir)
            #expect(r.status == 0, "\(example) exited \(r.status): \(r.stderr)")
            if example.command.contains("schedule") && example.command.contains("--format python") {
                #expect(r.stdout.contains("config.model.t_list = [0.999, "), "\(r.stdout)")
            }
            #expect(!r.stderr.contains("note: "), "\(example) uses a deprecated spelling: \(r.stderr)")
            ran += 1
        }
        #expect(ran >= 9)
        #expect(examples.compactMap(\.skip).count == 3, "only the lines that need a server or minutes are skipped: \(examples)")
        // What the workflow wrote: the merged study, its report and the exported CSV files.
        #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent("runs/omniavatar.sqlite").path))
        #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent("Reports/study/report.html").path))
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent("csv").path).sorted()
                == ["trajectory_w=1.csv", "trajectory_w=2.csv"])
    }

    /// examples/ (a Slurm array script, a Kubernetes Job) needs a scheduler to run; its
    /// `trajprobe` lines are held to the grammar instead.
    @Test func theExamplesFolderUsesTheCurrentGrammar() throws {
        let folder = Self.packageRoot.appendingPathComponent("examples")
        var lines = 0
        for name in try FileManager.default.contentsOfDirectory(atPath: folder.path) {
            let text = try String(contentsOf: folder.appendingPathComponent(name), encoding: .utf8)
            for line in text.components(separatedBy: "\n") where line.contains("trajprobe probe") || line.contains("trajprobe merge") || line.hasPrefix("    --db") || line.contains("  --db") {
                let words = line.split(separator: " ").map(String.init)
                #expect(!words.contains("--into") && !words.contains("--run") && !words.contains("--study-name"), "\(name): \(line)")
                lines += 1
            }
            if text.contains("trajprobe merge") { #expect(text.contains("--db "), "\(name)") }
        }
        #expect(lines >= 4)
    }
}
