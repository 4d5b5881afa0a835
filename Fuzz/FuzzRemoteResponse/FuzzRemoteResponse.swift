// libFuzzer harness: the remote teacher's response decoders: `…/infer` answers as JSON and with
// binary tensors, model metadata, and error bodies. The first byte picks the decoder, the next
// two the binary header length. Built by `make fuzz` only.
import Foundation
@testable import TrajectoryProbe

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRemoteResponse(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size >= 3 else { return 0 }
    let mode = data[0] % 4
    let headerLength = Int(data[1]) | Int(data[2]) << 8
    let body = Data(bytes: data + 3, count: size - 3)
    switch mode {
    case 0:
        _ = try? InferenceResponse.decode(body, headerLength: nil, url: "fuzz")
    case 1:
        _ = try? InferenceResponse.decode(body, headerLength: min(headerLength, body.count), url: "fuzz")
    case 2:
        if let o = (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] {
            _ = try? RemoteModelMetadata.parse(o, url: "fuzz")
        }
    default:
        _ = InferenceClient.message(body)
    }
    return 0
}
