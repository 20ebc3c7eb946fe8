// A synthetic face needing no camera and no dataset: the class-average FER-2013 faces made by
// Training/make_demo_faces.py (Assets/demo/<class>.png), morphing from one expression to the next
// while drifting and scaling over a background. Each frame's `truth` is the expression shown.

import Foundation

/// The built-in demo: a face that changes expression, moves and zooms, deterministic per frame.
public final class DemoSource: FrameSource {
    public let name = "demo"
    public let nominalFPS: Double?
    public let width: Int
    public let height: Int
    /// Expressions in the order they are shown (the asset names).
    public let classes: [String]
    /// Seconds each expression is held, then seconds spent morphing into the next.
    public let hold: Double
    public let morph: Double
    private let faces: [[Float]]  // (classes, 48*48) gray 0...255
    private let faceSide: Int
    private let background: [UInt8]  // (height, width, 3) BGR
    private let realtime: Bool
    private let frameLimit: Int?
    private var index = 0
    private var start = 0.0
    /// The smallest frame the demo draws: the face must fit with room to drift.
    public static let minimumSize = (width: 160, height: 120)

    /// Faces drawn; with several, face k moves in the k-th of as many columns of the frame, its
    /// expressions a few seconds out of step with the others'.
    public let faceCount: Int

    /// `assets`: the folder holding <class>.png (Assets/demo). `frames`: stop after this many
    /// (nil: endless). `realtime`: deliver at `fps`; false: as fast as asked (tests). `faces`:
    /// how many faces to show (1...8; the benchmark's crowd).
    public init(
        assets: String, classes: [String] = ["angry", "disgust", "fear", "happy", "neutral", "sad", "surprise"],
        width: Int = 640, height: Int = 480, fps: Double = 15, realtime: Bool = true,
        hold: Double = 2.5, morph: Double = 1.0, frames: Int? = nil, faces faceCount: Int = 1
    ) throws {
        guard (1...8).contains(faceCount) else {
            throw SourceError("the demo shows 1 to 8 faces, not \(faceCount)")
        }
        var faces: [[Float]] = []
        var side = 0
        for c in classes {
            let path = (assets as NSString).appendingPathComponent("\(c).png")
            let image: (pixels: [UInt8], width: Int, height: Int)
            do {
                image = try OpenCV.readImage(path, channels: 1)
            } catch {
                throw SourceError(
                    "demo face \(path) is missing or unreadable (\(error)); run "
                        + "'python3 Training/make_demo_faces.py' or pass the folder that holds Assets/demo")
            }
            guard image.width == image.height, side == 0 || image.width == side else {
                throw SourceError(
                    "demo face \(path) is \(image.width)x\(image.height); all must be square and the same size")
            }
            side = image.width
            faces.append(image.pixels.map(Float.init))
        }
        guard width >= DemoSource.minimumSize.width && height >= DemoSource.minimumSize.height else {
            throw SourceError(
                "the demo needs frames of at least \(DemoSource.minimumSize.width)x"
                    + "\(DemoSource.minimumSize.height), not \(width)x\(height): pass a larger --size")
        }
        self.faces = faces
        self.faceSide = side
        self.classes = classes
        self.width = width
        self.height = height
        self.nominalFPS = fps
        self.realtime = realtime
        self.hold = hold
        self.morph = morph
        self.frameLimit = frames
        self.faceCount = faceCount
        self.background = DemoSource.makeBackground(width: width, height: height)
    }

    /// Where the demo is at time `t` seconds: the two expressions being blended, the weight of
    /// the second, the face's centre and side in pixels.
    public func state(at t: Double, face k: Int = 0) -> (
        from: Int, to: Int, mix: Double, cx: Double, cy: Double, side: Double
    ) {
        // Face k lives in the k-th column of the frame and runs 1.7 s per face ahead in time.
        let column = Double(width) / Double(faceCount)
        let left = column * Double(k)
        let t = t + 1.7 * Double(k)
        let period = hold + morph
        let step = Int(t / period)
        let phase = t - Double(step) * period
        let from = step % classes.count
        let to = (step + 1) % classes.count
        let x = max(0, phase - hold) / morph
        let mix = x * x * (3 - 2 * x)  // smoothstep: eases in and out of each expression
        let w = column
        let h = Double(height)
        let side = min(w, h) * (0.42 + 0.08 * sin(t * 0.9))
        let cx = left + w / 2 + max(0, w / 2 - side * 0.6) * 0.8 * sin(t * 0.37)
        let cy = h / 2 + (h / 2 - side * 0.6) * 0.7 * sin(t * 0.53 + 1)
        return (from, to, mix, cx, cy, side)
    }

    /// The expression shown at time `t` (the one weighing at least half).
    public func truth(at t: Double) -> String {
        let s = state(at: t)
        return classes[s.mix < 0.5 ? s.from : s.to]
    }

    /// The square face `k` occupies at time `t`.
    public func faceBox(at t: Double, face k: Int = 0) -> FaceBox {
        let s = state(at: t, face: k)
        let side = Int(s.side.rounded())
        return FaceBox(
            x: Int((s.cx - s.side / 2).rounded()), y: Int((s.cy - s.side / 2).rounded()), width: side, height: side)
    }

    public func nextFrame() throws -> Frame? {
        if let limit = frameLimit, index >= limit { return nil }
        let fps = nominalFPS ?? 15
        if index == 0 { start = monotonicSeconds() }
        if realtime { sleep(until: start + Double(index) / fps) }
        let t = Double(index) / fps
        let frame = Frame(
            width: width, height: height, channels: 3, pixels: render(at: t),
            timestamp: monotonicSeconds(), index: index, truth: truth(at: t), origin: name)
        index += 1
        return frame
    }

    /// Draws the blended faces over the background at time `t`.
    public func render(at t: Double) -> [UInt8] {
        var pixels = background
        for k in 0..<faceCount { draw(face: k, at: t, into: &pixels) }
        return pixels
    }

    private func draw(face k: Int, at t: Double, into pixels: inout [UInt8]) {
        let s = state(at: t, face: k)
        let a = faces[s.from]
        let b = faces[s.to]
        let mix = Float(s.mix)
        let box = faceBox(at: t, face: k)
        let n = faceSide
        let scale = Float(n) / Float(box.width)
        // Skin-ish tint so the face reads as a face in colour; gray stays close to the average.
        let tint: (Float, Float, Float) = (0.86, 0.94, 1.0)
        for y in max(0, box.y)..<min(height, box.y + box.height) {
            let v = (Float(y - box.y) + 0.5) / Float(box.height)  // 0...1 down the face
            let fy = min(max((Float(y - box.y) + 0.5) * scale - 0.5, 0), Float(n - 1))
            let y0 = Int(fy)
            let y1 = min(y0 + 1, n - 1)
            let wy = fy - Float(y0)
            for x in max(0, box.x)..<min(width, box.x + box.width) {
                let u = (Float(x - box.x) + 0.5) / Float(box.width)
                let fx = min(max((Float(x - box.x) + 0.5) * scale - 0.5, 0), Float(n - 1))
                let x0 = Int(fx)
                let x1 = min(x0 + 1, n - 1)
                let wx = fx - Float(x0)
                func sample(_ f: [Float]) -> Float {
                    let top = f[y0 * n + x0] * (1 - wx) + f[y0 * n + x1] * wx
                    let bottom = f[y1 * n + x0] * (1 - wx) + f[y1 * n + x1] * wx
                    return top * (1 - wy) + bottom * wy
                }
                let value = sample(a) * (1 - mix) + sample(b) * mix
                // Feather the square's outer 10% into the background.
                let edge = min(min(u, 1 - u), min(v, 1 - v))
                let alpha = min(1, edge / 0.1)
                let i = (y * width + x) * 3
                pixels[i] = UInt8(Float(pixels[i]) * (1 - alpha) + value * tint.0 * alpha)
                pixels[i + 1] = UInt8(Float(pixels[i + 1]) * (1 - alpha) + value * tint.1 * alpha)
                pixels[i + 2] = UInt8(Float(pixels[i + 2]) * (1 - alpha) + value * tint.2 * alpha)
            }
        }
    }

    /// A calm backdrop: a vertical blue-gray gradient with a few soft light patches.
    static func makeBackground(width: Int, height: Int) -> [UInt8] {
        var p = [UInt8](repeating: 0, count: width * height * 3)
        let patches: [(Double, Double, Double)] = [(0.2, 0.3, 0.18), (0.75, 0.2, 0.22), (0.6, 0.8, 0.25)]
        for y in 0..<height {
            let g = Double(y) / Double(height)
            for x in 0..<width {
                var light = 0.0
                for (px, py, r) in patches {
                    let dx = Double(x) / Double(width) - px
                    let dy = Double(y) / Double(height) - py
                    light += 40 * exp(-(dx * dx + dy * dy) / (r * r))
                }
                let i = (y * width + x) * 3
                p[i] = UInt8(min(255, 90 + 40 * g + light))
                p[i + 1] = UInt8(min(255, 70 + 30 * g + light))
                p[i + 2] = UInt8(min(255, 60 + 20 * g + light))
            }
        }
        return p
    }
}
