// libFuzzer harness: the registry YAML (`trajprobe import registry`). Built by `make fuzz` only.
import Foundation
import Store

/// The registry parser reads a file (CSV paths resolve against its directory): one scratch
/// file per process, on tmpfs when there is one.
let registryFile: URL = {
    let root = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
    let dir = URL(fileURLWithPath: root).appendingPathComponent("trajprobe-fuzz-registry-\(getpid())")
    try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir.appendingPathComponent("registry.yaml")
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRegistry(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard (try? Data(bytes: data, count: size).write(to: registryFile)) != nil else { return 0 }
    _ = try? StudyStore.parseRegistry(registryFile)
    return 0
}
