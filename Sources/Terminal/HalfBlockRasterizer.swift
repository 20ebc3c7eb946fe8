// Video as text: each cell shows two stacked pixels, '▀' with the upper pixel as foreground and
// the lower as background, fitted to an area with the frame's aspect ratio kept.

import Vision

/// How the video's pixels become cell colours.
public enum ColorMode: String, Sendable {
    /// xterm's 24-step gray ramp plus black and white: works on every 256-colour terminal.
    case grayscale256
    /// The xterm 256-colour palette (6x6x6 cube and gray ramp), nearest entry per pixel.
    case color256
    /// 24-bit colour.
    case truecolor

    /// The mode `choice` asks for on a terminal that takes `depth`; `auto` gives the richest the
    /// terminal shows, and gray when NO_COLOR is set (an explicit choice overrides NO_COLOR).
    public static func resolve(_ choice: ColorChoice, depth: ColorDepth, environment: [String: String]) -> ColorMode {
        switch choice {
        case .gray: return .grayscale256
        case .color256: return .color256
        case .truecolor: return .truecolor
        case .auto:
            if let noColor = environment["NO_COLOR"], !noColor.isEmpty { return .grayscale256 }
            switch depth {
            case .direct: return .truecolor
            case .palette256: return .color256
            case .basic, .none: return .grayscale256
            }
        }
    }
}

/// What `--color` asks for.
public enum ColorChoice: String, Sendable, CaseIterable {
    case auto
    case gray
    case color256 = "256"
    case truecolor
}

/// Where a frame landed in the grid, and how frame pixels map to cells (for overlays).
public struct VideoPlacement: Equatable, Sendable {
    /// The cells the video occupies.
    public var cells: CellRect
    public var frameWidth: Int
    public var frameHeight: Int
    /// The picture is shown mirrored (selfie view): frame column x appears where column
    /// frameWidth - 1 - x would.
    public var mirrored = false

    /// Pixel rows drawn (two per cell row).
    public var pixelHeight: Int { cells.height * 2 }

    /// The first and last columns showing frame columns `x0...x1`, mirrored or not.
    public func columns(forFrameX x0: Int, through x1: Int) -> (left: Int, right: Int) {
        guard mirrored else { return (column(forFrameX: x0), lastColumn(forFrameX: x1)) }
        return (column(forFrameX: frameWidth - 1 - x1), lastColumn(forFrameX: frameWidth - 1 - x0))
    }

    /// The column showing frame column `x` (unmirrored).
    public func column(forFrameX x: Int) -> Int {
        let clamped = min(max(x, 0), frameWidth - 1)
        return cells.x + clamped * cells.width / frameWidth
    }

    /// The last column showing any of frame column `x` (for right edges).
    public func lastColumn(forFrameX x: Int) -> Int {
        let clamped = min(max(x, 0), frameWidth - 1)
        return cells.x + ((clamped + 1) * cells.width + frameWidth - 1) / frameWidth - 1
    }

    /// The last cell row showing any of frame row `y` (for bottom edges).
    public func lastRow(forFrameY y: Int) -> Int {
        let clamped = min(max(y, 0), frameHeight - 1)
        return cells.y + (((clamped + 1) * pixelHeight + frameHeight - 1) / frameHeight - 1) / 2
    }

    /// The cell row showing frame row `y`.
    public func row(forFrameY y: Int) -> Int {
        let clamped = min(max(y, 0), frameHeight - 1)
        return cells.y + (clamped * pixelHeight / frameHeight) / 2
    }
}

/// Draws frames as half-block art.
public struct HalfBlockRasterizer: Sendable {
    public var colorMode: ColorMode
    /// Ordered (4x4 Bayer) dithering in the 256-colour mode: smoother gradients, grainier edges.
    public var dither: Bool
    /// Draw the picture mirrored left to right (selfie view, `--mirror`); boxes follow.
    public var mirrored = false

    public init(colorMode: ColorMode = .grayscale256, dither: Bool = false) {
        self.colorMode = colorMode
        self.dither = dither
    }

    /// The 4x4 Bayer matrix, centred on zero and scaled to about half a cube step (±19).
    static let bayer: [Int] = [0, 8, 2, 10, 12, 4, 14, 6, 3, 11, 1, 9, 15, 7, 13, 5].map { ($0 * 40 - 300) / 16 }

    /// The upper-half block: foreground paints the top pixel, background the bottom one.
    public static let upperHalf: Unicode.Scalar = "\u{2580}"

    /// The largest aspect-correct placement of a frame inside `area`, centred. A cell is taken
    /// to be twice as tall as wide, so each half-cell pixel is square.
    public func placement(frameWidth: Int, frameHeight: Int, in area: CellRect) -> VideoPlacement? {
        guard frameWidth > 0, frameHeight > 0, area.width > 0, area.height > 0 else { return nil }
        let canvasW = area.width
        let canvasH = area.height * 2
        // Scale = min(canvasW / frameW, canvasH / frameH), in integers to stay exact.
        var pixelW: Int
        var pixelH: Int
        if canvasW * frameHeight <= canvasH * frameWidth {
            pixelW = canvasW
            pixelH = (canvasW * frameHeight + frameWidth / 2) / frameWidth
        } else {
            pixelH = canvasH
            pixelW = (canvasH * frameWidth + frameHeight / 2) / frameHeight
        }
        pixelW = min(max(pixelW, 1), canvasW)
        let rows = min(max((pixelH + 1) / 2, 1), area.height)
        let x = area.x + (area.width - pixelW) / 2
        let y = area.y + (area.height - rows) / 2
        return VideoPlacement(
            cells: CellRect(x: x, y: y, width: pixelW, height: rows),
            frameWidth: frameWidth, frameHeight: frameHeight, mirrored: mirrored)
    }

    /// Draws `frame` into `area` of `grid` (area-averaged down- or nearest up-sampling) and
    /// returns where it went; nil when the frame or the area is empty.
    @discardableResult
    public func draw(_ frame: Frame, into grid: inout CellGrid, area: CellRect) -> VideoPlacement? {
        guard let place = placement(frameWidth: frame.width, frameHeight: frame.height, in: area) else { return nil }
        let outW = place.cells.width
        let outH = place.pixelHeight
        // Source span [start, end) of every output column and pixel row, computed once per frame.
        var xs = Self.spans(source: frame.width, output: outW)
        if mirrored { xs.reverse() }
        let ys = Self.spans(source: frame.height, output: outH)
        let channels = frame.channels
        let stride = frame.width * channels
        let mode = colorMode
        let dither = self.dither
        let palette = Palette256Mapper.shared
        frame.pixels.withUnsafeBufferPointer { px in
            // Mean of one channel (or of BGR) over a source rectangle.
            func average(_ x: (Int, Int), _ y: (Int, Int)) -> (Int, Int, Int) {
                var b = 0
                var g = 0
                var r = 0
                for sy in y.0..<y.1 {
                    var i = sy * stride + x.0 * channels
                    for _ in x.0..<x.1 {
                        if channels == 1 {
                            b += Int(px[i])
                        } else {
                            b += Int(px[i])
                            g += Int(px[i + 1])
                            r += Int(px[i + 2])
                        }
                        i += channels
                    }
                }
                let n = (x.1 - x.0) * (y.1 - y.0)
                if channels == 1 {
                    let v = (b + n / 2) / n
                    return (v, v, v)
                }
                return ((b + n / 2) / n, (g + n / 2) / n, (r + n / 2) / n)
            }
            // The colour of output pixel (x, y) of the half-block canvas.
            func color(_ bgr: (Int, Int, Int), _ x: Int, _ y: Int) -> CellColor {
                switch mode {
                case .truecolor:
                    return .rgb(UInt8(bgr.2), UInt8(bgr.1), UInt8(bgr.0))
                case .color256 where channels == 3:
                    let d = dither ? Self.bayer[(y & 3) * 4 + (x & 3)] : 0
                    func clamp(_ v: Int) -> UInt8 { UInt8(min(255, max(0, v + d))) }
                    return .indexed(palette.map(clamp(bgr.2), clamp(bgr.1), clamp(bgr.0)))
                case .color256, .grayscale256:
                    let luma = channels == 1 ? bgr.0 : (bgr.2 * 4899 + bgr.1 * 9617 + bgr.0 * 1868 + 8192) >> 14
                    return .indexed(Self.grayIndex[luma])
                }
            }
            for row in 0..<place.cells.height {
                let upper = ys[row * 2]
                let lower = ys[row * 2 + 1]
                for col in 0..<outW {
                    let top = color(average(xs[col], upper), col, row * 2)
                    let bottom = color(average(xs[col], lower), col, row * 2 + 1)
                    grid[place.cells.x + col, place.cells.y + row] =
                        Cell(Self.upperHalf, foreground: top, background: bottom)
                }
            }
        }
        return place
    }

    /// For each of `output` pixels, the half-open range of `source` pixels it covers (at least one).
    static func spans(source: Int, output: Int) -> [(Int, Int)] {
        (0..<output).map { o in
            let start = min(o * source / output, source - 1)
            let end = max(start + 1, min((o + 1) * source / output, source))
            return (start, end)
        }
    }

    /// The xterm palette entry nearest each gray level: 16 (black), 232...255 (8, 18, ..., 238), 231 (white).
    public static let grayIndex: [UInt8] = (0...255).map { v in
        var best = 16
        var bestError = v
        if 255 - v < bestError {
            best = 231
            bestError = 255 - v
        }
        for i in 0..<24 where abs(8 + 10 * i - v) < bestError {
            best = 232 + i
            bestError = abs(8 + 10 * i - v)
        }
        return UInt8(best)
    }
}
