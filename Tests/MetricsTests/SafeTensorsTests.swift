import Foundation
import Synthetic
import Testing
@testable import Metrics

/// The test-weight formula (``FormulaWeights``) and the fixtures it was checked against.
enum NetsFormula {
    static func unit(_ stream: Int, _ count: Int) -> [Float] { FormulaWeights.unit(stream, count) }

    /// Writes the formula's tensors for `specs` to a temporary safetensors file, so the tests
    /// go through the real loader.
    static func weightsFile(_ specs: [TensorSpec], name: String) throws -> URL {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("trajprobe-\(name)-\(ProcessInfo.processInfo.processIdentifier).safetensors")
        try FormulaWeights.write(specs, to: url)
        return url
    }

    static func fixture(_ name: String) throws -> [String: Any] {
        let url = try #require(Bundle.module.url(forResource: name, withExtension: "json", subdirectory: "Fixtures"))
        return try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
    }

    static func floats(_ any: Any?) -> [Float] {
        ((any as? [Any]) ?? []).map { Float(($0 as! NSNumber).doubleValue) }
    }
}

private func temporaryURL(_ name: String) -> URL {
    FileManager.default.temporaryDirectory.appendingPathComponent("trajprobe-st-\(name)-\(ProcessInfo.processInfo.processIdentifier)")
}

/// A safetensors file assembled by hand, so dtypes the writer never produces can be read back.
private func rawFile(header: String, payload: [UInt8]) -> Data {
    var json = Array(header.utf8)
    while json.count % 8 != 0 { json.append(0x20) }
    var data = Data()
    var n = UInt64(json.count).littleEndian
    withUnsafeBytes(of: &n) { data.append(contentsOf: $0) }
    data.append(contentsOf: json)
    data.append(contentsOf: payload)
    return data
}

@Test func formulaMatchesPythonValues() {
    // Printed by nets_fixtures.unit: unit(0, 3), unit(7, 2), unit(123456, 1), unit(5, 2**20)[-1].
    #expect(NetsFormula.unit(0, 3) == [0.7666215896606445, 0.13312304019927979, 0.1823793649673462])
    #expect(NetsFormula.unit(7, 2) == [0.47541117668151855, -0.7949626445770264])
    #expect(NetsFormula.unit(123456, 1) == [0.06449103355407715])
    #expect(NetsFormula.unit(5, 1 << 20).last == -0.24323356)
}

@Test func writeThenReadRoundTrips() throws {
    let url = temporaryURL("roundtrip")
    defer { try? FileManager.default.removeItem(at: url) }
    let a: [Float] = [1, -2.5, 3.25, .pi, 0, -0.0, 1e-30, 6e4]
    try SafeTensors.write([(name: "a", shape: [2, 4], values: a), (name: "b.bias", shape: [1], values: [7])],
                          metadata: ["k": "v"], to: url)
    let file = try SafeTensors(contentsOf: url, converter: "tools/convert_lpips.py")
    #expect(try file.floats("a", shape: [2, 4]) == a)
    #expect(try file.floats("b.bias", shape: [1]) == [7])
    #expect(file.metadata["k"] == "v")
    #expect(file.entries["a"]?.shape == [2, 4])
}

@Test func halfAndBFloatAreDecoded() throws {
    // F16: 1, -2.5, 65504 (largest), 2^-24 (smallest subnormal); BF16: 1, -3 (0x3F80, 0xC040).
    let f16: [UInt16] = [0x3C00, 0xC100, 0x7BFF, 0x0001]
    let bf16: [UInt16] = [0x3F80, 0xC040]
    var payload: [UInt8] = []
    for h in f16 + bf16 { payload += [UInt8(h & 0xff), UInt8(h >> 8)] }
    let header = #"{"h":{"dtype":"F16","shape":[4],"data_offsets":[0,8]},"b":{"dtype":"BF16","shape":[2],"data_offsets":[8,12]}}"#
    let file = try SafeTensors(data: rawFile(header: header, payload: payload), file: "mem")
    #expect(try file.floats("h", shape: [4]) == [1, -2.5, 65504, 0x1p-24])
    #expect(try file.floats("b", shape: [2]) == [1, -3])
}

@Test func wrongShapeNamesTheTensor() throws {
    let url = temporaryURL("shape")
    defer { try? FileManager.default.removeItem(at: url) }
    try SafeTensors.write([(name: "features.0.weight", shape: [2, 3], values: [1, 2, 3, 4, 5, 6])], to: url)
    let file = try SafeTensors(contentsOf: url, converter: "x")
    #expect(throws: NetsError.wrongShape(file: url.path, tensor: "features.0.weight", expected: [3, 2], found: [2, 3])) {
        try file.floats("features.0.weight", shape: [3, 2])
    }
    #expect(throws: NetsError.missingTensor(file: url.path, tensor: "features.3.weight")) {
        try file.floats("features.3.weight", shape: [1])
    }
}

@Test func truncatedFileNamesTheTensor() throws {
    let url = temporaryURL("truncated")
    defer { try? FileManager.default.removeItem(at: url) }
    try SafeTensors.write([(name: "first", shape: [4], values: [1, 2, 3, 4]),
                           (name: "second", shape: [4], values: [5, 6, 7, 8])], to: url)
    let whole = try Data(contentsOf: url)
    do {
        _ = try SafeTensors(data: whole.prefix(whole.count - 3), file: "cut.safetensors")
        Issue.record("a truncated file was accepted")
    } catch let error as NetsError {
        guard case .truncated(let file, let detail) = error else { Issue.record("got \(error)"); return }
        #expect(file == "cut.safetensors")
        #expect(detail.contains("'second'"))
    }
    #expect(throws: NetsError.self) { try SafeTensors(data: whole.prefix(5), file: "cut") }
}

@Test func badHeaderIsRejected() {
    #expect(throws: NetsError.badHeader(file: "bad", reason: "not a JSON object")) {
        try SafeTensors(data: rawFile(header: "[1,2]", payload: []), file: "bad")
    }
    #expect(throws: NetsError.self) { try SafeTensors(data: rawFile(header: "{not json", payload: []), file: "bad") }
    let wrongSpan = #"{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#
    #expect(throws: NetsError.self) { try SafeTensors(data: rawFile(header: wrongSpan, payload: Array(repeating: 0, count: 12)), file: "bad") }
}

@Test func missingFileNamesTheConverter() {
    let url = URL(fileURLWithPath: "/nonexistent/syncnet_v2.safetensors")
    #expect(throws: NetsError.missingWeights(file: url.path, converter: "tools/convert_syncnet.py")) {
        try SyncNet(weights: url)
    }
    #expect(throws: NetsError.missingWeights(file: url.path, converter: "tools/convert_lpips.py")) {
        try LPIPS(weights: url)
    }
    let message = NetsError.missingWeights(file: url.path, converter: "tools/convert_lpips.py").description
    #expect(message.contains("tools/convert_lpips.py") && message.contains(url.path))
}

@Test func architectureLoaderChecksShapes() throws {
    var specs = LPIPS.tensorSpecs
    specs[2].shape = [192, 64, 3, 3]      // features.3.weight is 5x5 in AlexNet
    let url = try NetsFormula.weightsFile(specs, name: "lpips-badshape")
    defer { try? FileManager.default.removeItem(at: url) }
    #expect(throws: NetsError.wrongShape(file: url.path, tensor: "features.3.weight",
                                         expected: [192, 64, 5, 5], found: [192, 64, 3, 3])) {
        try LPIPS(weights: url)
    }
}

@Test func loadedWeightsReportTheirSHA256() throws {
    // A small file: hashing is byte-for-byte the FIPS-checked function above, and debug builds
    // hash about 3 MB/s.
    let url = temporaryURL("sha")
    defer { try? FileManager.default.removeItem(at: url) }
    try SafeTensors.write([(name: "w", shape: [3, 5], values: NetsFormula.unit(9, 15))], metadata: ["formula": "splitmix unit"], to: url)
    let file = try SafeTensors(contentsOf: url, converter: "x")
    #expect(file.sha256() == sha256Hex(try Data(contentsOf: url)))
    #expect(file.sha256().count == 64)
    #expect(file.metadata["formula"] == "splitmix unit")
}
