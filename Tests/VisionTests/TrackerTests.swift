// FaceTracker: ids stay with faces as they move, new faces get new ids, lost faces expire.

import XCTest
@testable import Vision

final class TrackerTests: XCTestCase {
    func box(_ x: Int, _ y: Int, _ s: Int = 100) -> FaceBox { FaceBox(x: x, y: y, width: s, height: s) }

    func testIdsFollowMovingFaces() {
        let tracker = FaceTracker()
        var idA = 0, idB = 0
        for step in 0..<20 {
            // Two faces drifting in opposite directions, listed largest first (order swaps).
            let a = box(50 + 4 * step, 60, 120 - step), b = box(400 - 4 * step, 80, 100)
            let order = a.area >= b.area ? [a, b] : [b, a]
            let out = tracker.update(order)
            XCTAssertEqual(out.count, 2)
            let ida = out.first { $0.box == a }!.id, idb = out.first { $0.box == b }!.id
            if step == 0 {
                idA = ida
                idB = idb
                XCTAssertNotEqual(idA, idB)
            } else {
                XCTAssertEqual(ida, idA, "face A changed id at step \(step)")
                XCTAssertEqual(idb, idB, "face B changed id at step \(step)")
            }
        }
    }

    func testNewFaceGetsFreshIdAndLostFaceExpires() {
        let tracker = FaceTracker(maxMissed: 2)
        let first = tracker.update([box(0, 0)])[0].id
        // Missing for two frames: still remembered.
        XCTAssertTrue(tracker.update([]).isEmpty)
        XCTAssertTrue(tracker.update([]).isEmpty)
        XCTAssertEqual(tracker.update([box(5, 5)])[0].id, first)
        // A face far away is someone else.
        let other = tracker.update([box(5, 5), box(300, 300)])
        XCTAssertEqual(other[0].id, first)
        XCTAssertNotEqual(other[1].id, first)
        // Gone for longer than maxMissed: the id is retired.
        for _ in 0..<3 { _ = tracker.update([]) }
        let back = tracker.update([box(5, 5)])[0].id
        XCTAssertNotEqual(back, first)
        XCTAssertNotEqual(back, other[1].id)
    }

    func testSmoothingDampsJitter() {
        let tracker = FaceTracker(smoothing: 0.5)
        _ = tracker.update([box(100, 100)])
        let out = tracker.update([box(110, 100)])[0].box
        XCTAssertEqual(out.x, 105, "half of the 10-pixel jump")
        let raw = FaceTracker(smoothing: 0)
        _ = raw.update([box(100, 100)])
        XCTAssertEqual(raw.update([box(110, 100)])[0].box.x, 110)
    }
}
