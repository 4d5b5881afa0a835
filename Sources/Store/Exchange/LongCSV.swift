import Foundation

/// The long metric-table format that existing analysis scripts write (pandas `to_csv` and
/// hand-written `csv.writer` loops): one row per (step, sample, metric, region).
///
/// ```
/// step,t,sample,metric,region,value
/// -1,gt,clip01,sync_c,face,7.91
/// 30,0.768935,clip01,ssim,mouth,0.8123
/// ```
///
/// Reading is liberal, so files load without conversion:
/// - columns in any order, matched by name case-insensitively; optional `protocol`, `arm`, `seed`;
///   a leading unnamed column (pandas' index) and other unknown columns are skipped and reported;
/// - LF, CRLF or CR line ends, a UTF-8 byte-order mark, RFC 4180 quoting (`"a,b"`, `""`),
///   spaces around unquoted fields, blank lines;
/// - `step` an integer or an integral float (`30.0`), or `gt`; `t` a float or `gt`;
///   a GT row is `step` −1 and `t` `gt` (an empty or `nan` t is accepted on step −1);
/// - `value` a float, `inf`/`-inf`, or missing: empty, `nan`, `NaN`, `NA`, `null`, `None` all mean
///   "not computed" and are stored as NULL.
///
/// Writing is exact: `step,t,sample,metric,region,value[,protocol],arm,seed`, LF line ends,
/// numbers in shortest round-trip form (Python's `repr`), missing values as `nan`, quotes only
/// where needed. Export → import → export is byte-identical.
public enum LongCSV {
    /// The columns every file must have.
    public static let requiredColumns = ["step", "t", "sample", "metric", "region", "value"]

    // MARK: - Rows and reading

    /// One parsed data row, with its 1-based line number in the file.
    struct Row: Sendable {
        var line: Int
        var step: Int
        /// nil on GT rows.
        var t: Double?
        var sample: String
        var metric: String
        var region: String
        var value: Double
        var protocolName: String?
        /// The `arm` column's label, if the file has one.
        var arm: String?
        var seed: Int?
    }

    struct Table: Sendable {
        var rows: [Row]
        var ignoredColumns: [String]
        var hasArmColumn: Bool
    }

    /// Splits CSV text into records of fields, each with the line it starts on.
    static func records(_ bytes: [UInt8], path: String) throws -> [(line: Int, fields: [String])] {
        let comma = UInt8(ascii: ","), quote = UInt8(ascii: "\""), lf = UInt8(ascii: "\n"), cr = UInt8(ascii: "\r")
        let space = UInt8(ascii: " "), tab = UInt8(ascii: "\t")
        var out: [(line: Int, fields: [String])] = []
        return try bytes.withUnsafeBufferPointer { b -> [(line: Int, fields: [String])] in
            let n = b.count
            var i = (n >= 3 && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF) ? 3 : 0
            var line = 1
            var fields: [String] = []
            var quoted: [UInt8] = []

            func text(_ lo: Int, _ hi: Int, recordLine: Int) throws -> String {
                guard let s = String(validating: UnsafeBufferPointer(rebasing: b[lo..<hi]), as: UTF8.self) else {
                    throw StoreError.malformedCSV(path: path, line: recordLine, problem: "text is not UTF-8")
                }
                return s
            }

            while i < n {
                // One record.
                let recordLine = line
                fields.removeAll(keepingCapacity: true)
                var endOfRecord = false
                while !endOfRecord {
                    // Skip leading blanks of the field.
                    var lo = i
                    while lo < n && (b[lo] == space || b[lo] == tab) { lo += 1 }
                    if lo < n && b[lo] == quote {
                        // Quoted field: up to the closing quote, "" is a quote.
                        quoted.removeAll(keepingCapacity: true)
                        var j = lo + 1
                        var closed = false
                        while j < n {
                            let c = b[j]
                            if c == quote {
                                if j + 1 < n && b[j + 1] == quote { quoted.append(quote); j += 2; continue }
                                closed = true; j += 1; break
                            }
                            if c == lf || (c == cr && !(j + 1 < n && b[j + 1] == lf)) { line += 1 }
                            quoted.append(c)
                            j += 1
                        }
                        guard closed else { throw StoreError.malformedCSV(path: path, line: recordLine, problem: "unclosed quote") }
                        while j < n && (b[j] == space || b[j] == tab) { j += 1 }
                        if j < n && b[j] != comma && b[j] != lf && b[j] != cr {
                            throw StoreError.malformedCSV(path: path, line: line, problem: "text after a closing quote")
                        }
                        guard let s = String(validating: quoted, as: UTF8.self) else {
                            throw StoreError.malformedCSV(path: path, line: recordLine, problem: "text is not UTF-8")
                        }
                        fields.append(s)
                        i = j
                    } else {
                        var j = lo
                        while j < n && b[j] != comma && b[j] != lf && b[j] != cr { j += 1 }
                        var hi = j
                        while hi > lo && (b[hi - 1] == space || b[hi - 1] == tab) { hi -= 1 }
                        fields.append(try text(lo, hi, recordLine: recordLine))
                        i = j
                    }
                    // Separator or end of record.
                    if i < n && b[i] == comma {
                        i += 1
                    } else {
                        endOfRecord = true
                        if i < n {
                            if b[i] == cr && i + 1 < n && b[i + 1] == lf { i += 1 }
                            i += 1
                            line += 1
                        }
                    }
                }
                if !(fields.count == 1 && fields[0].isEmpty) { out.append((recordLine, fields)) }
            }
            return out
        }
    }

    /// Parses a whole long CSV file; any malformed row throws with its line number.
    static func parse(_ bytes: [UInt8], path: String) throws -> Table {
        let records = try records(bytes, path: path)
        guard let header = records.first else { throw StoreError.malformedCSV(path: path, line: 1, problem: "empty file, expected header \(requiredColumns.joined(separator: ","))") }
        var index: [String: Int] = [:]
        var ignored: [String] = []
        for (i, raw) in header.fields.enumerated() {
            let name = raw.lowercased()
            if name.isEmpty && i == 0 { continue }   // pandas index column
            if ["step", "t", "sample", "metric", "region", "value", "protocol", "arm", "seed"].contains(name) {
                if index[name] != nil { throw StoreError.malformedCSV(path: path, line: header.line, problem: "column '\(name)' appears twice") }
                index[name] = i
            } else {
                ignored.append(raw.isEmpty ? "(unnamed column \(i + 1))" : raw)
            }
        }
        let missing = requiredColumns.filter { index[$0] == nil }
        guard missing.isEmpty else {
            throw StoreError.malformedCSV(path: path, line: header.line,
                                          problem: "header lacks \(missing.joined(separator: ", ")) (expected \(requiredColumns.joined(separator: ",")))")
        }
        let width = header.fields.count
        let iStep = index["step"]!, iT = index["t"]!, iSample = index["sample"]!, iMetric = index["metric"]!
        let iRegion = index["region"]!, iValue = index["value"]!
        let iProtocol = index["protocol"], iArm = index["arm"], iSeed = index["seed"]
        var rows: [Row] = []
        rows.reserveCapacity(records.count)
        for record in records.dropFirst() {
            let f = record.fields
            let line = record.line
            func bad(_ problem: String) -> StoreError { .malformedCSV(path: path, line: line, problem: problem) }
            guard f.count == width else { throw bad("\(f.count) fields, the header has \(width)") }
            let stepText = f[iStep], tText = f[iT]
            let tIsGT = isGT(tText)
            var step: Int
            if let s = Int(stepText) {
                step = s
            } else if isGT(stepText) {
                step = gtStep
            } else if let d = Double(stepText), d.isFinite, d == d.rounded(), abs(d) < 1e9 {
                step = Int(d)
            } else {
                throw bad("step '\(stepText)' is not an integer")
            }
            var t: Double?
            if step == gtStep {
                guard tIsGT || tText.isEmpty || tText.lowercased() == "nan" else { throw bad("step -1 (GT) with t '\(tText)', expected 'gt'") }
            } else {
                guard !tIsGT else { throw bad("t 'gt' on step \(step), GT rows have step -1") }
                guard let tv = Double(tText), tv.isFinite else { throw bad("t '\(tText)' is not a number") }
                guard step >= 0 else { throw bad("step \(step) is negative") }
                t = tv
            }
            let sample = f[iSample], metric = f[iMetric], region = f[iRegion]
            guard !sample.isEmpty else { throw bad("empty sample") }
            guard !metric.isEmpty else { throw bad("empty metric") }
            guard !region.isEmpty else { throw bad("empty region") }
            for (name, text) in [("sample", sample), ("metric", metric), ("region", region)] {
                if let c = controlCharacter(in: text) { throw bad("\(name) '\(printable(text))' contains the control character \(c)") }
            }
            guard let value = parseValue(f[iValue]) else { throw bad("value '\(f[iValue])' is not a number") }
            var seed: Int?
            if let iSeed {
                guard let s = Int(f[iSeed]) else { throw bad("seed '\(f[iSeed])' is not an integer") }
                guard s >= 0 else { throw bad("seed \(s) is negative (seeds are non-negative, as in study files)") }
                seed = s
            }
            var arm: String?
            if let iArm {
                do { arm = try ArmSpec(parsing: f[iArm]).label } catch { throw bad(error.description) }
            }
            let proto = iProtocol.map { f[$0] }.flatMap { $0.isEmpty ? nil : $0 }
            if let proto, let c = controlCharacter(in: proto) { throw bad("protocol '\(printable(proto))' contains the control character \(c)") }
            rows.append(Row(line: line, step: step, t: t, sample: sample, metric: metric, region: region, value: value,
                            protocolName: proto, arm: arm, seed: seed))
        }
        return Table(rows: rows, ignoredColumns: ignored, hasArmColumn: iArm != nil)
    }

    // MARK: - Names and values

    /// The first C0 control character or DEL in a name, as `U+0000`: names are stored as SQLite
    /// text, which a NUL would silently cut (`id0\0c2` stored as `id0`).
    static func controlCharacter(in text: String) -> String? {
        guard let u = text.unicodeScalars.first(where: { $0.value < 0x20 || $0.value == 0x7F }) else { return nil }
        let hex = String(u.value, radix: 16, uppercase: true)
        return "U+" + String(repeating: "0", count: 4 - hex.count) + hex
    }

    /// `text` with control characters escaped, for error messages that stay one line.
    static func printable(_ text: String) -> String {
        var out = ""
        for u in text.unicodeScalars {
            if u.value < 0x20 || u.value == 0x7F { out += u.value == 0 ? "\\0" : "\\u{\(String(u.value, radix: 16))}" } else { out.unicodeScalars.append(u) }
        }
        return out
    }

    static func isGT(_ s: String) -> Bool { s.utf8.count == 2 && s.lowercased() == "gt" }

    /// A value field: a float, `inf`, or one of the spellings of "missing" (→ NaN).
    static func parseValue(_ text: String) -> Double? {
        if let v = Double(text), !v.isNaN, text.utf8.first.map({ $0 >= 0x30 && $0 <= 0x39 || $0 == 0x2D || $0 == 0x2E }) == true,
           text.utf8.last.map({ $0 >= 0x30 && $0 <= 0x39 || $0 == 0x2E }) == true {
            return v   // plain number: the common case, no lowercasing
        }
        switch text.lowercased() {
        case "", "nan", "-nan", "na", "n/a", "null", "none": return .nan
        case "inf", "+inf", "infinity", "+infinity": return .infinity
        case "-inf", "-infinity": return -.infinity
        default:
            guard let v = Double(text), !v.isNaN else { return nil }
            return v
        }
    }

    // MARK: - Writing

    static func field(_ text: String) -> String {
        let needsQuotes = text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" })
            || text.first == " " || text.last == " " || text.isEmpty
        return needsQuotes ? "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : text
    }

    static func number(_ value: Double) -> String { StudyStore.format(value) }
}
