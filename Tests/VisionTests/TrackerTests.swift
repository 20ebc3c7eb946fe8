// FaceTracker: ids stay with faces through motion and zoom, faces are held through short misses
// and then end, new faces get new ids, boxes are smoothed, bad settings are refused.

import XCTest

@testable import Vision

final class TrackerTests: XCTestCase {
    func box(_ x: Int, _ y: Int, _ s: Int = 100) -> FaceBox { FaceBox(x: x, y: y, width: s, height: s) }
    let dt = 1.0 / 30

    func update(_ t: FaceTracker, _ boxes: [FaceBox], frame n: Int) -> [TrackedFace] {
        t.update(boxes, time: Double(n) * dt, frameWidth: 1280, frameHeight: 720)
    }

    func testIdsFollowMovingFaces() {
        let tracker = FaceTracker()
        var idA = 0
        var idB = 0
        for step in 0..<30 {
            // Two faces drifting in opposite directions, listed largest first (order swaps).
            let a = box(50 + 4 * step, 60, 120 - step)
            let b = box(400 - 4 * step, 80, 100)
            let out = update(tracker, a.area >= b.area ? [a, b] : [b, a], frame: step)
            XCTAssertEqual(out.count, 2)
            let ida = out.min { abs($0.box.x - a.x) < abs($1.box.x - a.x) }!.id
            let idb = out.min { abs($0.box.x - b.x) < abs($1.box.x - b.x) }!.id
            XCTAssertFalse(out.contains { $0.held })
            if step == 0 {
                (idA, idB) = (ida, idb)
                XCTAssertNotEqual(idA, idB)
            } else {
                XCTAssertEqual(ida, idA, "face A changed id at step \(step)")
                XCTAssertEqual(idb, idB, "face B changed id at step \(step)")
            }
        }
    }

    func testIdSurvivesFastMotionAndZoom() {
        // 30 px per frame (no overlap after two frames without prediction) and growing 4% a frame.
        let tracker = FaceTracker()
        var id: Int?
        for n in 0..<25 {
            let side = Int(80 * pow(1.04, Double(n)))
            let out = update(tracker, [box(100 + 30 * n, 200, side)], frame: n)
            XCTAssertEqual(out.count, 1)
            if id == nil { id = out[0].id }
            XCTAssertEqual(out[0].id, id, "id switched at frame \(n)")
        }
    }

    func testMissedFaceIsHeldAtItsPredictedPlaceThenEnds() throws {
        let tracker = try FaceTracker(settings: TrackerSettings(hold: 0.5))
        var n = 0
        var id = 0
        // Moving right at 6 px a frame.
        for _ in 0..<10 {
            id = update(tracker, [box(200 + 6 * n, 300)], frame: n)[0].id
            n += 1
        }
        let lastSeenX = 200 + 6 * (n - 1)
        // Not found for 0.4 s: held, still moving the same way, same id.
        for k in 1...12 {
            let out = update(tracker, [], frame: n)
            XCTAssertEqual(out.count, 1, "held face gone after \(k) missed frames")
            XCTAssertEqual(out[0].id, id)
            XCTAssertTrue(out[0].held)
            XCTAssertGreaterThan(out[0].box.x, lastSeenX - 2, "held box should go on along the motion")
            n += 1
        }
        // Found again: same id, not held.
        let back = update(tracker, [box(200 + 6 * n, 300)], frame: n)
        XCTAssertEqual(back.map(\.id), [id])
        XCTAssertEqual(back.map(\.held), [false])
        n += 1
        // Gone for longer than the hold: ends; a face later gets a new id.
        var shownFor = 0
        for _ in 0..<30 {
            if !update(tracker, [], frame: n).isEmpty { shownFor += 1 }
            n += 1
        }
        XCTAssertTrue((14...15).contains(shownFor), "held for 0.5 s at 30 fps, then ended, not \(shownFor) frames")
        let later = update(tracker, [box(200 + 6 * n, 300)], frame: n)
        XCTAssertNotEqual(later[0].id, id)
    }

    func testZeroHoldAndOneFrameHitsAreNotHeld() throws {
        let none = try FaceTracker(settings: TrackerSettings(hold: 0))
        _ = update(none, [box(10, 10)], frame: 0)
        _ = update(none, [box(10, 10)], frame: 1)
        XCTAssertTrue(update(none, [], frame: 2).isEmpty)
        // A detection seen once (a likely false hit) is not held.
        let tracker = FaceTracker()
        _ = update(tracker, [box(10, 10)], frame: 0)
        XCTAssertTrue(update(tracker, [], frame: 1).isEmpty)
    }

    func testASecondBoxOnAFollowedFaceIsNotANewFace() throws {
        let tracker = FaceTracker()
        let first = update(tracker, [box(200, 200)], frame: 0)
        XCTAssertEqual(first.count, 1)
        // Another pass finds the same face at 1.9x the size (beyond the size a match allows) and
        // a smaller box on it: still one face, with its id.
        let larger = FaceBox(x: 160, y: 160, width: 190, height: 190)
        let out = update(tracker, [box(202, 200), larger, box(225, 225, 50)], frame: 1)
        XCTAssertEqual(out.map(\.id), [first[0].id])
        // A face beside it is new.
        let two = update(tracker, [box(204, 200), box(420, 200)], frame: 2)
        XCTAssertEqual(two.count, 2)
        XCTAssertEqual(Set(two.map(\.id)).count, 2)
        // A track that is not held any more (stills: hold 0) hides nothing: the next picture's face
        // at a similar place but another size is a face.
        let stills = try FaceTracker(settings: TrackerSettings(hold: 0))
        XCTAssertEqual(update(stills, [box(200, 200)], frame: 0).count, 1)
        XCTAssertEqual(update(stills, [larger], frame: 1).count, 1)
    }

    func testFaceLeavingTheFrameEnds() {
        let tracker = FaceTracker()
        // Moving left fast, out of the frame.
        for n in 0..<6 { _ = update(tracker, [box(300 - 60 * n, 300)], frame: n) }
        var n = 6
        var shown = 0
        while n < 20 {
            shown += update(tracker, [], frame: n).count
            n += 1
        }
        XCTAssertLessThan(shown, 6, "a face that left the frame must end before its hold runs out")
    }

    func testSmoothingDampsJitter() {
        let tracker = FaceTracker()
        _ = update(tracker, [box(100, 100)], frame: 0)
        let out = update(tracker, [box(110, 100)], frame: 1)[0].box
        XCTAssertGreaterThan(out.x, 100)
        XCTAssertLessThan(out.x, 110, "a jump of 10 px is followed part of the way")
        let sized = update(tracker, [box(106, 100, 140)], frame: 2)[0].box
        XCTAssertGreaterThan(sized.width, 100)
        XCTAssertLessThan(sized.width, 130, "size follows more slowly than position")
    }

    func testBadSettingsAreErrorsNotCrashes() {
        XCTAssertThrowsError(try FaceTracker(settings: TrackerSettings(hold: -1))) { error in
            XCTAssertTrue("\(error)".contains("-1"), "\(error)")
        }
        var s = TrackerSettings()
        s.positionWeight = 0
        XCTAssertThrowsError(try FaceTracker(settings: s))
        XCTAssertThrowsError(try FaceTracker(settings: TrackerSettings(hold: .nan)))
    }
}
