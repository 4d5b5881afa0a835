// libFuzzer harness: safetensors header and loader (LPIPS and SyncNet weights). Built by
// `make fuzz` only.
import Foundation
@testable import Metrics

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSafeTensors(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard let file = try? SafeTensors(data: Data(bytes: data, count: size), file: "fuzz.safetensors") else { return 0 }
    // Every tensor the header declares, read with its own shape (the byte ranges were checked).
    for (name, entry) in file.entries.sorted(by: { $0.key < $1.key }).prefix(16) {
        _ = try? file.floats(name, shape: entry.shape)
    }
    // The loaders: names and shapes checked against each architecture.
    _ = try? LPIPS(tensors: file)
    _ = try? SyncNet(tensors: file)
    return 0
}
