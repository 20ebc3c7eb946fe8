// The half-block video: glyphs, colours, aspect, placement and averaging.

import Vision
import XCTest

@testable import Terminal

final class HalfBlockRasterizerTests: XCTestCase {
    func grayFrame(_ rows: [[UInt8]]) -> Frame {
        Frame(width: rows[0].count, height: rows.count, channels: 1, pixels: rows.flatMap { $0 })
    }

    func testUpperPixelIsForegroundLowerIsBackground() {
        // Rows: black, white, white, black → cell row 0 = black over white, row 1 = white over black.
        let frame = grayFrame([[0, 0, 0, 0], [255, 255, 255, 255], [255, 255, 255, 255], [0, 0, 0, 0]])
        var grid = markedGrid(width: 4, height: 2)
        let placement = HalfBlockRasterizer().draw(frame, into: &grid, area: grid.bounds)
        assertRows(grid, ["▀▀▀▀", "▀▀▀▀"])
        XCTAssertEqual(placement?.cells, CellRect(x: 0, y: 0, width: 4, height: 2))
        XCTAssertEqual(grid[0, 0].foreground, .indexed(16))
        XCTAssertEqual(grid[0, 0].background, .indexed(231))
        XCTAssertEqual(grid[3, 1].foreground, .indexed(231))
        XCTAssertEqual(grid[3, 1].background, .indexed(16))
    }

    func testWideFrameIsLetterboxedAndCentred() {
        // 8x2 pixels into 8 columns x 4 rows (8x8 half-cell pixels): one row of cells, centred.
        let frame = grayFrame([[UInt8](repeating: 128, count: 8), [UInt8](repeating: 128, count: 8)])
        var grid = markedGrid(width: 8, height: 4)
        HalfBlockRasterizer().draw(frame, into: &grid, area: grid.bounds)
        assertRows(grid, ["········", "▀▀▀▀▀▀▀▀", "········", "········"])
    }

    func testTallFrameIsPillarboxedAndCentred() {
        // 2x8 pixels into 8x4 cells: 2 columns wide, all 4 rows tall, centred horizontally.
        let frame = grayFrame((0..<8).map { _ in [200, 200] })
        var grid = markedGrid(width: 8, height: 4)
        HalfBlockRasterizer().draw(frame, into: &grid, area: grid.bounds)
        assertRows(grid, ["···▀▀···", "···▀▀···", "···▀▀···", "···▀▀···"])
    }

    func testDrawsOnlyInsideTheArea() {
        let frame = grayFrame([[10, 20], [30, 40]])
        var grid = markedGrid(width: 6, height: 3)
        HalfBlockRasterizer().draw(frame, into: &grid, area: CellRect(x: 3, y: 1, width: 2, height: 1))
        assertRows(grid, ["······", "···▀▀·", "······"])
    }

    func testShrinkingAveragesPixels() {
        // 4x4 → 2 columns x 1 cell row (2x2 pixels): each output pixel is the mean of a 2x2 block.
        let frame = grayFrame([[0, 100, 200, 240], [0, 100, 200, 240], [50, 50, 250, 250], [50, 50, 250, 250]])
        var grid = markedGrid(width: 2, height: 1)
        HalfBlockRasterizer(colorMode: .truecolor).draw(frame, into: &grid, area: grid.bounds)
        XCTAssertEqual(grid[0, 0].foreground, .rgb(50, 50, 50))
        XCTAssertEqual(grid[0, 0].background, .rgb(50, 50, 50))
        XCTAssertEqual(grid[1, 0].foreground, .rgb(220, 220, 220))
        XCTAssertEqual(grid[1, 0].background, .rgb(250, 250, 250))
    }

    func testTruecolorKeepsChannelsInRGBOrder() {
        // BGR pixels: pure blue over pure red.
        let frame = Frame(width: 1, height: 2, channels: 3, pixels: [255, 0, 0, 0, 0, 255])
        var grid = markedGrid(width: 1, height: 1)
        HalfBlockRasterizer(colorMode: .truecolor).draw(frame, into: &grid, area: grid.bounds)
        XCTAssertEqual(grid[0, 0].foreground, .rgb(0, 0, 255))
        XCTAssertEqual(grid[0, 0].background, .rgb(255, 0, 0))
    }

    func testGrayscaleModeUsesTheGrayRampForColourFrames() {
        // Pure green in BGR has luma 150 → ramp entry 232 + 14 (level 148).
        let frame = Frame(width: 1, height: 2, channels: 3, pixels: [0, 255, 0, 0, 255, 0])
        var grid = markedGrid(width: 1, height: 1)
        HalfBlockRasterizer().draw(frame, into: &grid, area: grid.bounds)
        XCTAssertEqual(grid[0, 0].foreground, .indexed(246))
    }

    func testGrayRampEndsAndMiddle() {
        XCTAssertEqual(HalfBlockRasterizer.grayIndex[0], 16)
        XCTAssertEqual(HalfBlockRasterizer.grayIndex[255], 231)
        XCTAssertEqual(HalfBlockRasterizer.grayIndex[128], 244)  // level 128 exactly
        XCTAssertEqual(HalfBlockRasterizer.grayIndex[8], 232)
    }

    func testAutoColourFollowsTheTerminalAndNO_COLOR() {
        XCTAssertEqual(ColorMode.resolve(.auto, depth: .direct, environment: [:]), .truecolor)
        XCTAssertEqual(ColorMode.resolve(.auto, depth: .palette256, environment: [:]), .color256)
        XCTAssertEqual(ColorMode.resolve(.auto, depth: .basic, environment: [:]), .grayscale256)
        XCTAssertEqual(ColorMode.resolve(.auto, depth: .direct, environment: ["NO_COLOR": "1"]), .grayscale256)
        XCTAssertEqual(ColorMode.resolve(.auto, depth: .direct, environment: ["NO_COLOR": ""]), .truecolor)
        XCTAssertEqual(ColorMode.resolve(.color256, depth: .direct, environment: ["NO_COLOR": "1"]), .color256)
        XCTAssertEqual(ColorMode.resolve(.gray, depth: .direct, environment: [:]), .grayscale256)
    }

    func testColor256ModeGivesExactPaletteEntries() {
        // BGR pixels, one per half-cell: pure red, gray 128, teal (0,128,128), a skin tone.
        let frame = Frame(
            width: 2, height: 2, channels: 3,
            pixels: [
                0, 0, 255, 128, 128, 128,
                128, 128, 0, 150, 180, 230,
            ])
        var grid = markedGrid(width: 2, height: 1)
        HalfBlockRasterizer(colorMode: .color256).draw(frame, into: &grid, area: grid.bounds)
        XCTAssertEqual(grid[0, 0].foreground, .indexed(196), "pure red is cube entry 196")
        XCTAssertEqual(grid[1, 0].foreground, .indexed(244), "gray 128 is exactly ramp entry 244")
        XCTAssertEqual(grid[0, 0].background, .indexed(30), "teal: cube (0, 2, 2)")
        XCTAssertEqual(grid[1, 0].background, .indexed(180), "(230, 180, 150) → cube (215, 175, 135)")
        // A gray frame stays on the ramp in the colour mode.
        var gray = markedGrid(width: 1, height: 1)
        HalfBlockRasterizer(colorMode: .color256).draw(grayFrame([[128], [8]]), into: &gray, area: gray.bounds)
        XCTAssertEqual(gray[0, 0].foreground, .indexed(244))
        XCTAssertEqual(gray[0, 0].background, .indexed(232))
    }

    func testDitheringSpreadsAFlatColourOverNeighbouringEntries() {
        // A flat colour halfway between two cube levels: plain mapping gives one entry everywhere,
        // ordered dithering a mix of the two.
        let side = 8
        let frame = Frame(
            width: side, height: side, channels: 3,
            pixels: [UInt8]((0..<(side * side)).flatMap { _ in [UInt8(40), 40, 115] }))
        var plain = CellGrid(width: side, height: side / 2)
        HalfBlockRasterizer(colorMode: .color256).draw(frame, into: &plain, area: plain.bounds)
        var dithered = CellGrid(width: side, height: side / 2)
        HalfBlockRasterizer(colorMode: .color256, dither: true).draw(frame, into: &dithered, area: dithered.bounds)
        let plainColours = Set(plain.cells.flatMap { [$0.foreground, $0.background] })
        let ditheredColours = Set(dithered.cells.flatMap { [$0.foreground, $0.background] })
        XCTAssertEqual(plainColours.count, 1)
        XCTAssertGreaterThanOrEqual(ditheredColours.count, 2)
    }

    func testPlacementMapsFramePixelsToCells() throws {
        // 640x480 into 80x30 cells: canvas 80x60 half-pixels, scale 1/8, exactly filled.
        let p = try XCTUnwrap(
            HalfBlockRasterizer().placement(
                frameWidth: 640, frameHeight: 480,
                in: CellRect(x: 0, y: 0, width: 80, height: 30)))
        XCTAssertEqual(p.cells, CellRect(x: 0, y: 0, width: 80, height: 30))
        XCTAssertEqual(p.column(forFrameX: 320), 40)
        XCTAssertEqual(p.row(forFrameY: 240), 15)
        XCTAssertEqual(p.lastColumn(forFrameX: 639), 79)
        XCTAssertEqual(p.lastRow(forFrameY: 479), 29)
    }

    func testPaletteNearestColours() {
        XCTAssertEqual(XtermPalette.nearest256(255, 0, 0), 196)
        XCTAssertEqual(XtermPalette.nearest256(128, 128, 128), 244)
        XCTAssertEqual(XtermPalette.nearestBasic(250, 10, 10), 1)
        XCTAssertTrue(XtermPalette.rgb(46) == (0, 255, 0))
    }
}
