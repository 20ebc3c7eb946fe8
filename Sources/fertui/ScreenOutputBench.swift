// Part of `fertui bench --pipeline`: what the screen costs in each colour mode on a moving
// picture: composing a frame into the grid, encoding the changed cells, and the bytes that must
// cross the wire (an SSH link) each second at the source's rate.

import Foundation
import Pipeline
import Terminal
import Vision

enum ScreenOutputBench {
    struct Row {
        var mode: String
        var composeMedianMs: Double
        var encodeMedianMs: Double
        var bytesPerSecond: Double
        var cellsPerFrame: Double
    }

    /// Plays `frames` consecutive frames through each mode on a `width`x`height` grid; the figures
    /// are medians per frame, and the byte rate is at `fps` frames a second.
    static func measure(frames: [Frame], snapshot: MonitorSnapshot, width: Int, height: Int, fps: Double) -> [Row] {
        let modes: [(String, ColorMode, Bool, ColorDepth)] = [
            ("gray", .grayscale256, false, .palette256),
            ("256", .color256, false, .palette256),
            ("256 dithered", .color256, true, .palette256),
            ("truecolor", .truecolor, false, .direct),
        ]
        return modes.map { name, mode, dither, depth in
            var composer = ScreenComposer()
            composer.rasterizer = HalfBlockRasterizer(colorMode: mode, dither: dither)
            var grid = CellGrid(width: width, height: height)
            var previous: CellGrid?
            var compose: [Double] = []
            var encode: [Double] = []
            // The first frame sends the whole screen; the figures are for the frames after it.
            var bytes = 0
            var cells = 0
            var out: [UInt8] = []
            for (i, frame) in frames.enumerated() {
                var snap = snapshot
                snap.frame = frame
                let t0 = monotonicSeconds()
                composer.compose(snap, into: &grid)
                let t1 = monotonicSeconds()
                out.removeAll(keepingCapacity: true)
                let sent = AnsiEncoder.encode(grid, previous: previous, depth: depth, into: &out)
                let t2 = monotonicSeconds()
                compose.append((t1 - t0) * 1000)
                encode.append((t2 - t1) * 1000)
                if i > 0 {
                    bytes += out.count
                    cells += sent
                }
                previous = grid
            }
            let n = Double(max(1, frames.count - 1))
            return Row(
                mode: name, composeMedianMs: median(compose), encodeMedianMs: median(encode),
                bytesPerSecond: Double(bytes) / n * fps, cellsPerFrame: Double(cells) / n)
        }
    }

    static func median(_ values: [Double]) -> Double {
        guard !values.isEmpty else { return 0 }
        return values.sorted()[values.count / 2]
    }
}
