// libFuzzer harness: the study YAML (`trajprobe probe study.yaml`) and the probe-set manifest
// inside it, then the flags' overrides. Built by `make fuzz` only.
import Foundation
import TrajectoryProbe

/// An empty directory: relative paths in the input resolve into it and find nothing.
let base: URL = {
    let root = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
    let dir = URL(fileURLWithPath: root).appendingPathComponent("trajprobe-fuzz-study-\(getpid())")
    try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzStudyYAML(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    guard var config = try? ProbeStudyFile.parse(text: text, file: "fuzz.yaml", baseDirectory: base) else { return 0 }
    _ = try? config.schedule()
    _ = try? config.override(seeds: "0,1", steps: "0", resolution: 64, metrics: "mse,ssim")
    return 0
}
