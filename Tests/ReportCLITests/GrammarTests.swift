import ArgumentParser
import Foundation
import Testing
@testable import ReportCLI

/// The grammar's pieces in-process: old spellings, drop modes, the one JSON configuration.
struct GrammarTests {
    @Test func dropModesAcceptTheNewSpellingsAndTheOldOneWithANote() throws {
        #expect(DropOption(argument: "audio")?.mode == .audio)
        #expect(DropOption(argument: "text+audio")?.mode == .textAudio)
        #expect(DropOption(argument: "audio")?.notes == [])
        let old = try #require(DropOption(argument: "audio-only"))
        #expect(old.mode == .audio)
        #expect(old.notes == ["--drop audio-only is deprecated: use --drop audio"])
        // The probe stores the teacher's own spelling: a study probed before keeps its configuration.
        #expect(old.teacherValue == "audio" && DropOption(argument: "audio")?.teacherValue == "audio")
        #expect(DropOption(argument: "text+audio")?.teacherValue == "text+audio")
        #expect(DropOption(argument: "everything") == nil)
    }

    @Test func studySelectionReadsOldSpellingsWhereUnambiguous() throws {
        // New grammar: nothing to note.
        let plain = try StudySelection.parse(["--study", "omni"])
        #expect(try plain.resolve(database: "s.sqlite", studyMayBeDatabase: true) == .init(database: "s.sqlite", study: "omni"))
        // Old `--study FILE --run NAME` where the command once took the database as --study.
        let old = try StudySelection.parse(["--study", "s.sqlite", "--run", "omni"])
        let r = try old.resolve(database: nil, studyMayBeDatabase: true)
        #expect(r.database == "s.sqlite" && r.study == "omni")
        #expect(r.notes == ["--study s.sqlite for the database is deprecated: use --db FILE (--study names the study inside it)",
                            "--run omni is deprecated: use --study omni"])
        // Where --study never meant a file, it stays the name (and then conflicts with --run).
        #expect(try StudySelection.parse(["--study", "s.sqlite"]).resolve(database: nil, studyMayBeDatabase: false) == .init(database: nil, study: "s.sqlite"))
        #expect(throws: ValidationError.self) { try old.resolve(database: nil, studyMayBeDatabase: false) }
        // --study-name is --study.
        let named = try StudySelection.parse(["--study-name", "scores"]).resolve(database: "x.sqlite", studyMayBeDatabase: true)
        #expect(named.study == "scores" && named.notes == ["--study-name scores is deprecated: use --study scores"])
        // Two different names are refused.
        #expect(throws: ValidationError.self) {
            try StudySelection.parse(["--study", "a", "--run", "b"]).resolve(database: "x.sqlite", studyMayBeDatabase: true)
        }
    }

    @Test func everyJSONOutputUsesSnakeCaseKeys() throws {
        struct Score: Encodable { var originalFPS = 25.0; var syncModel = "facesync-cca"; var weightsSHA256 = "ab"; var lse_c = 1.5 }
        let text = try JSONOutput.string(Score())
        #expect(text == #"{"lse_c":1.5,"original_fps":25,"sync_model":"facesync-cca","weights_sha256":"ab"}"#)
        // Ad-hoc objects go through the same encoder: sorted keys, one line, NSNull as null,
        // optionals unwrapped, slashes kept.
        let missing: String? = nil
        let object: [String: Any] = ["files": ["a/b.csv"], "window": NSNull(), "rows": 3, "t": 0.5, "ok": true, "note": missing as Any]
        #expect(JSONOutput.string(object: object) == #"{"files":["a/b.csv"],"note":null,"ok":true,"rows":3,"t":0.5,"window":null}"#)
        #expect(try JSONOutput.string([Double.infinity, .nan]) == #"["inf","nan"]"#)
    }

    @Test func commaListsParseAlikeInEveryCommand() throws {
        #expect(try CommaList.integers("0, 10,20", flag: "--steps") == [0, 10, 20])
        #expect(try CommaList.numbers("1,2,4.5", flag: "--scales") == [1, 2, 4.5])
        for bad in ["", " ", "1,x"] {
            #expect(throws: ValidationError.self) { try CommaList.integers(bad, flag: "--steps") }
        }
        #expect(throws: ValidationError.self) { try CommaList.numbers("1,inf", flag: "--scales") }
    }

    @Test func commandPathsNameEveryNestedCommand() {
        #expect(Trajprobe.commandPath(to: ImportVideos.self) == ["import", "videos"])
        #expect(Trajprobe.commandPath(to: ReportCommand.self) == ["report"])
        #expect(Trajprobe.commandPath(to: Trajprobe.self) == [])
    }
}
