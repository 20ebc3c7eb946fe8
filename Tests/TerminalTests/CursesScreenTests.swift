// The terminal adapter on a real ncurses screen written to a file: only changed cells are sent,
// as escape codes at the terminal's colour depth, and the bytes are real output.

import Dispatch
import Foundation
import XCTest

@testable import Terminal

final class CursesScreenTests: XCTestCase {
    func testSendsOnlyChangedCellsAsEscapeCodes() throws {
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
            if ProcessInfo.processInfo.environment["COLORTERM"] == nil { XCTAssertEqual(screen.depth, .palette256) }

            var grid = CellGrid(width: size.width, height: size.height)
            for x in 0..<10 { grid[x, 0] = Cell("▀", foreground: .indexed(232), background: .indexed(255)) }
            grid.put("hello", x: 0, y: 5, foreground: .indexed(46))
            screen.draw(grid)
            XCTAssertEqual(screen.cellsWrittenLastDraw, size.width * size.height, "the first draw sends every cell")

            screen.draw(grid)
            XCTAssertEqual(screen.cellsWrittenLastDraw, 0, "an unchanged grid sends nothing")

            grid[3, 0] = Cell("▀", foreground: .indexed(240), background: .indexed(255))
            grid.put("y", x: 4, y: 5, foreground: .indexed(46))
            screen.draw(grid)
            XCTAssertEqual(screen.cellsWrittenLastDraw, 2)
            XCTAssertLessThan(screen.bytesWrittenLastDraw, 60, "two cells: two moves, two colours, two glyphs")

            screen.invalidate()
            screen.draw(grid)
            XCTAssertEqual(
                screen.cellsWrittenLastDraw, size.width * size.height, "after invalidate everything is sent again")
        }
        let bytes = try String(contentsOfFile: output, encoding: .utf8)
        XCTAssertTrue(bytes.contains("hell"), "the text reached the terminal")
        XCTAssertTrue(bytes.contains("▀"), "wide characters reached the terminal")
        XCTAssertTrue(
            bytes.contains("38;5;232;48;5;255m▀▀▀▀▀▀▀▀▀▀"),
            "ten half-blocks under one colour change")
        XCTAssertTrue(
            bytes.contains("\u{1B}[1;4H\u{1B}[0;38;5;240;48;5;255m▀"),
            "the changed cell: a move, its colour, its glyph")
    }

    func testDepthFollowsCOLORTERMThenTerminfo() {
        XCTAssertEqual(CursesScreen.depth(colors: 256, environment: ["COLORTERM": "truecolor"]), .direct)
        XCTAssertEqual(CursesScreen.depth(colors: 256, environment: ["COLORTERM": "24bit"]), .direct)
        XCTAssertEqual(CursesScreen.depth(colors: 256, environment: [:]), .palette256)
        XCTAssertEqual(CursesScreen.depth(colors: 0x100_0000, environment: [:]), .direct)
        XCTAssertEqual(CursesScreen.depth(colors: 8, environment: [:]), .basic)
        XCTAssertEqual(CursesScreen.depth(colors: 0, environment: ["COLORTERM": "truecolor"]), .none)
    }
}
