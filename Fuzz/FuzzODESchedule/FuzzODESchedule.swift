// libFuzzer harness: ode_schedule.json of imported prediction videos. Built by `make fuzz` only.
import Foundation
import Measurement
import Store

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzODESchedule(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard let schedule = try? ODESchedule.parse(Data(bytes: data, count: size), file: "ode_schedule.json") else { return 0 }
    // What `import videos` does next: the schedule trajprobe computes for the same settings.
    if let computed = try? ShiftedSchedule(numSteps: schedule.numSteps, shift: schedule.shift, maxT: schedule.tList.first ?? 1) {
        _ = schedule.deviation(from: computed)
    }
    return 0
}
