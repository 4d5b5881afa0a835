import Foundation
import Measurement
import Testing

/// Messages and edge cases of what Measurement reads: one line naming the file or clip and the fix.
struct MeasurementErrorTests {
    @Test func framesTooSmallForLPIPSAreRefusedWithTheFix() {
        let e = DriverError.frameTooSmall(clip: "a1", metric: "lpips", width: 24, height: 24, minimum: 31)
        #expect(e.description == "clip 'a1': lpips needs frames of at least 31x31 px, these are 24x24 (raise teacher.resolution or drop lpips from metrics)")
    }

    @Test func odeScheduleOfOneStepReads() throws {
        // `num_steps: 1` is the number 1, not the boolean true.
        let s = try ODESchedule.parse(Data(#"{"t_list": [0.999, 0], "num_steps": 1, "shift": 5, "guidance_scale": 1}"#.utf8), file: "o.json")
        #expect(s.numSteps == 1 && s.guidanceScale == 1)
    }
}
