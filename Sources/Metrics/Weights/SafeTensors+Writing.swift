import Foundation
import Support

extension SafeTensors {
    /// One tensor's values in the dtype it is stored with.
    package enum Values: Sendable {
        /// 32-bit floats (`F32`), the dtype of network weights.
        case f32([Float])
        /// 64-bit floats (`F64`).
        case f64([Double])
        /// 64-bit integers (`I64`), e.g. the exported bank's identity row offsets.
        case i64([Int64])

        var dtype: String {
            switch self {
            case .f32: return "F32"
            case .f64: return "F64"
            case .i64: return "I64"
            }
        }

        var count: Int {
            switch self {
            case .f32(let v): return v.count
            case .f64(let v): return v.count
            case .i64(let v): return v.count
            }
        }

        var byteCount: Int { self.dtype == "F32" ? 4 * count : 8 * count }

        func append(to out: inout Data) {
            switch self {
            case .f32(let v): out.append(contentsOf: v.map { $0.bitPattern.littleEndian }.withUnsafeBytes { Array($0) })
            case .f64(let v): out.append(contentsOf: v.map { $0.bitPattern.littleEndian }.withUnsafeBytes { Array($0) })
            case .i64(let v): out.append(contentsOf: v.map { $0.littleEndian }.withUnsafeBytes { Array($0) })
            }
        }
    }

    /// Writes tensors of mixed dtypes (F32, F64, I64) as a safetensors file, atomically.
    ///
    /// Exists for the teacher-state export: the NumPy twin of the analytic teacher must see the
    /// bank in float64 to reproduce the float64 kernel, which an F32-only file would round.
    package static func write(mixed tensors: [(name: String, shape: [Int], values: Values)],
                              metadata: [String: String] = [:], to url: URL) throws {
        var header: [String: Any] = [:]
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var offset = 0
        for t in tensors {
            precondition(t.values.count == t.shape.reduce(1, *), "SafeTensors.write: \(t.name) shape/count")
            header[t.name] = ["dtype": t.values.dtype, "shape": t.shape, "data_offsets": [offset, offset + t.values.byteCount]]
            offset += t.values.byteCount
        }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        while json.count % 8 != 0 { json.append(0x20) }
        var out = Data(capacity: 8 + json.count + offset)
        var length = UInt64(json.count).littleEndian
        withUnsafeBytes(of: &length) { out.append(contentsOf: $0) }
        out.append(json)
        for t in tensors { t.values.append(to: &out) }
        do {
            try AtomicFile.write(out, to: url.path)
        } catch {
            throw NetsError.unreadable(file: url.path, reason: "cannot write (\(error.detail))")
        }
    }
}
