import Measurement

extension ODESchedule {
    /// Largest difference between `t_list` and the schedule trajprobe computes for the same
    /// `num_steps` and `shift` (over the shared length).
    public func deviation(from schedule: TimeSchedule) -> Double {
        zip(tList, schedule.times).map { abs($0 - $1) }.max() ?? 0
    }
}
