// The values that flow from a frame source to the screen: frames and face boxes.

/// One picture from a source: 8-bit gray (1 channel) or BGR (3 channels, interleaved), row-major.
public struct Frame: Sendable {
    public var width: Int
    public var height: Int
    /// 1 (gray) or 3 (BGR, OpenCV's order).
    public var channels: Int
    /// width * height * channels bytes, rows top to bottom, no padding.
    public var pixels: [UInt8]
    /// Seconds on a monotonic clock when the frame was captured or decoded.
    public var timestamp: Double
    /// 0-based position in the source's sequence.
    public var index: Int
    /// True class name in a labelled replay (a folder of class folders); nil otherwise.
    public var truth: String?
    /// Where the frame came from (file path, device), for dumps and logs.
    public var origin: String

    public init(
        width: Int, height: Int, channels: Int, pixels: [UInt8], timestamp: Double = 0,
        index: Int = 0, truth: String? = nil, origin: String = ""
    ) {
        precondition(channels == 1 || channels == 3, "a frame has 1 or 3 channels, not \(channels)")
        precondition(
            pixels.count == width * height * channels,
            "frame buffer holds \(pixels.count) bytes, expected \(width)x\(height)x\(channels)")
        self.width = width
        self.height = height
        self.channels = channels
        self.pixels = pixels
        self.timestamp = timestamp
        self.index = index
        self.truth = truth
        self.origin = origin
    }

    /// Luma of the pixel at (x, y), 0...255 (BT.601 weights for BGR, as OpenCV's BGR2GRAY).
    @inlinable public func gray(x: Int, y: Int) -> UInt8 {
        let i = (y * width + x) * channels
        if channels == 1 { return pixels[i] }
        return Frame.luma(b: pixels[i], g: pixels[i + 1], r: pixels[i + 2])
    }

    /// OpenCV 4's BGR2GRAY for 8-bit pixels: BT.601 weights in 15-bit fixed point, rounded
    /// (0.299, 0.587, 0.114 as 9798, 19235, 3735 of 32768); the tests check it against cvtColor.
    @inlinable public static func luma(b: UInt8, g: UInt8, r: UInt8) -> UInt8 {
        let sum: Int = Int(r) * 9798 + Int(g) * 19235 + Int(b) * 3735
        return UInt8((sum + 16384) >> 15)
    }
}

/// A face rectangle in frame pixels.
public struct FaceBox: Equatable, Hashable, Sendable, Codable {
    public var x: Int
    public var y: Int
    public var width: Int
    public var height: Int

    public init(x: Int, y: Int, width: Int, height: Int) {
        self.x = x
        self.y = y
        self.width = width
        self.height = height
    }

    public var area: Int { width * height }

    /// Intersection over union with another box, 0...1.
    public func iou(_ other: FaceBox) -> Double {
        let ix = max(0, min(x + width, other.x + other.width) - max(x, other.x))
        let iy = max(0, min(y + height, other.y + other.height) - max(y, other.y))
        let inter = ix * iy
        let union = area + other.area - inter
        return union > 0 ? Double(inter) / Double(union) : 0
    }
}
