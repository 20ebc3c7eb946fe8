// The ncurses adapter on a real ncurses screen written to a file: only changed cells are sent,
// colour pairs are shared between equal colour combinations, and the bytes are real output.

import XCTest
import Dispatch
import Foundation
@testable import Terminal

final class CursesScreenTests: XCTestCase {
    func testSendsOnlyChangedCellsAndSharesColourPairs() throws {
        let queue = DispatchQueue(label: "test.screen")
        let screen = CursesScreen(queue: queue)
        let output = NSTemporaryDirectory() + "fertui-curses-\(UUID().uuidString).out"
        defer { try? FileManager.default.removeItem(atPath: output) }
        try queue.sync {
            try screen.open(output: output, type: "xterm-256color")
            defer { screen.close() }
            let size = screen.size()
            XCTAssertEqual(size.width, 80, "newterm on a file takes the terminal's default size")
            XCTAssertEqual(size.height, 24)
            XCTAssertEqual(screen.colorCount, 256)

            var grid = CellGrid(width: size.width, height: size.height)
            for x in 0..<10 { grid[x, 0] = Cell("▀", foreground: .indexed(232), background: .indexed(255)) }
            grid.put("hello", x: 0, y: 5, foreground: .indexed(46))
            screen.draw(grid)
            XCTAssertEqual(screen.cellsWrittenLastDraw, size.width * size.height, "the first draw sends every cell")
            XCTAssertEqual(screen.pairsInUse, 2, "ten equal half-blocks share one pair; the text has another")

            screen.draw(grid)
            XCTAssertEqual(screen.cellsWrittenLastDraw, 0, "an unchanged grid sends nothing")

            grid[3, 0] = Cell("▀", foreground: .indexed(240), background: .indexed(255))
            grid.put("y", x: 4, y: 5, foreground: .indexed(46))
            screen.draw(grid)
            XCTAssertEqual(screen.cellsWrittenLastDraw, 2)
            XCTAssertEqual(screen.pairsInUse, 3)

            screen.invalidate()
            screen.draw(grid)
            XCTAssertEqual(screen.cellsWrittenLastDraw, size.width * size.height, "after invalidate everything is sent again")
        }
        let bytes = try String(contentsOfFile: output, encoding: .utf8)
        XCTAssertTrue(bytes.contains("hell"), "the text reached the terminal")
        XCTAssertTrue(bytes.contains("▀"), "wide characters reached the terminal")
        XCTAssertTrue(bytes.contains("\u{1B}[38;5;232m") || bytes.contains("38;5;232"), "256-colour foreground was set")
    }
}
