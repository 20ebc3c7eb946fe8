// Helpers for checking grids: expected rows as strings, the whole grid printed on failure.

import XCTest

@testable import Terminal

/// Untouched cells hold this glyph, so a stray write shows up in the rows.
let marker: Unicode.Scalar = "·"

func markedGrid(width: Int, height: Int) -> CellGrid {
    CellGrid(width: width, height: height, filling: Cell(marker))
}

func assertRows(_ grid: CellGrid, _ expected: [String], file: StaticString = #filePath, line: UInt = #line) {
    if grid.rows != expected {
        XCTFail(
            "grid rows differ\nexpected:\n\(expected.joined(separator: "\n"))\ngot:\n\(grid.debugDescription)",
            file: file, line: line)
    }
}
