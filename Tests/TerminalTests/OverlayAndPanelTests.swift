// Face boxes and labels over the video, the probability bars and the panel's numbers.

import Engine
import Pipeline
import Vision
import XCTest

@testable import Terminal

final class OverlayAndPanelTests: XCTestCase {
    /// 40x40 frame drawn into 20x10 cells: 2 frame pixels per column, 4 frame rows per cell row.
    func placement() -> VideoPlacement {
        HalfBlockRasterizer().placement(
            frameWidth: 40, frameHeight: 40, in: CellRect(x: 0, y: 0, width: 20, height: 10))!
    }

    func testFaceBoxOutlineAndLabel() {
        var grid = markedGrid(width: 20, height: 10)
        let face = FaceReading(
            id: 1, box: FaceBox(x: 4, y: 8, width: 28, height: 24), label: "happy", confidence: 0.87,
            probabilities: [])
        FaceOverlay.draw([face], primaryID: nil, placement: placement(), into: &grid)
        assertRows(
            grid,
            [
                "····················",
                "····················",
                "··┌ happy 87% ─┐····",
                "··│············│····",
                "··│············│····",
                "··│············│····",
                "··│············│····",
                "··└────────────┘····",
                "····················",
                "····················",
            ])
        XCTAssertEqual(grid[2, 2].foreground, Palette.face)
        XCTAssertEqual(grid[4, 2].background, Palette.face)  // label text sits on the box colour
    }

    func testNarrowBoxPutsItsLabelAbove() {
        var grid = markedGrid(width: 20, height: 10)
        let face = FaceReading(
            id: 3, box: FaceBox(x: 10, y: 20, width: 8, height: 8), label: "sad", confidence: 0.5,
            probabilities: [])
        FaceOverlay.draw([face], primaryID: 3, placement: placement(), into: &grid)
        XCTAssertEqual(grid.row(4), "······ sad 50% ·····")
        XCTAssertEqual(grid.row(5), "·····┌──┐···········")
        XCTAssertEqual(grid.row(6), "·····└──┘···········")
        XCTAssertEqual(grid[5, 5].foreground, Palette.primaryFace)
        XCTAssertTrue(grid[5, 5].bold)
    }

    func testOverlappingLabelsDoNotCoverEachOther() {
        // Two boxes whose top edges share row 2 and overlap in columns: the primary face keeps the
        // edge, the other's label moves above its box.
        var grid = markedGrid(width: 20, height: 10)
        let a = FaceReading(
            id: 1, box: FaceBox(x: 2, y: 8, width: 24, height: 20), label: "happy", confidence: 0.87,
            probabilities: [])
        let b = FaceReading(
            id: 2, box: FaceBox(x: 10, y: 8, width: 26, height: 20), label: "sad", confidence: 0.51,
            probabilities: [])
        FaceOverlay.draw([a, b], primaryID: 2, placement: placement(), into: &grid)
        XCTAssertTrue(grid.row(2).contains(" sad 51% "), grid.debugDescription)
        XCTAssertTrue(grid.row(1).contains(" happy 87% "), grid.debugDescription)

        // No free row at all (top of the screen, box down to the last row): cut short with "…".
        var tight = markedGrid(width: 20, height: 3)
        let place = HalfBlockRasterizer().placement(
            frameWidth: 40, frameHeight: 12, in: CellRect(x: 0, y: 0, width: 20, height: 3))!
        let c = FaceReading(
            id: 1, box: FaceBox(x: 0, y: 0, width: 30, height: 12), label: "surprise", confidence: 0.9,
            probabilities: [])
        let d = FaceReading(
            id: 2, box: FaceBox(x: 12, y: 0, width: 28, height: 12), label: "neutral", confidence: 0.6,
            probabilities: [])
        FaceOverlay.draw([c, d], primaryID: 2, placement: place, into: &tight)
        XCTAssertTrue(tight.row(0).contains(" neutral 60% "), tight.debugDescription)
        XCTAssertTrue(tight.row(0).contains("…"), tight.debugDescription)
    }

    func testAnUncertainFaceSaysSoInItsLabelAndThePanel() {
        var grid = markedGrid(width: 20, height: 10)
        let probs: [Float] = [0.05, 0.02, 0.34, 0.1, 0.12, 0.31, 0.06]
        let face = FaceReading(
            id: 1, box: FaceBox(x: 4, y: 8, width: 28, height: 24), probabilities: probs,
            classes: ModelInfo.ferClasses)
        FaceOverlay.draw([face], primaryID: nil, placement: placement(), into: &grid)
        XCTAssertTrue(grid.row(2).contains(" fear? 34% "), grid.debugDescription)
        XCTAssertEqual(grid[4, 2].background, Palette.dim, "an uncertain label sits on the dim colour")

        var snap = MonitorSnapshot()
        snap.classes = ModelInfo.ferClasses
        snap.faces = [face]
        var panel = CellGrid(width: 32, height: 30)
        SidePanel.draw(snap, in: panel.bounds, into: &panel)
        XCTAssertTrue(panel.rows.contains { $0.contains("face #1: uncertain") }, panel.debugDescription)
        XCTAssertTrue(panel.rows.contains { $0.contains("fear 34.0% / sad 31.0%") }, panel.debugDescription)
    }

    func testAHeldFaceIsDrawnDimAndSaysHeld() {
        var grid = markedGrid(width: 20, height: 10)
        var face = FaceReading(
            id: 1, box: FaceBox(x: 2, y: 8, width: 34, height: 24), label: "sad", confidence: 0.8,
            probabilities: [])
        face.held = true
        FaceOverlay.draw([face], primaryID: nil, placement: placement(), into: &grid)
        XCTAssertTrue(grid.row(2).contains(" sad 80% held "), grid.debugDescription)
        XCTAssertEqual(grid[1, 2].foreground, Palette.dim, "the held box's outline is dim")
    }

    func testMirroredPictureAndBoxesSwapSides() {
        // A 4x2 gray frame, dark on the left, bright on the right; a face box on the left half.
        let frame = Frame(width: 4, height: 2, channels: 1, pixels: [0, 0, 255, 255, 0, 0, 255, 255])
        var plain = HalfBlockRasterizer()
        var grid = markedGrid(width: 4, height: 1)
        plain.draw(frame, into: &grid, area: grid.bounds)
        XCTAssertEqual(grid[0, 0].foreground, .indexed(16))
        plain.mirrored = true
        plain.draw(frame, into: &grid, area: grid.bounds)
        XCTAssertEqual(grid[0, 0].foreground, .indexed(231), "mirrored: the bright side is on the left")
        XCTAssertEqual(grid[3, 0].foreground, .indexed(16))

        // 40x40 into 20x10 mirrored: a box at frame x 4..<32 lands at columns 4...17 instead of 2...15.
        var mirrored = placement()
        mirrored.mirrored = true
        XCTAssertEqual(mirrored.columns(forFrameX: 4, through: 31).left, 4)
        XCTAssertEqual(mirrored.columns(forFrameX: 4, through: 31).right, 17)
        XCTAssertEqual(placement().columns(forFrameX: 4, through: 31).left, 2)
    }

    func testPrimaryFaceIsHighlightedAndOthersAreNot() {
        var grid = markedGrid(width: 20, height: 10)
        let a = FaceReading(
            id: 1, box: FaceBox(x: 0, y: 0, width: 16, height: 16), label: "fear", confidence: 0.4, probabilities: [])
        let b = FaceReading(
            id: 2, box: FaceBox(x: 20, y: 20, width: 16, height: 16), label: "angry", confidence: 0.6, probabilities: []
        )
        FaceOverlay.draw([a, b], primaryID: 2, placement: placement(), into: &grid)
        XCTAssertEqual(grid[0, 0].glyph, "┌")
        XCTAssertEqual(grid[0, 0].foreground, Palette.face)
        XCTAssertEqual(grid[10, 5].glyph, "┌")
        XCTAssertEqual(grid[10, 5].foreground, Palette.primaryFace)
    }

    func testBarsUseEighths() {
        XCTAssertEqual(SidePanel.bar(0, width: 4), "    ")
        XCTAssertEqual(SidePanel.bar(0.5, width: 4), "██  ")
        XCTAssertEqual(SidePanel.bar(1, width: 4), "████")
        XCTAssertEqual(SidePanel.bar(0.3125, width: 4), "█▎  ")  // 10 of 32 eighths
        XCTAssertEqual(SidePanel.bar(2, width: 3), "███")
        XCTAssertEqual(SidePanel.percent(0.8734), "87.3%")
    }

    func testPanelShowsEveryClassInOrderWithPercentages() {
        var snap = MonitorSnapshot()
        snap.classes = ModelInfo7.classes
        snap.modelName = "resnet34"
        snap.inputSize = 48
        snap.sourceName = "clip.mp4"
        snap.faces = [
            FaceReading(
                id: 4, box: FaceBox(x: 0, y: 0, width: 10, height: 10),
                probabilities: [0.05, 0.0, 0.1, 0.6, 0.15, 0.05, 0.05], classes: ModelInfo7.classes)
        ]
        snap.rates = PipelineRates(source: 30, inference: 24.5, display: 29.96)
        snap.timings = StageTimings(capture: 1.2, detect: 6.5, preprocess: 0.4, forward: 21.0, render: 1.1)
        snap.accuracy = RunningAccuracy(correct: 3, total: 4)
        var grid = CellGrid(width: 32, height: 26)
        SidePanel.draw(snap, in: grid.bounds, into: &grid)
        let rows = grid.rows
        XCTAssertEqual(rows[0].trimmingCharacters(in: .whitespaces), "model resnet34 48x48")
        XCTAssertEqual(rows[3].trimmingCharacters(in: .whitespaces), "face #4: happy 60.0%")
        let bars = rows[4...10].map { String($0.dropFirst().prefix(8)).trimmingCharacters(in: .whitespaces) }
        XCTAssertEqual(bars, ModelInfo7.classes)
        XCTAssertTrue(rows[7].hasSuffix(" 60.0%"), rows[7])
        XCTAssertTrue(rows[7].contains("█████████"), rows[7])  // 60% of a 14-cell bar
        XCTAssertTrue(rows[5].hasSuffix("  0.0%"), rows[5])
        XCTAssertEqual(grid[10, 7].foreground, Palette.primaryBar)  // the top class's bar stands out
        XCTAssertEqual(grid[10, 4].foreground, Palette.bar)
        XCTAssertTrue(rows.contains { $0.contains("source 30.0") }, grid.debugDescription)
        XCTAssertTrue(rows.contains { $0.contains("infer  24.5") }, grid.debugDescription)
        XCTAssertTrue(rows.contains { $0.contains("screen 30.0") }, grid.debugDescription)
        XCTAssertTrue(
            rows.contains { $0.contains("capture    1.2") && $0.contains("detect   6.5") }, grid.debugDescription)
        XCTAssertTrue(rows.contains { $0.contains("fwd     21.0") }, grid.debugDescription)
        XCTAssertTrue(rows.contains { $0.contains("accuracy 3/4 75.0%") }, grid.debugDescription)
    }

    func testPanelWithoutFacesShowsDashes() {
        var snap = MonitorSnapshot()
        snap.classes = ModelInfo7.classes
        var grid = CellGrid(width: 32, height: 22)
        SidePanel.draw(snap, in: grid.bounds, into: &grid)
        XCTAssertEqual(grid.row(3).trimmingCharacters(in: .whitespaces), "no face")
        XCTAssertTrue(grid.row(4).hasSuffix("     -"), grid.row(4))
        XCTAssertFalse(grid.rows.contains { $0.contains("accuracy") }, "accuracy only in labelled replays")
    }
}

/// FER-2013's classes, as the models order them.
enum ModelInfo7 {
    static let classes = ["angry", "disgust", "fear", "happy", "neutral", "sad", "surprise"]
}
