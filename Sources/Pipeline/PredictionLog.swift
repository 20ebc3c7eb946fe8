// `--log FILE.jsonl` (one JSON line per classified frame) or `--log FILE.csv` (one row per face
// per frame), written on its own queue so the forward stage never waits for the disk. A log is a
// stream: the path is opened in place (created or truncated, as a shell's `>` does), so a device,
// a FIFO or a symlink stays what it is.

import Dispatch
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// An append-only log stream ("-" writes JSON lines to standard output).
public final class PredictionLog: @unchecked Sendable {
    public let path: String
    /// CSV when the path ends in .csv, JSON lines otherwise.
    public let csv: Bool
    private var wroteHeader = false
    private let descriptor: Int32
    private let queue = DispatchQueue(label: "fertui.log", qos: .utility)
    /// Touched on `queue` only.
    private var lines = 0
    private var failure: PipelineError?
    private var closed = false
    /// Called once, on the log's queue, when a write fails; later lines are dropped.
    public var onFailure: ((PipelineError) -> Void)?

    /// Opens `path` for writing in place (created if missing, emptied if it is a regular file).
    public init(path: String) throws {
        self.path = path
        self.csv = path.lowercased().hasSuffix(".csv")
        // A reader that goes away must surface as EPIPE, which is reported, not as a silent kill.
        signal(SIGPIPE, SIG_IGN)
        if path == "-" {
            descriptor = STDOUT_FILENO
            return
        }
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            let code = errno
            let what: String
            switch code {
            case ENOENT: what = "its folder does not exist"
            case EACCES, EPERM, EROFS: what = "it is not writable (\(String(cString: strerror(code))))"
            case EISDIR: what = "it is a folder"
            default: what = String(cString: strerror(code))
            }
            throw PipelineError("cannot open the log \(path): \(what); pass --log a writable file path")
        }
        descriptor = fd
    }

    /// Queues one frame's line.
    public func append(_ frame: ProcessedFrame) {
        queue.async {
            if self.csv {
                if !self.wroteHeader {
                    self.wroteHeader = true
                    self.write(PredictionJSON.csvHeader(classes: frame.classes) + "\n", counted: false)
                }
                self.write(PredictionJSON.csvRows(frame))
            } else {
                self.write(PredictionJSON.logLine(frame) + "\n")
            }
        }
    }

    /// Runs on `queue`: the whole text, or the first error (after which nothing more is written);
    /// `counted`: a frame's line(s), as `close()` reports them.
    private func write(_ line: String, counted: Bool = true) {
        guard failure == nil, !closed else { return }
        let bytes = Array(line.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 {
                if errno == EINTR { continue }
                let code = errno
                let hint =
                    code == ENOSPC
                    ? "the disk is full" : code == EPIPE ? "the reader closed the pipe" : "a write failed"
                let target = path == "-" ? "standard output" : path
                let error = PipelineError(
                    "logging stopped after \(lines) line\(lines == 1 ? "" : "s"): \(hint) writing \(target) "
                        + "(\(String(cString: strerror(code))))"
                )
                failure = error
                onFailure?(error)
                return
            }
            offset += n
        }
        if counted { lines += 1 }
    }

    /// The first write error, if any (waits for queued lines).
    public var error: PipelineError? { queue.sync { failure } }

    /// Waits for queued lines to reach the stream and closes it; returns the number of frames
    /// written, or throws the first write error.
    @discardableResult
    public func close() throws -> Int {
        try queue.sync {
            if !closed {
                closed = true
                if path != "-" { Glibc.close(descriptor) }
            }
            if let failure { throw failure }
            return lines
        }
    }
}
