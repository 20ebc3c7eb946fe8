// The forward pass's scratch buffers, sized once per model, batch and input side.

/// The forward pass's scratch: five activation buffers, the im2col matrix and the pooled features.
/// Buffers only grow, so after the largest (batch, side) seen a forward allocates nothing.
final class Workspace {
    private(set) var activationCapacity = 0, columnCapacity = 0, pooledCapacity = 0
    /// Each (n, h, w, c) NHWC, at most `activationCapacity` floats: block input/output ping-pong (x, y),
    /// inner results (t1, t2), downsampled shortcut (d).
    private(set) var x = UnsafeMutablePointer<Float>.allocate(capacity: 1)
    private(set) var y = UnsafeMutablePointer<Float>.allocate(capacity: 1)
    private(set) var t1 = UnsafeMutablePointer<Float>.allocate(capacity: 1)
    private(set) var t2 = UnsafeMutablePointer<Float>.allocate(capacity: 1)
    private(set) var d = UnsafeMutablePointer<Float>.allocate(capacity: 1)
    /// (n*oh*ow, k*k*inC) im2col matrix of the largest convolution.
    private(set) var columns = UnsafeMutablePointer<Float>.allocate(capacity: 1)
    /// (n, features) after the average pool.
    private(set) var pooled = UnsafeMutablePointer<Float>.allocate(capacity: 1)

    func reserve(activation: Int, columns cols: Int, pooled p: Int) {
        if activation > activationCapacity {
            for buffer in [x, y, t1, t2, d] { buffer.deallocate() }
            x = .allocate(capacity: activation)
            y = .allocate(capacity: activation)
            t1 = .allocate(capacity: activation)
            t2 = .allocate(capacity: activation)
            d = .allocate(capacity: activation)
            activationCapacity = activation
        }
        if cols > columnCapacity {
            columns.deallocate()
            columns = .allocate(capacity: cols)
            columnCapacity = cols
        }
        if p > pooledCapacity {
            pooled.deallocate()
            pooled = .allocate(capacity: p)
            pooledCapacity = p
        }
    }

    deinit {
        for buffer in [x, y, t1, t2, d, columns, pooled] { buffer.deallocate() }
    }
}
