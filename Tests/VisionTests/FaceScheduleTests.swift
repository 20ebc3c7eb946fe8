// FaceSchedule: the full pass's slices cover the frame for every face size, a moving face is found
// and keeps its id, a face hidden for a moment is held, and bad settings or cascade files are
// errors that say what to do.

import Foundation
import XCTest

@testable import Vision

final class FaceScheduleTests: XCTestCase {
    func testFullPassPlanCoversTheFrameAtEveryFaceSize() {
        var s = DetectionSettings()
        s.minFace = 32
        for (w, h) in [(640, 480), (1280, 720), (333, 901)] {
            let plan = FaceSchedule.fullPassPlan(width: w, height: h, settings: s)
            XCTAssertFalse(plan.isEmpty)
            // The largest faces' band comes first and has no upper limit; bands shrink by half.
            XCTAssertEqual(plan.first?.maxSide, 0, "\(w)x\(h): the first band must reach the largest faces")
            XCTAssertEqual(plan.map(\.scale), plan.map(\.scale).sorted(), "largest faces (smallest scale) first")
            let scales = Array(Set(plan.map(\.scale))).sorted(by: >)
            XCTAssertEqual(scales.first!, 28.0 / 32, accuracy: 1e-9, "a 32 px face is searched at 28 px")
            // Larger-face bands keep their smallest face at 36 px, and the video pass steps by 1.2.
            for scale in scales.dropFirst() {
                let band = plan.first { $0.scale == scale }!
                XCTAssertEqual(Double(band.minSide), 36, accuracy: 1, "\(w)x\(h) band \(scale)")
            }
            XCTAssertTrue(plan.allSatisfy { $0.scaleFactor == 1.2 })
            for scale in scales {
                let band = plan.filter { $0.scale == scale }
                // Every pixel of the frame lies in a tile of every band.
                for y in stride(from: 0, to: h, by: 7) {
                    for x in stride(from: 0, to: w, by: 7) {
                        XCTAssertTrue(
                            band.contains {
                                x >= $0.rect.x && x < $0.rect.x + $0.rect.width
                                    && y >= $0.rect.y && y < $0.rect.y + $0.rect.height
                            },
                            "\(w)x\(h) band \(scale): (\(x), \(y)) uncovered")
                    }
                }
                // Tiles overlap by at least the largest face only this band searches (the next band's
                // smallest), so no face is cut in two everywhere.
                if let maxSide = band.first?.maxSide, maxSide > 0, band.count > 1,
                    let next = scales.first(where: { $0 < scale })
                {
                    let overlap = Double(plan.first { $0.scale == next }!.minSide) / next
                    XCTAssertLessThanOrEqual(
                        overlap, Double(maxSide) / scale + 1, "the next band starts inside this one")
                    let xs = Set(band.map(\.rect.x)).sorted()
                    for (a, b) in zip(xs, xs.dropFirst()) {
                        let tileWidth = band.first { $0.rect.x == a }!.rect.width
                        XCTAssertGreaterThanOrEqual(Double(a + tileWidth - b), overlap - 2)
                    }
                }
            }
            // Each band's smallest face is at or below the next band's largest: no size falls between.
            for (a, b) in zip(scales, scales.dropFirst()) {
                let big = plan.first { $0.scale == a }!.maxSide
                let small = plan.first { $0.scale == b }!.minSide
                if big > 0 { XCTAssertLessThanOrEqual(Double(small) / b, Double(big) / a + 1) }
            }
        }
        // Stills: one pass over the whole frame at full size, from the smallest face asked for.
        s.fullPassBudget = nil
        XCTAssertEqual(
            FaceSchedule.fullPassPlan(width: 500, height: 300, settings: s),
            [
                FaceSchedule.Slice(
                    rect: FaceBox(x: 0, y: 0, width: 500, height: 300), scale: 1, minSide: 32, maxSide: 0,
                    scaleFactor: 1.1)
            ])
    }

    func testMergesBoxesOfOneFace() {
        let merged = FaceSchedule.merged([
            FaceBox(x: 100, y: 100, width: 60, height: 60),
            FaceBox(x: 104, y: 98, width: 64, height: 64),
            FaceBox(x: 300, y: 100, width: 60, height: 60),
        ])
        XCTAssertEqual(merged.count, 2)
        XCTAssertEqual(merged[0], FaceBox(x: 102, y: 99, width: 62, height: 62))
    }

    /// The demo face moving over a 640x480 frame: found, one id throughout; covered for a few
    /// frames, it is held (marked) with that id; found again, the id is unchanged.
    func testDemoFaceIsFollowedAndHeldThroughACover() throws {
        let demo = try DemoSource(
            assets: repositoryRoot + "/Assets/demo", width: 640, height: 480, fps: 10,
            realtime: false, frames: 40)
        var settings = DetectionSettings()
        settings.fullPassBudget = 1000  // the whole full pass each frame: what is tested is the holding
        let schedule = try FaceSchedule(settings: settings)
        schedule.frameInterval = 1.0 / 30
        var ids = Set<Int>()
        var firstFound: Int?
        var heldFrames = 0
        var boxed = 0
        while var frame = try demo.nextFrame() {
            let n = frame.index
            let expected = demo.faceBox(at: Double(n) / 10)
            let covered = (26..<30).contains(n)
            if covered {
                // A grey card over the face.
                for y in max(0, expected.y)..<min(480, expected.y + expected.height) {
                    for x in max(0, expected.x)..<min(640, expected.x + expected.width) {
                        let i = (y * 640 + x) * 3
                        frame.pixels[i] = 90
                        frame.pixels[i + 1] = 90
                        frame.pixels[i + 2] = 90
                    }
                }
            }
            let faces = try schedule.faces(in: frame)
            if firstFound != nil {
                XCTAssertEqual(schedule.lastStatistics.regions, 1, "frame \(n): one region per live track")
            }
            XCTAssertLessThanOrEqual(faces.count, 1, "frame \(n): \(faces)")
            guard let face = faces.first else { continue }
            if firstFound == nil { firstFound = n }
            ids.insert(face.id)
            if covered {
                XCTAssertTrue(face.held, "frame \(n): a covered face can only be held")
                XCTAssertEqual(
                    schedule.lastStatistics.fineLooks, 1,
                    "frame \(n): a region the coarse step misses is searched once more at the fine step")
                heldFrames += 1
            } else if face.box.iou(expected) >= 0.3 {
                boxed += 1
            }
        }
        let first = try XCTUnwrap(firstFound, "the face was never found")
        XCTAssertLessThan(first, 26, "the full pass took too long to find the face")
        XCTAssertEqual(ids.count, 1, "one face, ids \(ids)")
        XCTAssertEqual(heldFrames, 4, "held through the 4 covered frames (0.13 s < 0.5 s hold)")
        XCTAssertGreaterThanOrEqual(Double(boxed) / Double(36 - first), 0.9, "boxed in \(boxed) frames after \(first)")
    }

    /// A face walking into a still scene is searched for where the picture changed, long before
    /// the full pass would reach it in turn (with this budget a whole pass takes about 300 frames).
    func testAFaceAppearingInAStillSceneIsFoundWhereThePictureChanged() throws {
        let demo = try DemoSource(
            assets: repositoryRoot + "/Assets/demo", width: 1280, height: 720, fps: 10, realtime: false, frames: 1)
        let withFace = try XCTUnwrap(try demo.nextFrame())
        let box = demo.faceBox(at: 0)
        var empty = withFace
        for y in max(0, box.y - 10)..<min(720, box.y + box.height + 10) {
            for x in max(0, box.x - 10)..<min(1280, box.x + box.width + 10) {
                for c in 0..<3 { empty.pixels[(y * 1280 + x) * 3 + c] = 90 }
            }
        }
        var settings = DetectionSettings()
        settings.fullPassBudget = 2
        let schedule = try FaceSchedule(settings: settings)
        schedule.frameInterval = 1.0 / 30
        var found: Int?
        for n in 0..<150 {
            var frame = n < 30 ? empty : withFace
            frame.index = n
            let faces = try schedule.faces(in: frame)
            if n < 30 {
                XCTAssertTrue(faces.isEmpty, "frame \(n): \(faces)")
            } else if faces.contains(where: { $0.box.iou(box) >= 0.3 }) {
                found = n
                break
            }
        }
        let n = try XCTUnwrap(found, "the face that appeared at frame 30 was not found by frame 150")
        XCTAssertLessThan(n, 60, "found \(n - 30) frames after it appeared")
    }

    func testBadSettingsAndCascadeFilesAreErrors() throws {
        var s = DetectionSettings()
        s.minFace = 0
        XCTAssertThrowsError(try FaceSchedule(settings: s)) {
            XCTAssertTrue("\($0)".contains("minimum face size 0"), "\($0)")
        }
        s = DetectionSettings()
        s.tracker.hold = -0.5
        XCTAssertThrowsError(try FaceSchedule(settings: s)) { XCTAssertTrue("\($0)".contains("-0.5"), "\($0)") }
        s = DetectionSettings()
        s.scaleFactor = 1
        XCTAssertThrowsError(try FaceSchedule(settings: s))
        XCTAssertThrowsError(try CascadeDetector(settings: DetectorSettings(scaleFactor: 1)))

        let dir = try scratchFolder(self)
        s = DetectionSettings()
        s.cascadePath = dir + "/missing.xml"
        XCTAssertThrowsError(try FaceSchedule(settings: s)) { error in
            XCTAssertTrue("\(error)".contains("missing.xml") && "\(error)".contains("--cascade"), "\(error)")
        }
        let junk = dir + "/junk.xml"
        try Data("<opencv_storage><nothing/></opencv_storage>\n".utf8).write(to: URL(fileURLWithPath: junk))
        s.cascadePath = junk
        XCTAssertThrowsError(try FaceSchedule(settings: s)) { error in
            XCTAssertTrue("\(error)".contains("not an OpenCV cascade"), "\(error)")
        }
        s.cascadePath = nil
        s.confirmCascadePath = junk
        XCTAssertThrowsError(try FaceSchedule(settings: s))
    }
}

final class EqualizationRuleTests: XCTestCase {
    func testOnlyFlatDimFramesCountAsLowContrast() {
        // Stage-like: everything between 30 and 60.
        let flat: [UInt8] = (0..<10_000).map { (i: Int) -> UInt8 in UInt8(30 + i % 31) }
        XCTAssertTrue(FaceSchedule.lowContrast(flat))
        // A dark flash photo: mostly black, bright parts.
        let darkWithLights: [UInt8] = (0..<10_000).map { (i: Int) -> UInt8 in
            let level: Int = i % 10 < 7 ? i % 20 : 150 + i % 100
            return UInt8(level)
        }
        XCTAssertFalse(FaceSchedule.lowContrast(darkWithLights))
        let wide: [UInt8] = (0..<10_000).map { (i: Int) -> UInt8 in UInt8(i % 256) }
        XCTAssertFalse(FaceSchedule.lowContrast(wide))
    }
}
