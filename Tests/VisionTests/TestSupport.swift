// Shared by the Vision tests: the FER-2013 location, scratch folders, synthetic frames.

import Foundation
import XCTest

@testable import Vision

/// FER-2013's root from $FER2013_DIR (set by the Makefile); skips the test when absent.
func fer2013Directory(file: StaticString = #filePath, line: UInt = #line) throws -> String {
    guard let dir = ProcessInfo.processInfo.environment["FER2013_DIR"], !dir.isEmpty else {
        throw XCTSkip("FER2013_DIR is not set: run through 'make test' or export FER2013_DIR=/path/to/fer2013")
    }
    guard FileManager.default.fileExists(atPath: (dir as NSString).appendingPathComponent("val")) else {
        throw XCTSkip("FER2013_DIR=\(dir) has no val/ folder: point it at the dataset root")
    }
    return dir
}

/// A fresh temporary folder, removed when the test ends.
func scratchFolder(_ test: XCTestCase) throws -> String {
    let dir = (NSTemporaryDirectory() as NSString).appendingPathComponent("fertui-vision-\(UUID().uuidString)")
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    test.addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
    return dir
}

/// The repository root (for Assets/), found from this file's path.
let repositoryRoot: String = {
    var url = URL(fileURLWithPath: #filePath)
    for _ in 0..<3 { url.deleteLastPathComponent() }
    return url.path
}()

/// A smooth, textured BGR background that differs per seed (drawn at a quarter of the size and
/// enlarged, which keeps debug-build tests quick).
func syntheticBackground(width: Int, height: Int, seed: UInt64) -> [UInt8] {
    let small = syntheticTexture(width: max(1, width / 4), height: max(1, height / 4), seed: seed)
    return try! OpenCV.resize(
        small, width: max(1, width / 4), height: max(1, height / 4), channels: 3,
        toWidth: width, toHeight: height, interpolation: .linear)
}

func syntheticTexture(width: Int, height: Int, seed: UInt64) -> [UInt8] {
    var rng = SplitMix64(seed: seed)
    let base = (
        Double.random(in: 40...200, using: &rng), Double.random(in: 40...200, using: &rng),
        Double.random(in: 40...200, using: &rng)
    )
    let fx = Double.random(in: 0.04...0.2, using: &rng)
    let fy = Double.random(in: 0.04...0.2, using: &rng)
    var p = [UInt8](repeating: 0, count: width * height * 3)
    let sx = (0..<width).map { sin(Double($0) * fx) }
    for y in 0..<height {
        let cy = cos(Double(y) * fy)
        for x in 0..<width {
            let wave = 30 * sx[x] * cy
            let noise = Double(rng.next() & 15) - 8
            let i = (y * width + x) * 3
            p[i] = UInt8(clamping: Int(base.0 + wave + noise))
            p[i + 1] = UInt8(clamping: Int(base.1 + wave + noise))
            p[i + 2] = UInt8(clamping: Int(base.2 - wave + noise))
        }
    }
    return p
}

/// Pastes a gray image, resized to `box`, into a BGR frame buffer.
func paste(gray: [UInt8], width: Int, height: Int, into frame: inout [UInt8], frameWidth: Int, box: FaceBox) throws {
    let scaled = try OpenCV.resize(
        gray, width: width, height: height, channels: 1, toWidth: box.width,
        toHeight: box.height, interpolation: .linear)
    for y in 0..<box.height {
        for x in 0..<box.width {
            let v = scaled[y * box.width + x]
            let i = ((box.y + y) * frameWidth + box.x + x) * 3
            frame[i] = v
            frame[i + 1] = v
            frame[i + 2] = v
        }
    }
}
