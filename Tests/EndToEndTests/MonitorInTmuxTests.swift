// The real fertui binary, full screen in a detached tmux: the art, a face box, a label, the bars
// and the FPS line; then 2 (model), space (freeze), d (dump) and q (quit, terminal restored).

import Foundation
import XCTest

final class MonitorInTmuxTests: XCTestCase {
    /// The checkout: this file is Tests/EndToEndTests/<name>.swift.
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    var server = ""
    var work = ""

    override func tearDown() {
        if !server.isEmpty { _ = try? tmux(["kill-server"]) }
        if !work.isEmpty { try? FileManager.default.removeItem(atPath: work) }
    }

    func testMonitorDrawsSwitchesFreezesDumpsAndQuits() throws {
        let binary = try fertuiBinary()
        guard let tmuxPath = Self.which("tmux") else {
            throw XCTSkip("tmux is not installed: apt-get install tmux to run the end-to-end test")
        }
        Self.tmuxPath = tmuxPath
        work = NSTemporaryDirectory() + "fertui-e2e-\(UUID().uuidString)"
        let frames = work + "/frames"
        try FileManager.default.createDirectory(atPath: frames, withIntermediateDirectories: true)
        // Three real image files (binary PGM, which OpenCV decodes), different enough to tell apart.
        for i in 0..<3 { try Self.writePGM(frames + "/frame\(i).pgm", width: 160, height: 120, seed: i) }
        // And a broken one: skipped, and what OpenCV prints about it must not reach the screen.
        try Data("P5\n160 120\n255\ncut".utf8).write(to: URL(fileURLWithPath: frames + "/frame1b.pgm"))

        server = "fertui-e2e-\(getpid())"
        let command =
            "cd \(work) && env TERM=tmux-256color \(binary) --source \(frames) --loop --fps 5 --no-detect "
            + "--random-weights --dump-dir \(work)/dumps; echo FERTUI_EXIT=$?; sleep 600"
        try tmux(["-f", "/dev/null", "new-session", "-d", "-s", "e2e", "-x", "120", "-y", "36", command])

        // First screen with a prediction: art, box, label, bars, rates.
        let first = try waitForScreen("a classified frame", timeout: 180) {
            $0.contains("face #") && $0.contains("┌ ")
        }
        let lines = first.components(separatedBy: "\n")
        XCTAssertGreaterThan(first.filter { $0 == "▀" }.count, 1000, "half-block art\n\(first)")
        XCTAssertTrue(
            first.contains("┐") && first.contains("└") && first.contains("┘"), "face box corners\n\(first)")
        let classes = ["angry", "disgust", "fear", "happy", "neutral", "sad", "surprise"]
        // Random weights are unsure of everything: the label asks ("┌ neutral? 17%").
        XCTAssertTrue(
            classes.contains { first.contains("┌ \($0) ") || first.contains("┌ \($0)? ") },
            "a label on the box\n\(first)")
        for name in classes {
            let bar = "│ \(name) +[█▉▊▋▌▍▎▏ ]*[0-9.]+%$"
            XCTAssertTrue(
                lines.contains { $0.range(of: bar, options: .regularExpression) != nil }, "a bar for \(name)\n\(first)")
        }
        XCTAssertTrue(first.contains("model resnet18 48x48"), first)
        XCTAssertFalse(first.contains("imread") || first.contains("error"), "library messages on the screen\n\(first)")
        XCTAssertTrue(
            first.range(of: "fps  source [0-9]+\\.[0-9]", options: .regularExpression) != nil, "FPS line\n\(first)")

        // Live: the picture changes between captures.
        XCTAssertGreaterThan(try distinctVideoCaptures(seconds: 2.5), 1, "the video should move before freezing")

        try tmux(["send-keys", "-t", "e2e", "2"])
        _ = try waitForScreen("model resnet34", timeout: 240) { $0.contains("model resnet34 48x48") }

        try tmux(["send-keys", "-t", "e2e", "Space"])
        _ = try waitForScreen("FROZEN", timeout: 30) { $0.contains("FROZEN") }
        let frozenCaptures = try videoCaptures(seconds: 2.5)
        if frozenCaptures.count != 1 {
            let rows = frozenCaptures.map { $0.components(separatedBy: "\n") }
            let changed = (0..<min(rows[0].count, rows[1].count)).first { rows[0][$0] != rows[1][$0] } ?? 0
            XCTFail(
                "a frozen frame must not change: \(frozenCaptures.count) different pictures; row \(changed):\n"
                    + rows[0][changed].debugDescription + "\n" + rows[1][changed].debugDescription)
        }

        try tmux(["send-keys", "-t", "e2e", "d"])
        let dumped = try waitForScreen("dumped to", timeout: 60) { $0.contains("dumped to ") }
        let path = try XCTUnwrap(
            dumped.range(of: "dumped to [^ ]+", options: .regularExpression).map {
                String(dumped[$0].dropFirst("dumped to ".count))
            })
        let folder = path.hasPrefix("/") ? path : work + "/" + path
        let json = try XCTUnwrap(
            JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: folder + "/prediction.json")))
                as? [String: Any], "dump at \(folder)")
        let faces = try XCTUnwrap(json["faces"] as? [[String: Any]])
        XCTAssertEqual(faces.count, 1)
        XCTAssertEqual((faces[0]["probs"] as? [String: Double])?.count, 7)
        XCTAssertEqual(json["source"] as? String, frames)
        XCTAssertTrue(FileManager.default.fileExists(atPath: folder + "/frame.png"))
        XCTAssertTrue(FileManager.default.fileExists(atPath: folder + "/annotated.png"))
        let screenText = try String(contentsOfFile: folder + "/screen.ans", encoding: .utf8)
        XCTAssertTrue(screenText.contains("model resnet34") && screenText.contains("▀"), "the screen as shown")
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: work + "/dumps").filter {
            $0.hasPrefix(".")
        }
        XCTAssertEqual(leftovers, [], "no temporary dump folders left behind")

        try tmux(["send-keys", "-t", "e2e", "t"])
        _ = try waitForScreen("the timeline", timeout: 30) { $0.contains("timeline  face #") && $0.contains("now") }

        try tmux(["send-keys", "-t", "e2e", "q"])
        let after = try waitForScreen("exit", timeout: 30) { $0.contains("FERTUI_EXIT=") }
        XCTAssertTrue(after.contains("fertui: quit;") && after.contains("face #"), "the session summary\n\(after)")
        XCTAssertTrue(after.contains("FERTUI_EXIT=0"), after)
        XCTAssertTrue(
            after.contains("printed while the screen was open"), "held messages shown after the screen\n\(after)")
        XCTAssertFalse(after.contains("▀"), "the terminal is back to the shell's screen\n\(after)")
        XCTAssertEqual(
            try tmux(["display-message", "-p", "-t", "e2e", "#{alternate_on}"]).trimmingCharacters(
                in: .whitespacesAndNewlines), "0")
    }

    /// Ctrl-\\ (SIGQUIT) quits like q: the terminal comes back, no crash report is drawn.
    func testCtrlBackslashQuitsAndRestoresTheTerminal() throws {
        let binary = try fertuiBinary()
        guard let tmuxPath = Self.which("tmux") else {
            throw XCTSkip("tmux is not installed: apt-get install tmux to run the end-to-end test")
        }
        Self.tmuxPath = tmuxPath
        work = NSTemporaryDirectory() + "fertui-e2e-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        server = "fertui-e2e-quit-\(getpid())"
        let command =
            "cd \(work) && env TERM=tmux-256color \(binary) --source demo --size 160x120 --random-weights; "
            + "echo FERTUI_EXIT=$?; sleep 600"
        try tmux(["-f", "/dev/null", "new-session", "-d", "-s", "e2e", "-x", "100", "-y", "30", command])
        _ = try waitForScreen("the picture", timeout: 120) { $0.filter { $0 == "▀" }.count > 200 }
        try tmux(["send-keys", "-t", "e2e", "C-\\"])
        let after = try waitForScreen("exit", timeout: 30) { $0.contains("FERTUI_EXIT=") }
        XCTAssertTrue(after.contains("FERTUI_EXIT=0"), after)
        XCTAssertFalse(after.contains("Crash") || after.contains("Backtrace") || after.contains("▀"), after)
        XCTAssertEqual(
            try tmux(["display-message", "-p", "-t", "e2e", "#{alternate_on}"])
                .trimmingCharacters(in: .whitespacesAndNewlines), "0")
    }

    // MARK: tmux

    static var tmuxPath = "/usr/bin/tmux"

    /// Runs tmux on this test's own server. posix_spawn and waitpid, not Foundation's Process:
    /// the server tmux forks keeps inherited descriptors open, and Process would wait on them.
    @discardableResult
    func tmux(_ arguments: [String]) throws -> String {
        let output = NSTemporaryDirectory() + "fertui-tmux-\(UUID().uuidString).out"
        defer { try? FileManager.default.removeItem(atPath: output) }
        let argv = [Self.tmuxPath, "-L", server] + arguments
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        var cArgs = argv.map { strdup($0) } + [nil]
        defer { for arg in cArgs { free(arg) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, Self.tmuxPath, &actions, nil, &cArgs, environ)
        guard spawned == 0 else { throw TmuxError(message: "cannot start \(Self.tmuxPath): error \(spawned)") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let text = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
        let exitCode = (status >> 8) & 0xff
        if status & 0x7f != 0 || exitCode != 0 {
            throw TmuxError(message: "tmux \(arguments.joined(separator: " ")) failed (status \(status)): \(text)")
        }
        return text
    }

    func capture(escapes: Bool = false) throws -> String {
        try tmux(["capture-pane", "-p", "-t", "e2e"] + (escapes ? ["-e"] : []))
    }

    func waitForScreen(_ what: String, timeout: Double, until done: (String) -> Bool) throws -> String {
        let deadline = Date().addingTimeInterval(timeout)
        var screen = ""
        while Date() < deadline {
            screen = try capture()
            if done(screen) { return screen }
            Thread.sleep(forTimeInterval: 0.25)
        }
        XCTFail("waited \(timeout) s for \(what); the screen was:\n\(screen)")
        throw TmuxError(message: "timed out waiting for \(what)")
    }

    /// How many different pictures the video showed over `seconds`.
    func distinctVideoCaptures(seconds: Double) throws -> Int {
        try videoCaptures(seconds: seconds).count
    }

    /// The distinct contents (with colours) of the video, left of the panel, over `seconds`.
    func videoCaptures(seconds: Double) throws -> [String] {
        var seen: [String] = []
        let end = Date().addingTimeInterval(seconds)
        while Date() < end {
            let rows = try capture(escapes: true).components(separatedBy: "\n").prefix(30)
            // Each row up to the panel's separator, its last '│' (the panel has none of its own).
            let picture = rows.map { row in
                String(row[..<(row.range(of: "│", options: .backwards)?.lowerBound ?? row.endIndex)])
            }
            .joined(separator: "\n")
            if !seen.contains(picture) { seen.append(picture) }
            Thread.sleep(forTimeInterval: 0.2)
        }
        return seen
    }

    struct TmuxError: Error, CustomStringConvertible {
        let message: String
        var description: String { message }
    }

    static func which(_ tool: String) -> String? {
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
            let path = "\(dir)/\(tool)"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return nil
    }

    /// A binary PGM (P5): gradients and a bright block placed differently per `seed`.
    static func writePGM(_ path: String, width: Int, height: Int, seed: Int) throws {
        var data = Data("P5\n\(width) \(height)\n255\n".utf8)
        for y in 0..<height {
            for x in 0..<width {
                let block = abs(x - (30 + seed * 50)) < 25 && abs(y - 60) < 30
                data.append(block ? 250 : UInt8((x * (seed + 1) + y * 2) % 200))
            }
        }
        try data.write(to: URL(fileURLWithPath: path))
    }
}
