import Foundation

/// Why a file could not be written atomically: the destination and the system's reason.
public struct AtomicFileError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The file that was to be written.
    public var path: String
    /// What failed (the temporary write, or the rename over the destination).
    public var detail: String

    /// An error for `path` with the system's `detail`.
    public init(path: String, detail: String) { self.path = path; self.detail = detail }

    /// `path: detail`, as the CLI prints it.
    public var description: String { "\(path): \(detail)" }
}

/// trajprobe's one atomic file writer: the bytes go to a temporary file in the destination's
/// directory, are flushed to disk, and `rename(2)` puts them in place, so a reader (or a run
/// killed half-way) sees the old file or the new one, never a torn one.
public enum AtomicFile {
    /// Writes `data` to `path`, replacing any file there.
    public static func write(_ data: Data, to path: String) throws(AtomicFileError) {
        try write(to: path) { (temporary: String) throws(AtomicFileError) in
            let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
            guard fd >= 0 else { throw AtomicFileError(path: path, detail: "cannot create \(temporary): \(reason())") }
            defer { close(fd) }
            var failure: String?
            data.withUnsafeBytes { raw in
                var offset = 0
                while offset < raw.count {
                    let n = Foundation.write(fd, raw.baseAddress! + offset, raw.count - offset)
                    if n < 0 { if errno == EINTR { continue }; failure = reason(); return }
                    offset += n
                }
            }
            if let failure { throw AtomicFileError(path: path, detail: "cannot write: \(failure)") }
            guard fsync(fd) == 0 else { throw AtomicFileError(path: path, detail: "cannot flush: \(reason())") }
        }
    }

    /// For writers that produce the file themselves (libpng): `body` writes a complete file at
    /// the temporary path it is given, which then replaces `path`. When `body` throws, the
    /// temporary file is removed and `path` is left as it was.
    public static func write(to path: String, using body: (String) throws(AtomicFileError) -> Void) throws(AtomicFileError) {
        let url = URL(fileURLWithPath: path)
        let temporary = url.deletingLastPathComponent()
            .appendingPathComponent(".\(url.lastPathComponent).\(UUID().uuidString.prefix(8)).partial").path
        do {
            try body(temporary)
        } catch {
            unlink(temporary)
            throw error
        }
        guard rename(temporary, path) == 0 else {
            let why = reason()
            unlink(temporary)
            throw AtomicFileError(path: path, detail: "cannot move the new file into place: \(why)")
        }
    }

    private static func reason() -> String { String(cString: strerror(errno)) }
}
