import Digest
import Foundation

/// A safetensors file held in memory: an 8-byte little-endian header length, a JSON header
/// mapping tensor names to dtype, shape and byte range, then the raw little-endian tensors.
///
/// The reader is small on purpose (the format is that simple) so trajprobe needs no Python or
/// protobuf at run time; every byte range is checked against the file once, at load, so a
/// truncated download fails here naming the tensor rather than as garbage numbers later.
///
/// Limits, checked before anything is multiplied or allocated (a header is hostile input: its
/// shapes are numbers anyone can write): every dimension and the element count are products
/// checked for overflow, a tensor's bytes lie inside the file (so no tensor is larger than the
/// file that holds it), and every value read is finite (NaN or infinite weights are refused with
/// the tensor's name rather than turning every score into NaN).
package struct SafeTensors: Sendable {
    /// Where one tensor lies in the file and how it is stored, from the JSON header.
    package struct Entry: Sendable, Equatable {
        /// safetensors dtype name (`F32`, `F16`, `BF16`, `F64`, ...).
        package var dtype: String
        /// Dimensions, outermost first.
        package var shape: [Int]
        /// Byte range inside the payload (after the header).
        package var begin: Int
        /// End of the byte range inside the payload (exclusive).
        package var end: Int
        /// Element count: the shape's product, checked for overflow when the header was read.
        package var count: Int
    }

    // MARK: - Header and payload

    /// Name used in error messages (the path, or a label for in-memory data).
    package let file: String
    /// Every tensor in the header, by name.
    package let entries: [String: Entry]
    /// The header's `__metadata__` strings (converters record their inputs' SHA-256 here).
    package let metadata: [String: String]
    /// The whole file (memory-mapped when read from disk); tensors start at `payloadStart`.
    private let whole: Data
    private let payloadStart: Int

    /// SHA-256 of the whole file, recorded with every score the weights produce (computed on
    /// demand: the file stays memory-mapped, and debug builds need not hash 54 MB per load).
    package func sha256() -> String { SHA256Digest.hex(whole) }

    private static let dtypeSizes: [String: Int] = ["F32": 4, "F16": 2, "BF16": 2, "F64": 8,
                                                    "I64": 8, "I32": 4, "I16": 2, "I8": 1,
                                                    "U8": 1, "BOOL": 1]

    // MARK: - Reading and validating the header

    /// Reads and validates the file; `converter` names the script that makes it, for the error
    /// a missing file gets.
    package init(contentsOf url: URL, converter: String) throws {
        let path = url.path
        guard FileManager.default.fileExists(atPath: path) else {
            throw NetsError.missingWeights(file: path, converter: converter)
        }
        let data: Data
        do {
            data = try Data(contentsOf: url, options: .alwaysMapped)
        } catch {
            throw NetsError.unreadable(file: path, reason: error.localizedDescription)
        }
        try self.init(data: data, file: path)
    }

    /// Parses and validates the header of an in-memory file; `file` labels errors.
    package init(data: Data, file: String) throws {
        self.file = file
        guard data.count >= 8 else {
            throw NetsError.truncated(file: file, detail: "\(data.count) bytes, shorter than the 8-byte header length")
        }
        var headerLength: UInt64 = 0
        for i in 0..<8 { headerLength |= UInt64(data[data.startIndex + i]) << (8 * UInt64(i)) }
        guard headerLength <= UInt64(data.count - 8) else {
            throw NetsError.truncated(file: file, detail: "header of \(headerLength) bytes but only \(data.count - 8) follow")
        }
        let headerStart = data.startIndex + 8
        let headerEnd = headerStart + Int(headerLength)
        let json: Any
        do {
            json = try JSONSerialization.jsonObject(with: data.subdata(in: headerStart..<headerEnd))
        } catch {
            throw NetsError.badHeader(file: file, reason: "not JSON (\(error.localizedDescription))")
        }
        guard let header = json as? [String: Any] else {
            throw NetsError.badHeader(file: file, reason: "not a JSON object")
        }
        let payloadCount = data.endIndex - headerEnd
        var entries: [String: Entry] = [:]
        var metadata: [String: String] = [:]
        for (name, value) in header {
            if name == "__metadata__" {
                for (k, v) in (value as? [String: Any]) ?? [:] { metadata[k] = "\(v)" }
                continue
            }
            guard let info = value as? [String: Any], let dtype = info["dtype"] as? String,
                  let shapeAny = info["shape"] as? [Any], let offsetsAny = info["data_offsets"] as? [Any],
                  offsetsAny.count == 2 else {
                throw NetsError.badHeader(file: file, reason: "entry '\(name)' lacks dtype, shape or data_offsets")
            }
            // `as? Int` bridges only numbers an Int holds exactly (no rounding of 1e30, no 2.5).
            let shape = shapeAny.compactMap { $0 as? Int }
            let offsets = offsetsAny.compactMap { $0 as? Int }
            guard shape.count == shapeAny.count, shape.allSatisfy({ $0 >= 0 }), offsets.count == 2,
                  offsets[0] >= 0, offsets[1] >= offsets[0] else {
                throw NetsError.badHeader(file: file, reason: "entry '\(name)' has a bad shape or data_offsets")
            }
            guard let size = Self.dtypeSizes[dtype] else {
                throw NetsError.unsupportedDType(file: file, tensor: name, dtype: dtype)
            }
            let span = offsets[1] - offsets[0]
            guard let count = Self.checkedProduct(shape), case let (bytes, false) = count.multipliedReportingOverflow(by: size),
                  bytes <= payloadCount else {
                throw NetsError.badHeader(file: file, reason: "tensor '\(name)' has \(dtype) shape \(shape), larger than "
                                          + "the file's \(payloadCount) bytes of data")
            }
            let entry = Entry(dtype: dtype, shape: shape, begin: offsets[0], end: offsets[1], count: count)
            guard span == bytes else {
                throw NetsError.badHeader(file: file, reason: "tensor '\(name)' spans \(span) bytes, "
                                          + "its \(dtype) shape \(shape) needs \(bytes)")
            }
            guard entry.end <= payloadCount else {
                throw NetsError.truncated(file: file, detail: "tensor '\(name)' ends at byte \(entry.end) of the data "
                                          + "but the file holds \(payloadCount)")
            }
            entries[name] = entry
        }
        self.entries = entries
        self.metadata = metadata
        self.whole = data
        self.payloadStart = headerEnd - data.startIndex
    }

    /// The product of `dims`, nil when it overflows `Int`.
    package static func checkedProduct(_ dims: [Int]) -> Int? {
        var product = 1
        for d in dims {
            let (p, overflow) = product.multipliedReportingOverflow(by: d)
            if overflow { return nil }
            product = p
        }
        return product
    }

    // MARK: - Tensor values

    /// The tensor as Float (F32 as is; F16, BF16, F64 converted), after checking its shape;
    /// NaN or infinite values are refused, naming the tensor and the first bad index.
    package func floats(_ name: String, shape: [Int]) throws -> [Float] {
        let values = try rawFloats(name, shape: shape)
        if let bad = values.firstIndex(where: { !$0.isFinite }) {
            throw NetsError.nonFiniteWeights(file: file, tensor: name, index: bad, value: "\(values[bad])")
        }
        return values
    }

    private func rawFloats(_ name: String, shape: [Int]) throws -> [Float] {
        guard let entry = entries[name] else { throw NetsError.missingTensor(file: file, tensor: name) }
        guard entry.shape == shape else {
            throw NetsError.wrongShape(file: file, tensor: name, expected: shape, found: entry.shape)
        }
        let n = entry.count
        guard ["F32", "F16", "BF16", "F64"].contains(entry.dtype) else {
            throw NetsError.unsupportedDType(file: file, tensor: name, dtype: entry.dtype)
        }
        return whole.withUnsafeBytes { (raw: UnsafeRawBufferPointer) -> [Float] in
            let base = raw.baseAddress!.advanced(by: payloadStart + entry.begin)
            return [Float](unsafeUninitializedCapacity: n) { out, filled in
                switch entry.dtype {
                case "F32":
                    for i in 0..<n {
                        out[i] = Float(bitPattern: UInt32(littleEndian: base.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
                    }
                case "F16":
                    for i in 0..<n {
                        out[i] = Self.halfToFloat(UInt16(littleEndian: base.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
                    }
                case "BF16":
                    for i in 0..<n {
                        let bits = UInt16(littleEndian: base.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))
                        out[i] = Float(bitPattern: UInt32(bits) << 16)
                    }
                case "F64":
                    for i in 0..<n {
                        out[i] = Float(Double(bitPattern: UInt64(littleEndian: base.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self))))
                    }
                default:
                    break
                }
                filled = n
            }
        }
    }

    /// IEEE binary16 to Float, subnormals, infinities and NaN included (no Float16 type needed).
    package static func halfToFloat(_ h: UInt16) -> Float {
        let sign: Float = (h & 0x8000) != 0 ? -1 : 1
        let exponent = Int((h >> 10) & 0x1f)
        let mantissa = UInt32(h & 0x3ff)
        if exponent == 0 { return sign * Float(mantissa) * 0x1p-24 }
        let signBit = UInt32(h & 0x8000) << 16
        if exponent == 31 { return Float(bitPattern: signBit | 0x7f80_0000 | (mantissa << 13)) }
        return Float(bitPattern: signBit | (UInt32(exponent + 112) << 23) | (mantissa << 13))
    }

    // MARK: - Writing

    /// Writes F32 tensors as a safetensors file (header padded to 8 bytes with spaces, as the
    /// reference writer does). Used by the tests to exercise the reader on real files.
    package static func write(_ tensors: [(name: String, shape: [Int], values: [Float])],
                              metadata: [String: String] = [:], to url: URL) throws {
        try write(mixed: tensors.map { ($0.name, $0.shape, Values.f32($0.values)) }, metadata: metadata, to: url)
    }
}

/// SHA-256 of a byte buffer as lowercase hex (provenance of weights files).
package func sha256Hex(_ data: Data) -> String { SHA256Digest.hex(data) }
