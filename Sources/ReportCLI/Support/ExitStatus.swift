import ArgumentParser

/// The exit codes of every `trajprobe` command, one meaning each so scripts can branch on them.
///
/// Why a code of its own for "incomplete": a probe, an import or a batch score that went through
/// every unit but stored some as failed (or some files as unscorable) has written something
/// useful, yet a script that treats it as success publishes a window computed from part of the
/// data. Code 3 says "done, but not whole: rerun to complete it".
enum ExitStatus {
    /// Finished, but with failed units or unscorable files (stored, with their reasons, and the
    /// study marked `incomplete`), or a `report`/`schedule` read of a study that is not complete.
    static let incomplete = ExitCode(3)
    /// `schedule` only: the study holds no sync window or no landing step.
    static let noSchedule = ExitCode(2)

    /// The paragraph every command's help ends with.
    static let help = """
        Exit status (the same in every command): 0 complete; 1 failure (one line says what \
        went wrong and what to do); 2 no sync window or landing step (schedule); 3 finished \
        but incomplete: failed units or unscorable files are stored with their reasons (a \
        rerun of the same command completes them), or the study read is incomplete; 64 \
        invalid usage.
        """

    /// `discussion` followed by the exit-status paragraph.
    static func discussion(_ text: String) -> String {
        text.isEmpty ? help : text + "\n\n" + help
    }
}
