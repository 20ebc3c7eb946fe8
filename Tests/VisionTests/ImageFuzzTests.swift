// Broken image files through the real decoders, in-process: a few hundred mutations of PNG, JPEG,
// BMP and PGM files from a fixed seed. Each must decode or fail with an error; a crash ends the
// test process, which is the failure this guards against.

import Foundation
import XCTest

@testable import Vision

final class ImageFuzzTests: XCTestCase {
    func testMutatedImagesDecodeOrFailCleanly() throws {
        let dir = try scratchFolder(self)
        var base: [(ext: String, bytes: [UInt8])] = []
        var pixels = [UInt8](repeating: 0, count: 40 * 30 * 3)
        for i in pixels.indices { pixels[i] = UInt8((i * 37) % 251) }
        let gray = stride(from: 0, to: pixels.count, by: 3).map { pixels[$0] }
        for ext in ["png", "jpg", "bmp", "pgm"] {
            let path = dir + "/base." + ext
            if ext == "pgm" {  // PGM holds gray only
                try OpenCV.writeImage(path, pixels: gray, width: 40, height: 30, channels: 1)
            } else {
                try OpenCV.writeImage(path, pixels: pixels, width: 40, height: 30, channels: 3)
            }
            base.append((ext, Array(try Data(contentsOf: URL(fileURLWithPath: path)))))
        }
        // The decoders complain on standard error about every broken file: into a file, not the log.
        let quiet = open(dir + "/decoder-messages.txt", O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        let saved = dup(STDERR_FILENO)
        dup2(quiet, STDERR_FILENO)
        defer {
            dup2(saved, STDERR_FILENO)
            close(saved)
            close(quiet)
        }
        var rng = SplitMix64(seed: 20_261_204)
        var decoded = 0
        var refused = 0
        for n in 0..<320 {
            let (ext, original) = base[n % base.count]
            var bytes = original
            switch Int.random(in: 0..<4, using: &rng) {
            case 0:  // a few bytes anywhere, headers included
                for _ in 0..<Int.random(in: 1...8, using: &rng) {
                    bytes[Int.random(in: 0..<bytes.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
                }
            case 1:  // cut short
                bytes = Array(bytes.prefix(Int.random(in: 0..<bytes.count, using: &rng)))
            case 2:  // the header's first 64 bytes scrambled
                for i in 0..<min(64, bytes.count) where Bool.random(using: &rng) {
                    bytes[i] = UInt8.random(in: 0...255, using: &rng)
                }
            default:  // a chunk repeated in the middle
                let start = Int.random(in: 0..<bytes.count, using: &rng)
                let end = min(bytes.count, start + Int.random(in: 1...200, using: &rng))
                bytes.insert(contentsOf: bytes[start..<end], at: Int.random(in: 0..<bytes.count, using: &rng))
            }
            let path = dir + "/case\(n)." + ext
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            do {
                let image = try OpenCV.readImage(path, channels: 3)
                XCTAssertEqual(image.pixels.count, image.width * image.height * 3, "case \(n) (\(ext))")
                decoded += 1
            } catch {
                XCTAssertFalse("\(error)".isEmpty)
                refused += 1
            }
        }
        XCTAssertEqual(decoded + refused, 320)
        XCTAssertGreaterThan(
            refused, 50, "the mutations should break many files (\(decoded) decoded, \(refused) refused)")

        // The same files as a folder replay: it plays what decodes and counts the rest.
        let source = try ImageFolderSource(folder: dir)
        var played = 0
        while try source.nextFrame() != nil { played += 1 }
        XCTAssertEqual(played + source.skipped.count, source.paths.count)
        XCTAssertEqual(played, decoded + base.count)
    }
}
