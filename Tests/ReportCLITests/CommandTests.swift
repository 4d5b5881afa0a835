import Foundation
import Store
import Testing

/// Every command through the executable on the tiny fixture: happy paths, `--json` shapes
/// (snake_case keys), exit codes, and the errors users hit most.
@Suite(.serialized)
struct CommandTests {
    /// Every command path, for the help checks.
    static let commands: [[String]] = [
        [], ["demo"], ["probe"], ["measure"], ["measure", "fidelity"], ["measure", "sync"], ["measure", "mfcc"],
        ["import"], ["import", "csv"], ["import", "registry"], ["import", "videos"], ["report"], ["schedule"], ["search"],
        ["facesync"], ["facesync", "fit"], ["runs"], ["merge"], ["export"], ["demo-data"],
        ["bench"], ["bench", "media"], ["bench", "fidelity"], ["bench", "nets"], ["bench", "store"], ["bench", "probe"], ["bench", "remote"],
        ["teacher"], ["teacher", "check"], ["teacher", "export"],
    ]

    /// Leaf commands (those that run something), for the bad-option check.
    static let leaves: [[String]] = commands.filter { path in !commands.contains { $0.count > path.count && Array($0.prefix(path.count)) == path } }

    @Test func everyHelpListsTheExitCodesAndTheRootStatesTheGrammar() throws {
        let dir = FileManager.default.temporaryDirectory
        for path in Self.commands {
            let r = try CLI.run(["help"] + path, in: dir)
            #expect(r.status == 0, "\(path)")
            let flat = r.stdout.split(whereSeparator: { $0 == " " || $0 == "\n" }).joined(separator: " ")
            #expect(flat.contains("Exit status (the same in every command): 0 complete; 1 failure"), "trajprobe \(path.joined(separator: " ")) --help")
            #expect(flat.contains("3 finished but incomplete") && flat.contains("64 invalid usage"), "trajprobe \(path.joined(separator: " "))")
            // Defaults print as the user types them, never as a Swift value.
            #expect(!flat.contains("ReportCLI."), "trajprobe \(path.joined(separator: " ")) --help")
            // No example in a help uses an old spelling (example lines and their continuations).
            let examples = r.stdout.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
                .filter { $0.hasPrefix("trajprobe ") || $0.hasPrefix("--") && !$0.contains("  ") }
            for line in examples {
                let words = line.split(separator: " ").map(String.init)
                let oldDatabase = zip(words, words.dropFirst()).contains { $0 == "--study" && $1.hasSuffix(".sqlite") }
                let oldFlag = ["--into", "--run", "--study-name", "--out", "audio-only"].contains { words.contains($0) }
                #expect(!oldDatabase && !oldFlag, "trajprobe \(path.joined(separator: " ")) --help: \(line)")
            }
        }
        let root = try CLI.run(["--help"], in: dir).stdout.split(whereSeparator: { $0 == " " || $0 == "\n" }).joined(separator: " ")
        #expect(root.contains("takes its database files as positional arguments"))
        #expect(root.contains("A study inside a database is always --study NAME; a drop mode is always audio or text+audio"))
    }

    /// The options a command requires, so that the unknown option is the only fault.
    static let required: [String: [String]] = [
        "measure fidelity": ["--reference", "r.mp4"], "facesync fit": ["-o", "f.json"],
        "teacher check": ["--model", "m"], "teacher export": ["-o", "t.safetensors"], "bench remote": ["--url", "http://127.0.0.1:1"],
    ]

    @Test func aBadOptionShowsThatCommandsUsage() throws {
        let dir = FileManager.default.temporaryDirectory
        for path in Self.leaves {
            // A positional first where the command needs one, so the unknown option is the only fault.
            let r = try CLI.run(path + ["x", "--bogus"] + (Self.required[path.joined(separator: " ")] ?? []), in: dir)
            let usage = "Usage: trajprobe \(path.joined(separator: " "))"
            #expect(r.status == 64, "\(path): \(r.stderr)")
            #expect(r.stderr.hasPrefix("Error: Unknown option '--bogus'"), "\(path): \(r.stderr)")
            #expect(r.stderr.contains(usage + " ") || r.stderr.contains(usage + "\n"), "\(path): \(r.stderr)")
            #expect(r.stdout.isEmpty)
        }
        // A usage error found while the command runs names that command too, not the root.
        let late = try CLI.run(["import", "videos", "root", "--db", "v.sqlite", "--box", "1,2"], in: dir)
        #expect(late.status == 64)
        #expect(late.stderr.contains("Error: --box '1,2' is not x,y,w,h"))
        #expect(late.stderr.contains("Usage: trajprobe import videos "), "\(late.stderr)")
        #expect(late.stderr.contains("See 'trajprobe import videos --help'"))
    }

    @Test func probeReportRunsAndScheduleOnTheFixture() throws {
        let fixture = try Fixture.get()
        let probe = try #require(fixture.probe.object)
        #expect(probe["status"] as? String == "finished")
        // 8 probe clips × 2 arms × 2 steps × 1 seed.
        #expect(probe["written"] as? Int == 32 && probe["failed"] as? Int == 0)
        #expect(CLI.keys(probe).allSatisfy(CLI.isSnakeCase), "\(CLI.keys(probe))")
        let dir = try fixture.copy("report")
        defer { try? FileManager.default.removeItem(at: dir) }

        // runs: one study, its counts, snake_case keys.
        let runs = try CLI.run(["runs", "small.sqlite", "--json"], in: dir)
        #expect(runs.status == 0)
        let rows = try #require(runs.array as? [[String: Any]])
        #expect(rows.count == 1)
        #expect(rows.first?["name"] as? String == "small" && rows.first?["status"] as? String == "finished")
        #expect(rows.first?["drop"] as? String == "audio" && rows.first?["failed_units"] as? Int == 0)
        #expect(CLI.keys(rows).allSatisfy(CLI.isSnakeCase), "\(CLI.keys(rows))")

        // report: the window rule's numbers decide no window at the default tolerance; it still succeeds.
        let report = try CLI.run(["report", "small.sqlite", "--json", "-o", "rep"], in: dir)
        #expect(report.status == 0, "\(report.stderr)")
        let summary = try #require(report.object)
        #expect(summary["output"] as? String == "rep")
        let study = try #require((summary["studies"] as? [[String: Any]])?.first)
        #expect(study["study"] as? String == "small" && study["window"] is NSNull)
        #expect((study["no_window_reason"] as? String)?.contains("fidelity cost") == true)
        #expect(CLI.keys(summary).allSatisfy(CLI.isSnakeCase), "\(CLI.keys(summary))")
        #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent("rep/report.html").path))

        // schedule: the same rule, exit 2 with the reason; the rule options are report's.
        let schedule = try CLI.run(["schedule", "small.sqlite"], in: dir)
        #expect(schedule.status == 2)
        #expect(schedule.stderr.hasPrefix("error: small.sqlite: no sync window: "), "\(schedule.stderr)")
        let wider = try CLI.run(["schedule", "small.sqlite", "--study", "small", "--fidelity-tolerance", "0.6"], in: dir)
        #expect(wider.status == 1)
        #expect(wider.stderr.contains("arm 'euler_jump s0=1 s1=2' is missing"), "\(wider.stderr)")
        let widerReport = try CLI.run(["report", "small.sqlite", "--json", "-o", "rep2", "--fidelity-tolerance", "0.6"], in: dir)
        let widerStudy = try #require((widerReport.object?["studies"] as? [[String: Any]])?.first)
        let window = try #require(widerStudy["window"] as? [String: Any])
        #expect(window["first_step"] as? Int == 20 || window["first_step"] as? Int == 30)

        // The probe again with the new drop spelling resumes the same study: nothing new to probe.
        let again = try CLI.run(["probe", "study.yaml", "--db", "small.sqlite", "--study", "small", "--drop", "audio", "--quiet", "--json"], in: dir)
        #expect(again.status == 0, "\(again.stderr)")
        #expect(again.object?["written"] as? Int == 0 && again.object?["skipped"] as? Int == 32)
        #expect(again.stderr.isEmpty)
        let old = try CLI.run(["probe", "study.yaml", "--db", "small.sqlite", "--study", "small", "--drop", "audio-only", "--quiet", "--json"], in: dir)
        #expect(old.status == 0 && old.object?["skipped"] as? Int == 32)
        #expect(old.stderr == "note: --drop audio-only is deprecated: use --drop audio\n")
    }

    @Test func exportImportAndMergeRoundTrip() throws {
        let fixture = try Fixture.get()
        let dir = try fixture.copy("exchange")
        defer { try? FileManager.default.removeItem(at: dir) }
        let export = try CLI.run(["export", "small.sqlite", "--study", "small", "--output", "csv", "--json"], in: dir)
        #expect(export.status == 0, "\(export.stderr)")
        let files = try #require(export.object?["files"] as? [String])
        #expect(files.map { URL(fileURLWithPath: $0).lastPathComponent } == ["fresh_noise_w=1.csv", "fresh_noise_w=2.csv"])

        let imported = try CLI.run(["import", "csv"] + files + ["--db", "copy.sqlite", "--study", "copy", "--json"], in: dir)
        #expect(imported.status == 0, "\(imported.stderr)")
        let lines = imported.stdout.split(separator: "\n").map { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        #expect(lines.count == 2)
        #expect(lines.allSatisfy { $0?["study"] as? String == "copy" })
        // 8 clips × 2 steps per arm, plus the GT units.
        #expect(lines.compactMap { $0?["units"] as? Int }.reduce(0, +) == lines.compactMap { $0?["written"] as? Int }.reduce(0, +))
        #expect(lines.allSatisfy { CLI.keys($0 ?? [:]).allSatisfy(CLI.isSnakeCase) })
        // The same files again: nothing new.
        let twice = try CLI.run(["import", "csv"] + files + ["--db", "copy.sqlite", "--study", "copy", "--json"], in: dir)
        #expect(twice.stdout.split(separator: "\n").allSatisfy { $0.contains("\"written\":0") })

        // A second study in the same file: reading it without --study asks for one, by the flag's name.
        #expect(try CLI.run(["import", "csv"] + files + ["--db", "copy.sqlite", "--study", "second"], in: dir).status == 0)
        let ambiguous = try CLI.run(["export", "copy.sqlite", "-o", "again"], in: dir)
        #expect(ambiguous.status == 1)
        #expect(ambiguous.stderr.hasSuffix("holds several studies (copy, second): name one with --study.\n"), "\(ambiguous.stderr)")
        #expect(try CLI.run(["export", "copy.sqlite", "--study", "second", "-o", "again"], in: dir).status == 0)

        // A CSV study does not record the teacher's schedule: the report says unknown, never a
        // guessed 50/5/0.999, until --num-steps/--shift/--max-t give it (all three, or a usage error).
        let blind = try CLI.run(["report", "copy.sqlite", "--study", "copy", "-o", "blind"], in: dir)
        #expect(blind.status == 0, "\(blind.stderr)")
        let blindMD = try String(contentsOf: dir.appendingPathComponent("blind/report.md"), encoding: .utf8)
        #expect(blindMD.contains("| sampler | N = unknown steps"), "\(blindMD.prefix(2000))")
        let given = try CLI.run(["report", "copy.sqlite", "--study", "copy", "-o", "given",
                                 "--num-steps", "40", "--shift", "3", "--max-t", "0.995"], in: dir)
        #expect(given.status == 0, "\(given.stderr)")
        let givenMD = try String(contentsOf: dir.appendingPathComponent("given/report.md"), encoding: .utf8)
        #expect(givenMD.contains("| sampler | N = 40 steps, shift s = 3, t_0 clamped to 0.995"), "\(givenMD.prefix(2000))")
        let half = try CLI.run(["report", "copy.sqlite", "--study", "copy", "--num-steps", "40"], in: dir)
        #expect(half.status == 64 && half.stderr.contains("give --num-steps, --shift and --max-t together"), "\(half.stderr)")
        #expect(half.stderr.contains("Usage: trajprobe report "))

        let merged = try CLI.run(["merge", "small.sqlite", "--db", "merged.sqlite", "--json"], in: dir)
        #expect(merged.status == 0, "\(merged.stderr)")
        #expect(merged.object?["studies"] as? [String] == ["small"] && merged.object?["failed"] as? Int == 0)
        let again = try CLI.run(["merge", "small.sqlite", "--db", "merged.sqlite", "--json"], in: dir)
        #expect(again.object?["written"] as? Int == 0 && again.object?["duplicates"] as? Int == merged.object?["written"] as? Int)
    }

    @Test func oldSpellingsStillWorkWithOneNoteEach() throws {
        let fixture = try Fixture.get()
        let dir = try fixture.copy("legacy")
        defer { try? FileManager.default.removeItem(at: dir) }
        let export = try CLI.run(["export", "--study", "small.sqlite", "--run", "small", "--out", "csv"], in: dir)
        #expect(export.status == 0, "\(export.stderr)")
        #expect(export.stderr == """
            note: --study small.sqlite for the database is deprecated: use the positional DB (--study names the study inside it)
            note: --run small is deprecated: use --study small
            note: --out csv is deprecated: use --output csv

            """)
        let csv = dir.appendingPathComponent("csv/fresh_noise_w=1.csv").path
        let imported = try CLI.run(["import", "csv", csv, "--study", "old.sqlite", "--run", "old", "--drop", "audio-only"], in: dir)
        #expect(imported.status == 0, "\(imported.stderr)")
        #expect(imported.stderr.split(separator: "\n").count == 3 && imported.stderr.contains("--drop audio-only is deprecated: use --drop audio"))
        #expect(try CLI.run(["runs", "old.sqlite", "--json"], in: dir).array.flatMap { ($0.first as? [String: Any])?["name"] as? String } == "old")
        let merge = try CLI.run(["merge", "small.sqlite", "--into", "m.sqlite"], in: dir)
        #expect(merge.status == 0 && merge.stderr == "note: --into m.sqlite is deprecated: use --db m.sqlite\n")
        // Where the old reading is ambiguous nothing is guessed: probe's --study was always a name.
        let probe = try CLI.run(["probe", "study.yaml", "--study", "x.sqlite"], in: dir)
        #expect(probe.status == 64 && probe.stderr.hasPrefix("Error: give the study database: --db FILE"))
    }

    @Test func theErrorsUsersHitMost() throws {
        let fixture = try Fixture.get()
        let dir = fixture.root
        // A database that does not exist.
        let missing = try CLI.run(["report", "nope.sqlite"], in: dir)
        #expect(missing.status == 1 && missing.stderr.contains("nope.sqlite") && missing.stderr.contains("no such file"), "\(missing.stderr)")
        let missingJSON = try CLI.run(["report", "nope.sqlite", "--json"], in: dir)
        #expect(missingJSON.status == 1 && (missingJSON.object?["error"] as? String)?.contains("no such file") == true)
        #expect(try CLI.run(["runs", "nope.sqlite"], in: dir).status == 1)
        #expect(try CLI.run(["export", "nope.sqlite", "-o", "-", "--format", "jsonl"], in: dir).status == 1)
        // A study the database does not hold: named with the ones it does.
        let unknown = try CLI.run(["report", "small.sqlite", "--study", "nope"], in: dir)
        #expect(unknown.status == 1 && unknown.stderr.contains("nope") && unknown.stderr.contains("small"), "\(unknown.stderr)")
        let unknownSchedule = try CLI.run(["schedule", "small.sqlite", "--study", "nope"], in: dir)
        #expect(unknownSchedule.status == 1 && unknownSchedule.stderr.contains("small"))
        // A bad drop mode: usage error naming the values.
        let drop = try CLI.run(["probe", "study.yaml", "--db", "d.sqlite", "--drop", "everything"], in: dir)
        #expect(drop.status == 64)
        #expect(drop.stderr.hasPrefix("Error: The value 'everything' is invalid for '--drop <mode>'. Please provide one of 'audio' and 'text+audio'."),
                "\(drop.stderr)")
        #expect(drop.stderr.contains("Usage: trajprobe probe "))
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("d.sqlite").path))
        // No database at all.
        let none = try CLI.run(["import", "csv", "a.csv"], in: dir)
        #expect(none.status == 64 && none.stderr.hasPrefix("Error: give the study database: --db FILE"))
    }

    @Test func measureCommandsPrintSnakeCaseJSON() throws {
        let fixture = try Fixture.get()
        let dir = try fixture.copy("measure")
        defer { try? FileManager.default.removeItem(at: dir) }
        let clip = "data/clips/id0_c1.mp4", mask = "data/masks/id0.png"
        let mfcc = try CLI.run(["measure", "mfcc", clip, "--json"], in: dir)
        #expect(mfcc.status == 0)
        let m = try #require(mfcc.object)
        #expect(m["numcep"] as? Int == 13 && m["sample_rate"] as? Int == 16000)
        #expect((m["mfcc"] as? [[Double]])?.count == m["frames"] as? Int)

        let fidelity = try CLI.run(["measure", "fidelity", "--reference", clip, clip, "--mask", mask, "--json"], in: dir)
        #expect(fidelity.status == 0, "\(fidelity.stderr)")
        let f = try #require(fidelity.object)
        // A video against itself: MSE 0, SSIM 1, PSNR infinite (null).
        let metrics = try #require(f["metrics"] as? [String: [String: [String: Any]]])
        #expect(metrics["mse"]?["full"]?["mean"] as? Double == 0)
        #expect(metrics["ssim"]?["mouth"]?["mean"] as? Double == 1)
        #expect(metrics["psnr"]?["full"]?["mean"] is NSNull)
        #expect(CLI.keys(f).allSatisfy(CLI.isSnakeCase), "\(CLI.keys(f))")

        let fit = try CLI.run(["facesync", "fit", "data/bank.yaml", "-o", "fs.json"], in: dir)
        #expect(fit.status == 0, "\(fit.stderr)")
        let sync = try CLI.run(["measure", "sync", clip, "--facesync", "fs.json", "--mask", mask, "--json"], in: dir)
        #expect(sync.status == 0, "\(sync.stderr)")
        let s = try #require(sync.object)
        for key in ["original_fps", "sync_model", "weights_sha256"] { #expect(s[key] != nil, "\(key) in \(s.keys.sorted())") }
        #expect(s["sync_model"] as? String == "facesync-cca")
        #expect((s["result"] as? [String: Any])?["lse_c"] is Double)
        #expect(CLI.keys(s).allSatisfy(CLI.isSnakeCase), "\(CLI.keys(s))")

        // A batch into a database: --db and --study, as everywhere.
        let batch = try CLI.run(["measure", "sync", clip, "data/clips/id1_c1.mp4", "--facesync", "fs.json", "--mask", mask,
                                 "--db", "scores.sqlite", "--study", "scores", "--threshold", "0", "--json"], in: dir)
        #expect(batch.status == 0, "\(batch.stderr)")
        #expect((batch.object?["passing"] as? [String])?.count == 2)
        let stored = try StudyStore.listRuns(at: dir.appendingPathComponent("scores.sqlite"))
        #expect(stored.map(\.name) == ["scores"] && stored.first?.doneUnits == 2)
    }

    @Test func searchPrintsItsResultWithSnakeCaseKeys() throws {
        let fixture = try Fixture.get()
        let dir = try fixture.copy("search")
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try CLI.run(["search", "study.yaml", "--db", "small.sqlite", "--study", "small", "--student-steps", "1",
                             "--budget", "200", "--quiet", "--json"], in: dir)
        #expect(r.status == 0, "\(r.stderr)")
        let result = try #require(r.object)
        let byStep = try #require(result["by_step_count"] as? [[String: Any]])
        #expect(byStep.count == 1 && byStep.first?["student_steps"] as? Int == 1)
        #expect(CLI.keys(result).allSatisfy(CLI.isSnakeCase), "\(CLI.keys(result).filter { !CLI.isSnakeCase($0) })")
    }
}
