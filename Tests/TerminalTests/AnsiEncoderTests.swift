// The escape codes a grid becomes: exact bytes for known cells at each colour depth, runs without
// needless cursor moves or colour changes, and nothing for cells already on screen.

import XCTest

@testable import Terminal

final class AnsiEncoderTests: XCTestCase {
    func encoded(_ grid: CellGrid, previous: CellGrid? = nil, depth: ColorDepth) -> String {
        var out: [UInt8] = []
        AnsiEncoder.encode(grid, previous: previous, depth: depth, into: &out)
        return String(decoding: out, as: UTF8.self).replacingOccurrences(of: "\u{1B}", with: "⎋")
    }

    func testEachDepthWritesItsOwnCodes() {
        var grid = CellGrid(width: 2, height: 1)
        grid[0, 0] = Cell("▀", foreground: .rgb(255, 0, 0), background: .indexed(232))
        grid[1, 0] = Cell("a", foreground: .terminalDefault, background: .terminalDefault, bold: true)
        XCTAssertEqual(encoded(grid, depth: .direct), "⎋[1;1H⎋[0;38;2;255;0;0;48;5;232m▀⎋[1;39;49ma⎋[0m")
        XCTAssertEqual(encoded(grid, depth: .palette256), "⎋[1;1H⎋[0;38;5;196;48;5;232m▀⎋[1;39;49ma⎋[0m")
        XCTAssertEqual(encoded(grid, depth: .basic), "⎋[1;1H⎋[0;31;40m▀⎋[1;39;49ma⎋[0m")
        XCTAssertEqual(encoded(grid, depth: .none), "⎋[1;1H⎋[0;39;49m▀⎋[1;39;49ma⎋[0m")
    }

    func testOnlyChangedCellsAreSentWithMovesWhereTheRunBreaks() {
        let cell = Cell("▀", foreground: .indexed(240), background: .indexed(250))
        let before = CellGrid(width: 5, height: 2, filling: cell)
        XCTAssertEqual(encoded(before, previous: before, depth: .palette256), "", "an unchanged grid sends nothing")
        var after = before
        after[1, 0] = Cell("x", foreground: .indexed(240), background: .indexed(250))
        after[2, 0] = Cell("y", foreground: .indexed(240), background: .indexed(250))
        after[4, 1] = Cell("z", foreground: .indexed(240), background: .indexed(250), bold: true)
        XCTAssertEqual(
            encoded(after, previous: before, depth: .palette256),
            "⎋[1;2H⎋[0;38;5;240;48;5;250mxy⎋[2;5H⎋[1mz⎋[0m")
        // Bold off again needs a reset, then both colours.
        var third = after
        third[4, 1] = Cell("w", foreground: .indexed(240), background: .indexed(250))
        XCTAssertEqual(encoded(third, previous: after, depth: .palette256), "⎋[2;5H⎋[0;38;5;240;48;5;250mw⎋[0m")
    }

    func testASizeChangeSendsEverything() {
        let small = CellGrid(width: 2, height: 1, filling: Cell("a"))
        let large = CellGrid(width: 3, height: 1, filling: Cell("a"))
        XCTAssertEqual(encoded(large, previous: small, depth: .basic), "⎋[1;1H⎋[0;39;49maaa⎋[0m")
    }
}

extension AnsiEncoderTests {
    func testADocumentIsRowsWithoutCursorMoves() {
        var grid = CellGrid(width: 2, height: 2, filling: Cell("a"))
        grid[1, 1] = Cell("b", foreground: .indexed(9))
        let text = String(decoding: AnsiEncoder.document(grid, depth: .palette256), as: UTF8.self)
            .replacingOccurrences(of: "\u{1B}", with: "⎋")
        XCTAssertEqual(text, "⎋[0;39;49maa⎋[0m\n⎋[0;39;49ma⎋[38;5;9mb⎋[0m\n")
    }
}
