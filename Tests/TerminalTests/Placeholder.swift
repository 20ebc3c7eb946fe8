import XCTest

final class PlaceholderTerminalTests: XCTestCase {
    func testBuilds() {}
}
