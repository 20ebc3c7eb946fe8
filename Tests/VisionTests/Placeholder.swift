import XCTest

final class PlaceholderVisionTests: XCTestCase {
    func testBuilds() {}
}
