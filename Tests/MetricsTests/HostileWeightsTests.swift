import Foundation
import Testing
@testable import Metrics

/// Issue 16's weight and model-file repros (D1, D4, D11): every hostile number is refused with
/// one line naming the file and the field, before anything is sized from it.
@Suite struct HostileWeightsTests {
    /// A safetensors file with `header` as its JSON and `payload` bytes after it.
    static func safetensors(_ header: String, payload: Int) -> Data {
        var json = Array(header.utf8)
        while json.count % 8 != 0 { json.append(0x20) }
        var data = Data()
        var n = UInt64(json.count).littleEndian
        withUnsafeBytes(of: &n) { data.append(contentsOf: $0) }
        data.append(contentsOf: json)
        data.append(contentsOf: [UInt8](repeating: 0, count: payload))
        return data
    }

    @Test(arguments: [
        // D1: the shape product overflows Int.
        (#"{"features.0.weight": {"dtype": "F32", "shape": [4294967296, 4294967296, 16], "data_offsets": [0, 16]}}"#,
         "Weights file 'w.safetensors' has a bad safetensors header: tensor 'features.0.weight' has F32 shape [4294967296, 4294967296, 16], larger than the file's 16 bytes of data."),
        // The product fits, its bytes do not.
        (#"{"a": {"dtype": "F64", "shape": [1152921504606846976], "data_offsets": [0, 16]}}"#,
         "Weights file 'w.safetensors' has a bad safetensors header: tensor 'a' has F64 shape [1152921504606846976], larger than the file's 16 bytes of data."),
        // Numbers no Int holds exactly.
        (#"{"a": {"dtype": "F32", "shape": [1e30], "data_offsets": [0, 16]}}"#,
         "Weights file 'w.safetensors' has a bad safetensors header: entry 'a' has a bad shape or data_offsets."),
        (#"{"a": {"dtype": "F32", "shape": [2.5], "data_offsets": [0, 16]}}"#,
         "Weights file 'w.safetensors' has a bad safetensors header: entry 'a' has a bad shape or data_offsets."),
        (#"{"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 18446744073709551615]}}"#,
         "Weights file 'w.safetensors' has a bad safetensors header: entry 'a' has a bad shape or data_offsets."),
    ])
    func headersThatOverflowAreRefused(header: String, message: String) {
        do {
            _ = try SafeTensors(data: Self.safetensors(header, payload: 16), file: "w.safetensors")
            Issue.record("accepted \(header)")
        } catch {
            #expect("\(error)" == message)
        }
    }

    @Test func nonFiniteWeightsAreRefusedWithTheTensorsName() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("trajprobe-nan-\(UUID().uuidString).safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        try SafeTensors.write([(name: "ok", shape: [2], values: [1, 2]), (name: "lin0.model.1.weight", shape: [3], values: [0, .nan, 1]),
                               (name: "inf", shape: [1], values: [-.infinity])], to: url)
        let file = try SafeTensors(contentsOf: url, converter: "tools/convert_lpips.py")
        #expect(try file.floats("ok", shape: [2]) == [1, 2])
        #expect(throws: NetsError.nonFiniteWeights(file: url.path, tensor: "lin0.model.1.weight", index: 1, value: "nan")) {
            try file.floats("lin0.model.1.weight", shape: [3])
        }
        #expect(throws: NetsError.nonFiniteWeights(file: url.path, tensor: "inf", index: 0, value: "-inf")) {
            try file.floats("inf", shape: [1])
        }
        #expect(NetsError.nonFiniteWeights(file: "w", tensor: "t", index: 1, value: "nan").description
                == "Tensor 't' in 'w' holds nan at index 1: weights must be finite (re-run the converter on the original checkpoint).")
    }

    // MARK: - D4: FaceSync model files

    /// A small fitted model, as JSON, to damage field by field.
    static let modelJSON: Data = {
        let clips = (1...2).map { seed -> FaceSyncClip in
            let c = SyntheticTalker.clip(seconds: 2, seed: UInt64(seed))
            return FaceSyncClip(name: "train\(seed)", frames: c.frames, audio: c.audio, mouth: SyntheticTalker.mouthBox)
        }
        let model = try! FaceSyncModel.fit(clips: clips, components: 4)
        return try! model.encoded(source: "m")
    }()

    static func damaged(_ edit: (inout [String: Any]) -> Void) -> Data {
        var json = try! JSONSerialization.jsonObject(with: modelJSON) as! [String: Any]
        edit(&json)
        return try! JSONSerialization.data(withJSONObject: json)
    }

    static func feature(_ key: String, _ value: Any) -> Data {
        damaged { j in var f = j["features"] as! [String: Any]; f[key] = value; j["features"] = f }
    }

    @Test func intactModelLoads() throws {
        let model = try FaceSyncModel(data: Self.damaged { _ in }, source: "m.json")
        #expect(model.components == 4)
    }

    @Test(arguments: [
        (feature("dctSize", 1_000_000_000_000), "features.dctSize 1000000000000 is not in 1...32 (at most cropSize)"),
        (feature("cropSize", 4_000_000), "features.cropSize 4000000 is not in 1...512"),
        (feature("mfccPerFrame", 1000), "features.mfccPerFrame 1000 is not 4 (MFCC rows every 10 ms, 25 fps video)"),
        (feature("samplesPerFrame", 0), "features.samplesPerFrame 0 is not 640 (16 kHz audio, 25 fps video)"),
        (feature("videoFrames", -5), "features.videoFrames -5 is not in 1...25"),
        (feature("mfccFrames", 21), "features.mfccFrames 21 is not 20 (the audio window must span the video window's 5 frames)"),
        (damaged { $0["components"] = Int.max }, "components 9223372036854775807 is not in 1...180"),
        (damaged { $0["videoScale"] = ($0["videoScale"] as! [Any]).map { ($0 as! NSNumber).doubleValue }.enumerated().map { $0.offset == 3 ? 0 : $0.element } },
         "videoScale[3] is 0.0, scales must be positive"),
        (damaged { $0["correlations"] = [0.9, 0.5, 1.5, 0.1] }, "correlations[2] is 1.5, not in [0, 1]"),
        (damaged { $0["audioMean"] = Array(($0["audioMean"] as! [Any]).dropLast()) }, "array sizes do not match the feature settings"),
        (damaged { $0["regularisation"] = -1 }, "regularisation -1.0 is not positive"),
        (damaged { $0["trainingWindows"] = 1 }, "trainingWindows 1 is under 2"),
    ])
    func damagedModelFilesAreRefusedNamingTheField(data: Data, detail: String) {
        #expect(throws: MetricsError.modelFile(source: "m.json", detail: detail)) { try FaceSyncModel(data: data, source: "m.json") }
    }

    @Test func modelFileErrorsStayOneLine() {
        do {
            _ = try FaceSyncModel(data: Data(#"{"format": "trajprobe-facesync", "version": 1}"#.utf8), source: "m.json")
            Issue.record("accepted a model without fields")
        } catch {
            #expect(!"\(error)".contains("\n"), "\(error)")
            #expect("\(error)".hasPrefix("m.json: bad FaceSync model file (not a FaceSync model: "))
        }
    }
}
