// Stages drop stale items (latest wins) or block, never queue without bound; the meters and
// the smoother compute what they say.

import Dispatch
import XCTest

@testable import Pipeline

final class StageTests: XCTestCase {
    func testBusyStageKeepsOnlyTheNewestItem() {
        let gate = DispatchSemaphore(value: 0)
        let started = DispatchSemaphore(value: 0)
        var seen: [Int] = []
        let stage = LatestValueStage<Int>(label: "test.drop") { item in
            if item == 0 {
                started.signal()
                gate.wait()
            }
            seen.append(item)
        }
        stage.submit(0)
        started.wait()  // item 0 is running; 1...5 arrive while it runs
        for i in 1...5 { stage.submit(i) }
        XCTAssertEqual(stage.dropped, 4)
        gate.signal()
        XCTAssertTrue(stage.waitUntilIdle(timeout: 5))
        XCTAssertEqual(seen, [0, 5])
        XCTAssertEqual(stage.processed, 2)
    }

    func testBlockingStageProcessesEverythingInOrder() {
        var seen: [Int] = []
        let stage = LatestValueStage<Int>(label: "test.block", policy: .block) { item in
            Thread.sleep(forTimeInterval: 0.002)
            seen.append(item)
        }
        for i in 0..<30 { stage.submit(i) }
        XCTAssertTrue(stage.waitUntilIdle(timeout: 5))
        XCTAssertEqual(seen, Array(0..<30))
        XCTAssertEqual(stage.dropped, 0)
    }

    func testBlockingSubmitWaitsForTheSlot() {
        let gate = DispatchSemaphore(value: 0)
        let started = DispatchSemaphore(value: 0)
        let stage = LatestValueStage<Int>(label: "test.wait", policy: .block) { item in
            if item == 0 {
                started.signal()
                gate.wait()
            }
        }
        stage.submit(0)
        started.wait()
        stage.submit(1)  // fills the slot
        let third = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            stage.submit(2)
            third.signal()
        }
        XCTAssertEqual(third.wait(timeout: .now() + 0.2), .timedOut, "submit must wait while the slot is full")
        gate.signal()
        XCTAssertEqual(third.wait(timeout: .now() + 5), .success)
        XCTAssertTrue(stage.waitUntilIdle(timeout: 5))
        XCTAssertEqual(stage.processed, 3)
    }

    func testSmootherAveragesTheLastWindowPerFace() {
        var s = ProbabilitySmoother(window: 2)
        XCTAssertEqual(s.add([1, 0], for: 1), [1, 0])
        XCTAssertEqual(s.add([0, 1], for: 1), [0.5, 0.5])
        XCTAssertEqual(s.add([0, 1], for: 1), [0, 1])  // the first vector left the window
        XCTAssertEqual(s.add([0.2, 0.8], for: 2), [0.2, 0.8], "face 2 has its own history")
        s.keepOnly([2])
        XCTAssertEqual(s.trackedIDs, [2])
        XCTAssertEqual(s.add([1, 0], for: 1), [1, 0], "a forgotten face starts afresh")
    }

    func testMetersAndMedian() {
        var rate = RateMeter(window: 1)
        for i in 0..<11 { rate.tick(at: 100 + Double(i) * 0.05) }
        XCTAssertEqual(rate.rate(at: 100.5), 20, accuracy: 1e-9)
        XCTAssertEqual(rate.rate(at: 102), 20, accuracy: 1e-6, "slow: the last interval while recent")
        XCTAssertEqual(rate.rate(at: 111), 0, "stale after 10 s")
        var slow = RateMeter(window: 1)
        slow.tick(at: 0)
        slow.tick(at: 2.5)
        XCTAssertEqual(slow.rate(at: 3), 0.4, accuracy: 1e-9, "one event every 2.5 s")
        var median = RollingMedian(capacity: 3)
        for v in [5.0, 1, 3, 100] { median.add(v) }
        XCTAssertEqual(median.median, 3)  // 1, 3, 100
        var average = MovingAverage(alpha: 0.5)
        average.add(10)
        average.add(20)
        XCTAssertEqual(average.value, 15)
    }
}
