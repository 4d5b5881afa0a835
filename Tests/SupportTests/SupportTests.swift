import Foundation
import Testing
@testable import Support

@Suite struct LockedTests {
    /// 8 threads × 10,000 increments: a lost update would leave the total short.
    @Test func concurrentUpdatesAreNotLost() {
        let counter = Locked(0)
        DispatchQueue.concurrentPerform(iterations: 8) { _ in
            for _ in 0..<10_000 { counter.withLock { $0 += 1 } }
        }
        #expect(counter.snapshot == 80_000)
        #expect(counter.withLock { v -> Int in v *= 2; return v } == 160_000)
    }
}

@Suite struct AtomicFileTests {
    static func directory() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("atomic-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    @Test func writesAndReplacesLeavingNoTemporaryFile() throws {
        let dir = try Self.directory()
        let path = dir + "/out.json"
        try AtomicFile.write(Data("first".utf8), to: path)
        try AtomicFile.write(Data("second, longer".utf8), to: path)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "second, longer")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["out.json"])
    }

    @Test func aFailingWriterLeavesTheOldFile() throws {
        let dir = try Self.directory()
        let path = dir + "/keep.txt"
        try AtomicFile.write(Data("old".utf8), to: path)
        #expect(throws: AtomicFileError.self) {
            try AtomicFile.write(to: path) { (temporary: String) throws(AtomicFileError) in
                #expect(FileManager.default.createFile(atPath: temporary, contents: Data("half".utf8)))
                throw AtomicFileError(path: path, detail: "writer failed")
            }
        }
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "old")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["keep.txt"])
    }

    @Test func aMissingDirectoryIsAnError() {
        #expect(throws: AtomicFileError.self) { try AtomicFile.write(Data("x".utf8), to: "/nonexistent-dir/x.txt") }
    }
}
