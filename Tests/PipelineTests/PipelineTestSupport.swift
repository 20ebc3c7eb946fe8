// Shared pieces for the pipeline tests: finite and scripted frame sources, seeded random-weight
// models, and waiting on a condition with a deadline.

import Engine
import Foundation
import Pipeline
import Vision
import XCTest

/// `count` frames of `width`x`height` gray, each a different brightness, delivered at once (or
/// `interval` seconds apart); `truths` labels them round-robin for a labelled replay.
final class SyntheticSource: FrameSource {
    let name = "synthetic"
    let nominalFPS: Double? = nil
    let count: Int
    let width: Int
    let height: Int
    let truths: [String]
    let interval: Double
    private(set) var delivered = 0

    init(count: Int, width: Int = 64, height: Int = 48, truths: [String] = [], interval: Double = 0) {
        self.count = count
        self.width = width
        self.height = height
        self.truths = truths
        self.interval = interval
    }

    func nextFrame() throws -> Frame? {
        guard delivered < count else { return nil }
        if interval > 0 { Thread.sleep(forTimeInterval: interval) }
        var pixels = [UInt8](repeating: 0, count: width * height)
        for y in 0..<height {
            for x in 0..<width { pixels[y * width + x] = UInt8((x * 3 + y * 2 + delivered * 17) % 256) }
        }
        let frame = Frame(
            width: width, height: height, channels: 1, pixels: pixels, timestamp: monotonicSeconds(),
            index: delivered, truth: truths.isEmpty ? nil : truths[delivered % truths.count], origin: name)
        delivered += 1
        return frame
    }
}

/// Finds one centred face, optionally slowly (to make the detect stage the bottleneck).
final class CentredFaceDetector: FaceDetecting {
    let delay: Double
    init(delay: Double = 0) { self.delay = delay }
    func detect(_ frame: Frame) throws -> [FaceBox] {
        if delay > 0 { Thread.sleep(forTimeInterval: delay) }
        return [FaceBox(x: frame.width / 4, y: frame.height / 4, width: frame.width / 2, height: frame.height / 2)]
    }
}

enum TestModels {
    static let classes = ModelInfo.ferClasses

    static func info(_ arch: String, side: Int = 48) -> ModelInfo {
        ModelInfo(arch: arch, inputSize: side, classes: classes, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5])
    }

    /// Built once: seeded random weights take seconds in a debug build.
    static let resnet18 = ResNetExpressionModel(ResNet(arch: "resnet18", info: info("resnet18"), seed: 7))

    static func load(_ name: String) throws -> ExpressionModel {
        switch name {
        case "resnet18": return resnet18
        // A second model object over the same network: what is tested is the switch, and a real
        // ResNet34 takes long to build in a debug build.
        case "resnet34": return ResNetExpressionModel(resnet18.network)
        default: throw PipelineError("test loader has no \(name)")
        }
    }
}

func temporaryDirectory(_ label: String) -> String {
    let path = (NSTemporaryDirectory() as NSString).appendingPathComponent("fertui-\(label)-\(UUID().uuidString)")
    try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// A source that plays a script: a frame, or an error thrown from `nextFrame()`, per call; nil after.
final class ScriptedSource: FrameSource {
    enum Step {
        case frame
        case error(String)
    }

    struct ScriptedError: Error, CustomStringConvertible {
        let description: String
    }

    let name = "scripted"
    let nominalFPS: Double? = nil
    private let steps: [Step]
    private let lock = NSLock()
    private var next = 0
    private var frames = 0

    init(_ steps: [Step]) {
        self.steps = steps
    }

    /// Calls of `nextFrame()` so far.
    var calls: Int {
        lock.lock()
        defer { lock.unlock() }
        return next
    }

    func nextFrame() throws -> Frame? {
        lock.lock()
        defer { lock.unlock() }
        guard next < steps.count else { return nil }
        let step = steps[next]
        next += 1
        switch step {
        case .error(let message):
            throw ScriptedError(description: message)
        case .frame:
            frames += 1
            let pixels = [UInt8](repeating: UInt8(frames * 40), count: 64 * 48)
            return Frame(
                width: 64, height: 48, channels: 1, pixels: pixels, timestamp: monotonicSeconds(),
                index: frames - 1, origin: name)
        }
    }
}

extension XCTestCase {
    /// Waits until `condition` holds, checking it every few milliseconds; fails the test, saying
    /// `what` was awaited, when `timeout` seconds pass first. Returns whether it held.
    @discardableResult
    func waitUntil(
        _ what: String, timeout: Double = 20, file: StaticString = #filePath, line: UInt = #line,
        _ condition: () -> Bool
    ) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while !condition() {
            guard Date() < deadline else {
                XCTFail("timed out after \(timeout) s waiting until \(what)", file: file, line: line)
                return false
            }
            Thread.sleep(forTimeInterval: 0.005)
        }
        return true
    }
}
