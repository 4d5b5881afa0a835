// The report: statistics, sync window, schedule, figures and report writers (see DESIGN.md).
