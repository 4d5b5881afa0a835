import Foundation
import Testing
import Store
@testable import TrajectoryProbe

/// What the probe writes into a study's typed parameters.
struct StudyParametersTests {
    let base = URL(fileURLWithPath: "/data/study")

    /// The analytic teacher's configuration becomes labelled settings, never a Swift type
    /// description (which the report printed as `Configuration(kappa: 4.0, ...)` before).
    @Test func analyticConfigurationIsLabelledSettings() {
        let config = AnalyticTeacher.Configuration(kappa: 4, audioBandwidth: 0.7, audioFeatureNoise: 0.3,
                                                   workingSpace: .pca(components: 64), dropMode: .audioOnly,
                                                   precision: .automatic, identityPrior: .maskedReference(bandwidth: 0.5))
        let settings = config.studySettings
        #expect(settings == [StudySetting(label: "kappa", value: "4"),
                             StudySetting(label: "working space", value: "PCA, 64 components"),
                             StudySetting(label: "audio bandwidth", value: "0.7"),
                             StudySetting(label: "audio feature noise", value: "0.3"),
                             StudySetting(label: "noise seed", value: "0"),
                             StudySetting(label: "precision", value: "automatic"),
                             StudySetting(label: "identity prior", value: "masked reference, bandwidth 0.5")])
        #expect(Set(settings.map(\.label)).count == settings.count)
        #expect(AnalyticTeacher.Configuration().studySettings[1].value == "pixels")
    }

    /// The stored teacher identity reads as words (`trajprobe runs` prints it); the Swift
    /// description earlier versions stored stays reachable for resuming their studies.
    @Test func analyticIdentityIsWordsAndTheOldTextIsKept() {
        let config = AnalyticTeacher.Configuration(kappa: 4, workingSpace: .pca(components: 64), dropMode: .audioOnly,
                                                   identityPrior: .maskedReference(bandwidth: 0.5))
        #expect(config.identityText == "kappa=4 working_space=pca64 audio_bandwidth=0.7 audio_feature_noise=0.3 noise_seed=0 "
                + "drop=audio precision=automatic identity_prior=masked_reference(0.5)")
        #expect(!config.identityText.contains("TrajectoryProbe.") && !config.identityText.contains("Configuration("))
        // What v1 stored (and what a resume accepts as the same teacher).
        #expect("\(config)".hasPrefix("Configuration(kappa: 4.0, audioBandwidth: 0.7, audioFeatureNoise: 0.3, noiseSeed: 0, "
                                      + "workingSpace: TrajectoryProbe.WorkingSpaceKind.pca(components: 64), dropMode: TrajectoryProbe.DropMode.audioOnly"))
    }

    /// One drop-mode vocabulary: `audio` and `text+audio`; files of earlier versions said `audio-only`.
    @Test func dropModeSpellings() throws {
        #expect(DropMode(rawValue: "audio") == .audioOnly && DropMode.audioOnly.rawValue == "audio")
        #expect(DropMode(rawValue: "audio-only") == .audioOnly && DropMode(rawValue: "audio_only") == .audioOnly)
        #expect(DropMode(rawValue: "text+audio") == .textAudio && DropMode(rawValue: "text") == nil)
        for word in ["audio", "audio-only", "text+audio"] {
            let text = "clips: [{id: a, video: v.mp4, identity: i, box: \"1,1,2,2\"}]\nteacher: {bank: b, drop: \(word)}\narms: [\"trajectory w=4.5\"]\n"
            let c = try ProbeStudyFile.parse(text: text, file: "s.yaml", baseDirectory: base)
            #expect(c.teacher.dropMode.rawValue == (word == "text+audio" ? "text+audio" : "audio"))
        }
        // Store reads and writes the one spelling.
        let record = StudyRecord(name: "s", teacherKind: "analytic", teacherIdentity: "t", modelName: "m",
                                 dropMode: "audio-only", syncModel: "facesync-cca")
        #expect(record.dropMode == "audio" && record.parameters.dropMode == "audio")
        #expect(StudyParameters.dropModeSpelling("text+audio") == "text+audio")
    }

    /// `guidance_form` takes the probe's `neg` and Store's `uncond` for the same form.
    @Test(arguments: [("neg", CFGForm.uncond), ("uncond", .uncond), ("cond", .cond)])
    func guidanceFormSpellings(word: String, form: CFGForm) throws {
        let text = "clips: [{id: a, video: v.mp4, identity: i, box: \"1,1,2,2\"}]\nteacher: {bank: b}\narms: [\"trajectory w=4.5\"]\nguidance_form: \(word)\n"
        let c = try ProbeStudyFile.parse(text: text, file: "s.yaml", baseDirectory: base)
        #expect(c.guidanceForm == form)
        // Arms are stored in the uncond form whatever the file wrote: cond's g = 4.5 is w = 5.5.
        #expect(c.arms == [.trajectory(w: form == .cond ? 5.5 : 4.5)])
    }

    /// A study recorded before schema v2 (no CFG form, no teacher settings) is compared only on
    /// what it recorded.
    @Test func restrictionKeepsOnlyWhatTheOlderStudyRecorded() {
        var recorded = StudyParameters(teacherKind: "analytic")
        recorded.guidanceScale = 4.5
        recorded.numSteps = 50
        var now = recorded
        now.cfgForm = .uncond
        now.guidanceSource = "teacher.guidance_scale"
        now.teacherSettings = [StudySetting(label: "kappa", value: "4")]
        #expect(!now.differences(from: recorded).isEmpty)
        #expect(now.restricted(toKnownIn: recorded) == recorded)
        var other = now
        other.guidanceScale = 2
        #expect(recorded.differences(from: other.restricted(toKnownIn: recorded)) == ["parameter guidance_scale"])
    }
}
