// The whole screen: layout, status line, help, "too small", keys, and full-screen snapshots
// kept in Fixtures/ (re-record deliberately with FERTUI_RECORD_SNAPSHOTS=1).

import Foundation
import Pipeline
import Vision
import XCTest

@testable import Terminal

final class ScreenComposerTests: XCTestCase {
    /// A 160x120 BGR frame: a horizontal gray gradient with a brighter square where the face is.
    func sampleFrame() -> Frame {
        var pixels = [UInt8](repeating: 0, count: 160 * 120 * 3)
        for y in 0..<120 {
            for x in 0..<160 {
                let inFace = x >= 60 && x < 100 && y >= 30 && y < 80
                let v = UInt8(inFace ? 220 : x * 200 / 160)
                let i = (y * 160 + x) * 3
                pixels[i] = v
                pixels[i + 1] = v
                pixels[i + 2] = v
            }
        }
        return Frame(width: 160, height: 120, channels: 3, pixels: pixels, index: 7, origin: "sample")
    }

    func sampleSnapshot() -> MonitorSnapshot {
        var snap = MonitorSnapshot(frame: sampleFrame())
        snap.classes = ModelInfo7.classes
        snap.modelName = "resnet18"
        snap.inputSize = 48
        snap.sourceName = "sample"
        snap.faces = [
            FaceReading(
                id: 1, box: FaceBox(x: 60, y: 30, width: 40, height: 50),
                probabilities: [0.02, 0.01, 0.03, 0.81, 0.08, 0.03, 0.02], classes: ModelInfo7.classes)
        ]
        snap.rates = PipelineRates(source: 30, inference: 22.4, display: 29.9)
        snap.timings = StageTimings(capture: 0.8, detect: 7.1, preprocess: 0.3, forward: 18.9, render: 1.4)
        return snap
    }

    func testLayoutVideoPanelAndStatusLine() {
        let grid = ScreenComposer().compose(sampleSnapshot(), width: 100, height: 30)
        let separator = 100 - ScreenComposer.panelWidth - 1
        XCTAssertEqual(grid[separator, 0].glyph, "│")
        XCTAssertEqual(grid[separator, 28].glyph, "│")
        // 160x120 into 67x29 cells (67x58 half-pixels): 67 wide, 25 rows (50 half-pixels), centred.
        XCTAssertEqual(grid[0, 2].glyph, HalfBlockRasterizer.upperHalf)
        XCTAssertEqual(grid[0, 1].glyph, " ")
        XCTAssertTrue(grid.row(29).hasPrefix(" q quit  space freeze"), grid.row(29))
        XCTAssertEqual(grid[0, 29].background, Palette.statusBackground)
        XCTAssertTrue(grid.rows.contains { $0.contains("┌ happy 81% ") }, grid.debugDescription)
        XCTAssertTrue(grid.rows.contains { $0.contains("face #1: happy 81.0%") }, grid.debugDescription)
    }

    func testMessageLeadsTheStatusLine() {
        var snap = sampleSnapshot()
        snap.message = "dumped to dumps/x"
        let grid = ScreenComposer().compose(snap, width: 100, height: 30)
        XCTAssertTrue(grid.row(29).hasPrefix(" dumped to dumps/x  q quit"), grid.row(29))
    }

    func testTooSmallSaysSoInsteadOfDrawing() {
        let grid = ScreenComposer().compose(sampleSnapshot(), width: 40, height: 10)
        assertRows(
            grid,
            [
                "                                        ",
                "                                        ",
                "                                        ",
                "           terminal too small           ",
                "           40x10, need 60x16            ",
                "        enlarge it, or q to quit        ",
                "                                        ",
                "                                        ",
                "                                        ",
                "                                        ",
            ])
        XCTAssertFalse(grid.cells.contains { $0.glyph == HalfBlockRasterizer.upperHalf })
    }

    func testHelpOverlayListsEveryKey() {
        var screen = ScreenComposer()
        screen.showHelp = true
        let text = screen.compose(sampleSnapshot(), width: 100, height: 30).rows.joined(separator: "\n")
        for (key, action) in ScreenComposer.keys {
            XCTAssertTrue(text.contains(key) && text.contains(action), "help lacks \(key): \(action)\n\(text)")
        }
    }

    func testWaitingMessageBeforeTheFirstFrame() {
        var snap = MonitorSnapshot()
        snap.sourceName = "/dev/video0"
        let grid = ScreenComposer().compose(snap, width: 80, height: 24)
        XCTAssertTrue(
            grid.rows.contains { $0.contains("waiting for the first frame from /dev/video0") }, grid.debugDescription)
    }

    func testKeysMapToActions() {
        XCTAssertEqual(MonitorAction.forKey(.character("q")), .quit)
        XCTAssertEqual(MonitorAction.forKey(.escape), .quit)
        XCTAssertEqual(MonitorAction.forKey(.character(" ")), .toggleFreeze)
        XCTAssertEqual(MonitorAction.forKey(.character("2")), .selectModel(1))
        XCTAssertEqual(MonitorAction.forKey(.character("m")), .nextModel)
        XCTAssertEqual(MonitorAction.forKey(.tab), .nextFace)
        XCTAssertEqual(MonitorAction.forKey(.character("s")), .toggleSmoothing)
        XCTAssertEqual(MonitorAction.forKey(.character("d")), .dump)
        XCTAssertEqual(MonitorAction.forKey(.character("?")), .toggleHelp)
        XCTAssertEqual(MonitorAction.forKey(.resize), .redraw)
        XCTAssertNil(MonitorAction.forKey(.character("x")))
        XCTAssertEqual(MonitorAction.forKey(.character("x"), helpShown: true), .toggleHelp)
        XCTAssertEqual(MonitorAction.forKey(.character("q"), helpShown: true), .quit)
    }

    // MARK: Snapshot files

    func testFullScreenGraySnapshot() throws {
        try assertSnapshot(
            ScreenComposer(colorMode: .grayscale256).compose(sampleSnapshot(), width: 100, height: 30),
            named: "monitor-100x30-gray")
    }

    func testFullScreenTruecolorSnapshot() throws {
        var snap = sampleSnapshot()
        snap.frozen = true
        snap.accuracy = RunningAccuracy(correct: 41, total: 60)
        try assertSnapshot(
            ScreenComposer(colorMode: .truecolor).compose(snap, width: 90, height: 26),
            named: "monitor-90x26-truecolor-frozen")
    }

    /// Compares with Fixtures/<name>.txt: the glyph rows, then one line per row of colour codes.
    func assertSnapshot(_ grid: CellGrid, named name: String, file: StaticString = #filePath, line: UInt = #line) throws
    {
        let text = Self.serialise(grid)
        let sourceFixtures = URL(fileURLWithPath: "\(file)").deletingLastPathComponent().appendingPathComponent(
            "Fixtures")
        if ProcessInfo.processInfo.environment["FERTUI_RECORD_SNAPSHOTS"] == "1" {
            try text.write(to: sourceFixtures.appendingPathComponent("\(name).txt"), atomically: true, encoding: .utf8)
            return
        }
        let url =
            Bundle.module.url(forResource: name, withExtension: "txt", subdirectory: "Fixtures")
            ?? sourceFixtures.appendingPathComponent("\(name).txt")
        guard let expected = try? String(contentsOf: url, encoding: .utf8) else {
            XCTFail(
                "no snapshot \(name).txt in Fixtures; "
                    + "record it with FERTUI_RECORD_SNAPSHOTS=1 swift test --filter TerminalTests",
                file: file, line: line)
            return
        }
        if expected != text {
            XCTFail(
                "screen differs from Fixtures/\(name).txt (re-record deliberately with FERTUI_RECORD_SNAPSHOTS=1)\n"
                    + grid.debugDescription, file: file, line: line)
        }
    }

    /// Glyph rows, a blank line, then per row the colours as "fg/bg" codes, one per cell.
    static func serialise(_ grid: CellGrid) -> String {
        func code(_ c: CellColor) -> String {
            switch c {
            case .terminalDefault: return "-"
            case .indexed(let n): return String(n)
            case .rgb(let r, let g, let b): return "#" + [r, g, b].map { String($0, radix: 16) }.joined(separator: ".")
            }
        }
        var lines = grid.rows
        lines.append("")
        for y in 0..<grid.height {
            lines.append(
                (0..<grid.width).map { x in
                    let c = grid[x, y]
                    return code(c.foreground) + "/" + code(c.background) + (c.bold ? "b" : "")
                }.joined(separator: " "))
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
