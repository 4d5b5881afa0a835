import Foundation
import Measurement
import Store

/// Datatypes of the Open Inference Protocol that trajprobe sends and reads.
public enum WireDatatype: String, Sendable, Codable, CaseIterable {
    /// 32-bit floats: the default for states and predictions.
    case fp32 = "FP32"
    /// 16-bit floats, halving the bytes of latents at a precision cost.
    case fp16 = "FP16"
    /// 64-bit floats, for a `t` input the model declares as FP64.
    case fp64 = "FP64"
    /// Strings, such as the `branch` name of each row.
    case bytes = "BYTES"

    var elementSize: Int { self == .fp16 ? 2 : self == .fp64 ? 8 : 4 }
}

/// One named tensor on the wire: floats (sent as FP32 or FP16) or strings (BYTES).
public struct WireTensor: Sendable, Equatable {
    /// The tensor's values before encoding.
    public enum Payload: Sendable, Equatable {
        /// Single-precision values, sent as FP32 or FP16.
        case floats([Float])
        /// Double-precision values, sent as FP64.
        case doubles([Double])
        /// Strings, sent as BYTES.
        case strings([String])
    }

    /// The input or output name the model declares.
    public var name: String
    /// Axis lengths, batch first.
    public var shape: [Int]
    /// How the values travel on the wire.
    public var datatype: WireDatatype
    /// The values themselves.
    public var payload: Payload

    /// A float tensor; the shape's product must equal `floats.count` (a programming error otherwise).
    public init(name: String, shape: [Int], floats: [Float], datatype: WireDatatype = .fp32) {
        precondition(datatype != .bytes && shape.reduce(1, *) == floats.count, "WireTensor \(name): \(shape) vs \(floats.count)")
        self.name = name
        self.shape = shape
        self.datatype = datatype
        self.payload = .floats(floats)
    }

    /// FP64 values (the flow time: rounding σ to float32 moves the logits of a sharp posterior).
    public init(name: String, shape: [Int], doubles: [Double]) {
        precondition(shape.reduce(1, *) == doubles.count, "WireTensor \(name): \(shape) vs \(doubles.count)")
        self.name = name
        self.shape = shape
        self.datatype = .fp64
        self.payload = .doubles(doubles)
    }

    /// A BYTES tensor of strings; the shape's product must equal `strings.count`.
    public init(name: String, shape: [Int], strings: [String]) {
        precondition(shape.reduce(1, *) == strings.count, "WireTensor \(name): \(shape) vs \(strings.count)")
        self.name = name
        self.shape = shape
        self.datatype = .bytes
        self.payload = .strings(strings)
    }

    /// The values as `Float` (doubles narrowed), or nil for a string tensor.
    public var floats: [Float]? {
        switch payload {
        case .floats(let f): return f
        case .doubles(let d): return d.map(Float.init)
        case .strings: return nil
        }
    }

    /// The raw little-endian bytes of the binary tensor extension (BYTES: 4-byte length + UTF-8).
    func binary() -> [UInt8] {
        switch payload {
        case .strings(let s):
            var out: [UInt8] = []
            for item in s {
                let u = Array(item.utf8)
                withUnsafeBytes(of: UInt32(u.count).littleEndian) { out.append(contentsOf: $0) }
                out.append(contentsOf: u)
            }
            return out
        case .doubles(let d):
            var out = [UInt8](repeating: 0, count: 8 * d.count)
            out.withUnsafeMutableBytes { raw in d.withUnsafeBytes { src in raw.copyMemory(from: src) } }
            return out
        case .floats(let f):
            if datatype == .fp16 {
                var out = [UInt8](repeating: 0, count: 2 * f.count)
                out.withUnsafeMutableBytes { raw in
                    for i in 0..<f.count { raw.storeBytes(of: Float16(f[i]).bitPattern.littleEndian, toByteOffset: 2 * i, as: UInt16.self) }
                }
                return out
            }
            var out = [UInt8](repeating: 0, count: 4 * f.count)
            out.withUnsafeMutableBytes { raw in
                f.withUnsafeBytes { src in raw.copyMemory(from: src) }   // little-endian hosts only (x86-64, arm64)
            }
            return out
        }
    }

    /// The JSON `data` array: floats in their shortest round-trip form (FP16 values rounded to
    /// half first so both forms carry the same numbers), strings escaped.
    func jsonData(into s: inout String) {
        s += "["
        switch payload {
        case .floats(let f):
            for i in 0..<f.count {
                if i > 0 { s += "," }
                s += datatype == .fp16 ? Float(Float16(f[i])).description : f[i].description
            }
        case .doubles(let d):
            for i in 0..<d.count {
                if i > 0 { s += "," }
                s += d[i].description
            }
        case .strings(let items):
            for i in 0..<items.count {
                if i > 0 { s += "," }
                s += jsonString(items[i])
            }
        }
        s += "]"
    }
}

/// `s` as a JSON string literal.
func jsonString(_ s: String) -> String { StudyStore.jsonString(s) }

/// A `POST …/infer` body, JSON or binary.
public struct InferenceRequest: Sendable {
    /// Request id echoed by the server, for matching logs; nil sends none.
    public var id: String?
    /// The input tensors, in the order the model declares them.
    public var inputs: [WireTensor]
    /// Outputs asked for, each with the datatype to send it back in.
    public var outputs: [(name: String, datatype: WireDatatype)]
    /// Binary tensor extension for inputs and outputs.
    public var binary: Bool

    /// A request; `binary` chooses the binary tensor extension over JSON for both directions.
    public init(id: String? = nil, inputs: [WireTensor], outputs: [(name: String, datatype: WireDatatype)], binary: Bool) {
        self.id = id
        self.inputs = inputs
        self.outputs = outputs
        self.binary = binary
    }

    /// The body and, for the binary form, the `Inference-Header-Content-Length` value.
    public func encoded() -> (body: Data, headerLength: Int?) {
        var header = "{"
        if let id { header += "\"id\":\(jsonString(id)),"}
        header += "\"inputs\":["
        var blobs: [[UInt8]] = []
        for (i, t) in inputs.enumerated() {
            if i > 0 { header += "," }
            header += "{\"name\":\(jsonString(t.name)),\"shape\":[\(t.shape.map(String.init).joined(separator: ","))],\"datatype\":\"\(t.datatype.rawValue)\""
            if binary {
                let b = t.binary()
                header += ",\"parameters\":{\"binary_data_size\":\(b.count)}}"
                blobs.append(b)
            } else {
                header += ",\"data\":"
                t.jsonData(into: &header)
                header += "}"
            }
        }
        header += "],\"outputs\":["
        for (i, o) in outputs.enumerated() {
            if i > 0 { header += "," }
            header += "{\"name\":\(jsonString(o.name)),\"parameters\":{\"binary_data\":\(binary),\"datatype\":\"\(o.datatype.rawValue)\"}}"
        }
        header += "]}"
        var body = Data(header.utf8)
        let headerLength = body.count
        guard binary else { return (body, nil) }
        for b in blobs { body.append(contentsOf: b) }
        return (body, headerLength)
    }
}

/// A parsed `…/infer` response.
public struct InferenceResponse: Sendable {
    /// The model that answered, as the server names it.
    public var modelName: String
    /// Output tensors by name.
    public var outputs: [String: WireTensor]
    /// `compute_ms` of the reference server (the model's own time), when the server reports it.
    public var computeMilliseconds: Double?

    /// Parses JSON or binary bodies; any inconsistency is ``RemoteError/malformedResponse``.
    public static func decode(_ body: Data, headerLength: Int?, url: String) throws(RemoteError) -> InferenceResponse {
        let headerEnd = headerLength ?? body.count
        guard headerEnd >= 0, headerEnd <= body.count else {
            throw .malformedResponse(url: url, problem: "Inference-Header-Content-Length \(headerEnd) exceeds the body (\(body.count) bytes)")
        }
        let object: Any
        do { object = try JSONSerialization.jsonObject(with: body.prefix(headerEnd)) } catch {
            throw .malformedResponse(url: url, problem: "response is not JSON (\(body.count) bytes)")
        }
        guard let root = object as? [String: Any], let outs = root["outputs"] as? [[String: Any]] else {
            throw .malformedResponse(url: url, problem: "response has no 'outputs' list")
        }
        var response = InferenceResponse(modelName: root["model_name"] as? String ?? "", outputs: [:])
        if let p = root["parameters"] as? [String: Any], let c = p["compute_ms"] as? Double { response.computeMilliseconds = c }
        var offset = headerEnd
        for spec in outs {
            guard let name = spec["name"] as? String, let shapeAny = spec["shape"] as? [Any],
                  let typeText = spec["datatype"] as? String else {
                throw .malformedResponse(url: url, problem: "an output lacks name, shape or datatype")
            }
            // `as? Int` bridges only numbers an Int holds exactly.
            let shape = shapeAny.compactMap { $0 as? Int }
            guard shape.count == shapeAny.count, shape.allSatisfy({ $0 >= 0 }) else {
                throw .malformedResponse(url: url, problem: "output '\(name)' has shape \(shapeAny)")
            }
            guard let type = WireDatatype(rawValue: typeText), type != .bytes else {
                throw .malformedResponse(url: url, problem: "output '\(name)' has datatype \(typeText) (trajprobe reads FP32, FP16 and FP64)")
            }
            // The element count is checked against the body before anything is allocated: a
            // shape's product may overflow, and no answer holds more values than bytes.
            var count = 1
            for d in shape {
                let (p, overflow) = count.multipliedReportingOverflow(by: d)
                guard !overflow, p <= body.count else {
                    throw .malformedResponse(url: url, problem: "output '\(name)' has shape \(shape), more values than the \(body.count)-byte body holds")
                }
                count = p
            }
            var values: [Float]
            if let params = spec["parameters"] as? [String: Any], let sizeAny = params["binary_data_size"] {
                guard let size = sizeAny as? Int, size >= 0, size == count * type.elementSize, size <= body.count - offset else {
                    throw .malformedResponse(url: url, problem: "output '\(name)': \(sizeAny) binary bytes for shape \(shape) \(typeText), \(body.count - offset) left in the body")
                }
                values = [Float](repeating: 0, count: count)
                body.withUnsafeBytes { raw in
                    let base = raw.baseAddress!.advanced(by: offset)
                    for i in 0..<count {
                        if type == .fp16 {
                            values[i] = Float(Float16(bitPattern: UInt16(littleEndian: base.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))))
                        } else if type == .fp64 {
                            values[i] = Float(Double(bitPattern: UInt64(littleEndian: base.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self))))
                        } else {
                            values[i] = Float(bitPattern: UInt32(littleEndian: base.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
                        }
                    }
                }
                offset += size
            } else {
                guard let data = spec["data"] as? [Any] else {
                    throw .malformedResponse(url: url, problem: "output '\(name)' has neither data nor binary_data_size")
                }
                guard data.count == count else {
                    throw .malformedResponse(url: url, problem: "output '\(name)': \(data.count) values for shape \(shape)")
                }
                values = [Float](repeating: 0, count: count)
                for i in 0..<count {
                    guard let n = data[i] as? NSNumber else {
                        throw .malformedResponse(url: url, problem: "output '\(name)': value \(i) is not a number")
                    }
                    guard !isJSONBool(data[i]) else {
                        throw .malformedResponse(url: url, problem: "output '\(name)': value \(i) is not a number")
                    }
                    values[i] = n.floatValue
                }
            }
            response.outputs[name] = WireTensor(name: name, shape: shape, floats: values, datatype: type)
        }
        return response
    }
}
