// The probe: schedules, sampler, arms, teachers and the probe driver (see DESIGN.md).
