// ResNet's pooling on NHWC activations: the stem's 3x3 stride-2 max pool and the global average
// pool before the classifier.

/// output (n, oh, ow, c) = max over each 3x3 window, stride 2, padding 1 (padding never wins,
/// as in PyTorch). Returns the output side.
@discardableResult
func maxPool3x3s2(
    _ input: UnsafePointer<Float>, n: Int, side: Int, c: Int, output: UnsafeMutablePointer<Float>,
    options: EngineOptions
) -> Int {
    let h = side
    let w = side
    let o = (side + 2 - 3) / 2 + 1
    // Output rows (image, oy) are split across the engine's threads.
    options.forEachChunk(of: n * o, minimumPerThread: options.itemsWorthAThread(floatsEach: 9 * o * c)) { lines in
        for line in lines {
            let b = line / o
            let oy = line % o
            let image = input + b * h * w * c
            let y0 = max(oy * 2 - 1, 0)
            let y1 = min(oy * 2 + 2, h)
            for ox in 0..<o {
                let x0 = max(ox * 2 - 1, 0)
                let x1 = min(ox * 2 + 2, w)
                let out = output + ((b * o + oy) * o + ox) * c
                // The window's first pixel initialises the maximum, the rest update it channel-wise.
                out.update(from: image + (y0 * w + x0) * c, count: c)
                for y in y0..<y1 {
                    for x in x0..<x1 {
                        let p = image + (y * w + x) * c
                        for ch in 0..<c { out[ch] = max(out[ch], p[ch]) }
                    }
                }
            }
        }
    }
    return o
}

/// output (n, c) = mean over the h*w pixels of input (n, h*w, c): the adaptive average pool to 1x1.
func globalAveragePool(_ input: UnsafePointer<Float>, n: Int, pixels: Int, c: Int, output: UnsafeMutablePointer<Float>)
{
    for b in 0..<n {
        let out = output + b * c
        out.update(repeating: 0, count: c)
        var p = input + b * pixels * c
        for _ in 0..<pixels {
            for ch in 0..<c { out[ch] += p[ch] }
            p += c
        }
        let inv = 1 / Float(pixels)
        for ch in 0..<c { out[ch] *= inv }
    }
}
