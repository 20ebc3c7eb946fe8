// The expression timeline: one sparkline row per class over the last seconds, blank where the face
// was not seen, the column's top class bright; the axis under it.

import Pipeline
import XCTest

@testable import Terminal

final class TimelineViewTests: XCTestCase {
    func probabilities(_ top: Int, _ p: Float) -> [Float] {
        var v = [Float](repeating: (1 - p) / 6, count: 7)
        v[top] = p
        return v
    }

    func testRowsShowEachClassOverTimeWithGaps() {
        var snap = MonitorSnapshot()
        snap.classes = ["angry", "disgust", "fear", "happy", "neutral", "sad", "surprise"]
        snap.timelineFaceID = 4
        snap.timelineSeconds = 10
        snap.timelineEnd = 110
        // 10 columns of one second each: happy at 0.95 for the first 4 s, unseen for 3 s, then sad 0.55.
        snap.timeline =
            (0..<4).map { TimelineSample(time: 100.5 + Double($0), probabilities: probabilities(3, 0.95)) }
            + (7..<10).map { TimelineSample(time: 100.5 + Double($0), probabilities: probabilities(5, 0.55)) }
        var grid = markedGrid(width: 19, height: 10)
        TimelineView.draw(snap, in: CellRect(x: 0, y: 0, width: 19, height: 9), into: &grid)
        assertRows(
            grid,
            [
                "timeline  face #4  ",
                "angry    ▁▁▁▁   ▁▁▁",
                "disgust  ▁▁▁▁   ▁▁▁",
                "fear     ▁▁▁▁   ▁▁▁",
                "happy    ████   ▁▁▁",
                "neutral  ▁▁▁▁   ▁▁▁",
                "sad      ▁▁▁▁   ▅▅▅",
                "surprise ▁▁▁▁   ▁▁▁",
                "         -10s   now",
                "···················",
            ])
        XCTAssertEqual(grid[9, 4].foreground, Palette.primaryBar, "the column's top class is bright")
        XCTAssertEqual(grid[9, 6].foreground, Palette.dim)
        XCTAssertEqual(grid[16, 6].foreground, Palette.primaryBar)
        // Wide enough, the axis shows its middle too.
        var wide = markedGrid(width: 39, height: 9)
        TimelineView.draw(snap, in: CellRect(x: 0, y: 0, width: 39, height: 9), into: &wide)
        XCTAssertEqual(wide.row(8), "         -10s          -5s          now")
    }

    func testTheComposerPutsTheTimelineUnderTheVideoOnT() {
        var snap = MonitorSnapshot(frame: nil)
        snap.classes = ["angry", "disgust", "fear", "happy", "neutral", "sad", "surprise"]
        var composer = ScreenComposer()
        let without = composer.compose(snap, width: 80, height: 30)
        composer.showTimeline = true
        let with = composer.compose(snap, width: 80, height: 30)
        XCTAssertFalse(without.rows.contains { $0.hasPrefix("timeline") })
        let row = with.rows.firstIndex { $0.hasPrefix("timeline  (no face)") }
        XCTAssertEqual(row, 29 - 9, "title row of a 9-row timeline above the status line")
        XCTAssertEqual(MonitorAction.forKey(.character("t")), .toggleTimeline)
    }
}
