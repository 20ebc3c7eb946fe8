// A log is a stream written in place (a FIFO, a device or a symlink stays what it is) whose write
// errors are reported, not crashed on; a dump is a document whose abandoned halves are cleaned up.

import Foundation
import XCTest

@testable import Pipeline

#if canImport(Glibc)
    import Glibc
#endif

final class StreamsAndDocumentsTests: XCTestCase {
    func frame(_ index: Int) -> ProcessedFrame {
        ProcessedFrame(
            frameIndex: index, time: 0, model: "m", classes: TestModels.classes, faces: [], truth: nil,
            timings: StageTimings())
    }

    func fileType(_ path: String) -> mode_t {
        var st = stat()
        XCTAssertEqual(lstat(path, &st), 0, "lstat \(path)")
        return st.st_mode & S_IFMT
    }

    func testLogIntoAFIFOKeepsTheFIFOAndDeliversEveryLine() throws {
        let dir = temporaryDirectory("log-fifo")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let fifo = dir + "/stream"
        XCTAssertEqual(mkfifo(fifo, 0o600), 0)
        // The reader opens the other end; opening a FIFO for writing waits for it, as `>` does.
        let readDone = DispatchSemaphore(value: 0)
        final class Received: @unchecked Sendable { var data = Data() }
        let received = Received()
        Thread.detachNewThread {
            if let reader = FileHandle(forReadingAtPath: fifo) {
                received.data = reader.readDataToEndOfFile()
            }
            readDone.signal()
        }
        let log = try PredictionLog(path: fifo)
        for i in 0..<5 { log.append(frame(i)) }
        XCTAssertEqual(try log.close(), 5)
        XCTAssertEqual(readDone.wait(timeout: .now() + 10), .success, "the reader never saw the end of the stream")
        XCTAssertEqual(String(decoding: received.data, as: UTF8.self).split(separator: "\n").count, 5)
        XCTAssertEqual(fileType(fifo), S_IFIFO, "the FIFO was replaced")
    }

    func testLogThroughASymlinkWritesTheTargetAndKeepsTheLink() throws {
        let dir = temporaryDirectory("log-link")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Data("old\n".utf8).write(to: URL(fileURLWithPath: dir + "/target.jsonl"))
        XCTAssertEqual(symlink(dir + "/target.jsonl", dir + "/link.jsonl"), 0)
        let log = try PredictionLog(path: dir + "/link.jsonl")
        log.append(frame(7))
        XCTAssertEqual(try log.close(), 1)
        XCTAssertEqual(fileType(dir + "/link.jsonl"), S_IFLNK, "the symlink was replaced by a file")
        let text = try String(contentsOfFile: dir + "/target.jsonl", encoding: .utf8)
        XCTAssertTrue(text.hasPrefix("{\"frame\":7"), "the target was not written in place: \(text)")
    }

    func testLogOntoAFullDeviceReportsTheErrorAndStops() throws {
        guard getuid() == 0 else {
            throw XCTSkip("making a /dev/full twin needs root (mknod); run the suite as root to cover it")
        }
        let dir = temporaryDirectory("log-full")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let full = dir + "/full"
        // Character device 1:7 is the kernel's "full" device: every write fails with ENOSPC.
        // (glibc's makedev is a macro; for numbers this small it is major << 8 | minor.)
        XCTAssertEqual(mknod(full, S_IFCHR | 0o666, dev_t(1 << 8 | 7)), 0, "mknod: \(String(cString: strerror(errno)))")
        let log = try PredictionLog(path: full)
        let reported = expectation(description: "onFailure called once")
        log.onFailure = { error in
            XCTAssertTrue(error.message.contains("disk is full"), error.message)
            reported.fulfill()
        }
        for i in 0..<3 { log.append(frame(i)) }
        wait(for: [reported], timeout: 10)
        XCTAssertThrowsError(try log.close()) { error in
            XCTAssertTrue("\(error)".contains(full) && "\(error)".contains("after 0 lines"), "\(error)")
        }
        XCTAssertEqual(fileType(full), S_IFCHR, "the device twin was replaced")
    }

    func testLogIntoAMissingFolderSaysSo() {
        XCTAssertThrowsError(try PredictionLog(path: "/nonexistent-fertui-dir/run.jsonl")) { error in
            XCTAssertTrue("\(error)".contains("folder does not exist"), "\(error)")
        }
    }

    func testAbandonedPartialDumpsAreRemovedAndLiveOnesKept() throws {
        let dir = temporaryDirectory("dump-partials")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let fm = FileManager.default
        // A child that has exited: its PID names a process that is gone.
        let child = Process()
        child.executableURL = URL(fileURLWithPath: "/bin/true")
        try child.run()
        child.waitUntilExit()
        let dead = child.processIdentifier
        let names = [
            ".dump-20261204T101010.123-frame3.partial-\(dead)",  // owner gone: removed
            ".dump-20261204T101010.123-frame4.partial-\(getppid())",  // owner alive and fresh: kept
            ".dump-20261204T101010.123-frame5.partial-\(getpid())",  // ours: kept
            ".other.partial-\(dead)",  // not our naming pattern: kept
            "dump-20261204T101010.123-frame6",  // a finished dump: kept
        ]
        for name in names { try fm.createDirectory(atPath: dir + "/" + name, withIntermediateDirectories: false) }
        let removed = DumpWriter.removeAbandonedPartials(in: dir)
        XCTAssertEqual(removed.map { ($0 as NSString).lastPathComponent }, [names[0]])
        XCTAssertEqual(Set(try fm.contentsOfDirectory(atPath: dir)), Set(names.dropFirst()))
        // An hour later even a live PID's partial is stale (the PID has been reused).
        let later = DumpWriter.removeAbandonedPartials(in: dir, now: Date().addingTimeInterval(3600))
        XCTAssertEqual(later.map { ($0 as NSString).lastPathComponent }, [names[1]])
    }
}
