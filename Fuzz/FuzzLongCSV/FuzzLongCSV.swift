// libFuzzer harness: the long-CSV parser (`trajprobe import csv`). Built by `make fuzz` only.
import Foundation
@testable import Store

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzLongCSV(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    if let table = try? LongCSV.parse(bytes, path: "fuzz.csv") {
        // What the import does next with a parsed table: arm labels and the export writer.
        for row in table.rows.prefix(64) {
            _ = LongCSV.field(row.sample)
            _ = LongCSV.number(row.value)
            if let arm = row.arm { _ = try? ArmSpec(parsing: arm).label }
        }
    }
    return 0
}
