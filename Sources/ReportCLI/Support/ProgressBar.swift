import Foundation
import Measurement
import Support
import TrajectoryProbe

/// A progress bar with ETA and units/s on a terminal; plain progress lines otherwise (CI logs,
/// files), at most one every few seconds.
final class ProgressBar: Sendable {
    /// What the bar remembers between updates, which arrive from concurrent tasks.
    private struct DrawState {
        var lastDraw = Date.distantPast
        var lastPhase = ""
        var probingSince: Date?
    }
    private let state = Locked(DrawState())
    private let isTTY = isatty(STDERR_FILENO) != 0
    private let start = Date()
    private let quiet: Bool

    init(quiet: Bool = false) { self.quiet = quiet }

    /// Draws `p` (a new phase starts a new line; redraws are rate-limited).
    func update(_ p: ProbeProgress) {
        guard !quiet else { return }
        state.withLock { draw(p, state: &$0) }
    }

    private func draw(_ p: ProbeProgress, state: inout DrawState) {
        let now = Date()
        if p.phase != state.lastPhase {
            if isTTY && !state.lastPhase.isEmpty { write("\n") }
            state.lastPhase = p.phase
            if p.total > 0 || p.skipped > 0 {
                state.probingSince = now
                write("\(p.phase) \(p.total) units" + (p.skipped > 0 ? " (\(p.skipped) already in the database, skipped)" : "") + "\n")
            } else {
                write("\(p.phase)…" + (isTTY ? "" : "\n"))
            }
            state.lastDraw = now
            return
        }
        guard p.total > 0 else { return }
        let finished = p.done + p.failed == p.total
        let interval: TimeInterval = isTTY ? 0.1 : 5
        guard finished || now.timeIntervalSince(state.lastDraw) >= interval else { return }
        state.lastDraw = now
        let elapsed = now.timeIntervalSince(state.probingSince ?? start)
        let count = p.done + p.failed
        let rate = elapsed > 0 ? Double(count) / elapsed : 0
        let eta = rate > 0 ? Double(p.total - count) / rate : 0
        let fraction = Double(count) / Double(p.total)
        var line = String(format: "%3.0f%% %d/%d units  %.1f units/s  elapsed %@  ETA %@",
                          fraction * 100, count, p.total, rate, ProgressBar.clock(elapsed), ProgressBar.clock(eta))
        if p.failed > 0 { line += "  failed \(p.failed)" }
        if isTTY {
            let width = 30, filled = Int(fraction * Double(width))
            let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
            write("\r\(bar) \(line)\u{1B}[K" + (finished ? "\n" : ""))
        } else {
            write(line + "\n")
        }
    }

    /// `seconds` as m:ss, or h:mm:ss from an hour on.
    static func clock(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return s >= 3600 ? String(format: "%d:%02d:%02d", s / 3600, (s / 60) % 60, s % 60) : String(format: "%d:%02d", s / 60, s % 60)
    }

    private func write(_ text: String) { FileHandle.standardError.write(Data(text.utf8)) }
}
