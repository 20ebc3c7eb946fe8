// The engine's spinning workers: every item of every job runs exactly once, jobs come back to back
// or after the workers fell asleep, and a second caller or a nested split runs serially instead of
// waiting on the first.

import Foundation
import Synchronization
import XCTest

@testable import Engine

final class WorkersTests: XCTestCase {
    func testEveryItemRunsOnceInBackToBackJobs() {
        let workers = SpinningWorkers()
        workers.reserve(3)
        for job in 0..<2000 {
            let items = 1 + job % 37
            let counts = UnsafeMutableBufferPointer<Int>.allocate(capacity: items)
            defer { counts.deallocate() }
            counts.initialize(repeating: 0)
            workers.run(items: items) { i in counts[i] += 1 }
            XCTAssertEqual(Array(counts), [Int](repeating: 1, count: items), "job \(job)")
        }
    }

    func testJobsAfterTheWorkersSleptStillRunEverywhere() {
        let workers = SpinningWorkers()
        workers.reserve(2)
        var threads = Set<UInt>()
        let lock = NSLock()
        for _ in 0..<5 {
            Thread.sleep(forTimeInterval: 0.05)  // far past the spin: the workers are asleep
            let done = UnsafeMutableBufferPointer<Bool>.allocate(capacity: 64)
            defer { done.deallocate() }
            done.initialize(repeating: false)
            workers.run(items: 64) { i in
                lock.lock()
                threads.insert(UInt(pthread_self()))
                lock.unlock()
                usleep(200)  // long enough that a woken worker takes some items
                done[i] = true
            }
            XCTAssertTrue(done.allSatisfy { $0 })
        }
        XCTAssertGreaterThan(threads.count, 1, "only \(threads) ran items")
    }

    func testNestedAndConcurrentJobsRunSerially() {
        let workers = SpinningWorkers()
        workers.reserve(1)
        let sums = UnsafeMutableBufferPointer<Int>.allocate(capacity: 4)
        defer { sums.deallocate() }
        sums.initialize(repeating: 0)
        workers.run(items: 4) { i in
            // a split inside a split: runs on this thread, items in order
            var order: [Int] = []
            workers.run(items: 5) { j in order.append(j) }
            sums[i] = order == [0, 1, 2, 3, 4] ? 1 : -1
        }
        XCTAssertEqual(Array(sums), [1, 1, 1, 1])

        let total = Atomic<Int>(0)
        DispatchQueue.concurrentPerform(iterations: 4) { _ in
            for _ in 0..<200 {
                workers.run(items: 8) { _ in total.add(1, ordering: .relaxed) }
            }
        }
        XCTAssertEqual(total.load(ordering: .relaxed), 4 * 200 * 8)
    }
}
