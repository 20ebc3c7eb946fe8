// `--log FILE.jsonl`: one JSON line per classified frame, written on its own queue so the
// forward stage never waits for the disk.

import Dispatch
import Foundation

/// An append-only JSON-lines file ("-" writes to standard output).
public final class PredictionLog: @unchecked Sendable {
    public let path: String
    private let handle: FileHandle
    private let queue = DispatchQueue(label: "fertui.log", qos: .utility)
    private var lines = 0

    /// Creates (or truncates) the file.
    public init(path: String) throws {
        self.path = path
        if path == "-" {
            handle = FileHandle.standardOutput
            return
        }
        guard FileManager.default.createFile(atPath: path, contents: nil) else {
            throw PipelineError("cannot create the log file \(path): check that its folder exists and is writable")
        }
        guard let h = FileHandle(forWritingAtPath: path) else {
            throw PipelineError("cannot open the log file \(path) for writing")
        }
        handle = h
    }

    /// Queues one frame's line.
    public func append(_ frame: ProcessedFrame) {
        let line = PredictionJSON.logLine(frame) + "\n"
        queue.async {
            self.handle.write(line.data(using: .utf8)!)
            self.lines += 1
        }
    }

    /// Waits for queued lines to reach the file and closes it; returns the number of lines written.
    @discardableResult
    public func close() -> Int {
        queue.sync {
            if path != "-" { try? handle.close() }
            return lines
        }
    }
}
