import XCTest

final class PlaceholderPipelineTests: XCTestCase {
    func testBuilds() {}
}
