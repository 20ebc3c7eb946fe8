// Zero-skipping: the block of a convolution's folded weights that is not all zeros, and the gather
// and scatter that run the GEMM on that block alone.

/// The live block of a folded weight matrix (rows, cols): the rows and the columns with a nonzero
/// weight. Training with Adam and L2 weight decay leaves whole filters and input channels at exactly
/// zero (most of the shipped ResNet18's and ResNet34's), and a product with them is exactly zero, so the
/// GEMM on the live block alone gives the same output with a fraction of the weights in memory and
/// of the arithmetic. Used where the block holds at most `maxFraction` of the matrix.
struct LiveBlock {
    /// Live rows (GEMM inner index: (ky, kx, ic)) and live columns (output channels), ascending.
    let rows: [Int], cols: [Int]
    /// `cols.count` rounded up to 8 (the panel width); the padding columns are zero.
    let paddedCols: Int

    /// Below this share of the full matrix the gather and scatter pay for themselves.
    static let maxFraction = 0.75

    /// nil where the block would not pay (more than `maxFraction` of the matrix).
    init?(weights w: [Float], rows: Int, cols: Int) {
        var rowLive = [Bool](repeating: false, count: rows)
        var colLive = [Bool](repeating: false, count: cols)
        for r in 0..<rows {
            for c in 0..<cols where w[r * cols + c] != 0 {
                rowLive[r] = true
                colLive[c] = true
            }
        }
        let liveRows = (0..<rows).filter { rowLive[$0] }
        let liveCols = (0..<cols).filter { colLive[$0] }
        guard Double(liveRows.count * liveCols.count) <= Self.maxFraction * Double(rows * cols) else { return nil }
        self.rows = liveRows
        self.cols = liveCols
        paddedCols = (liveCols.count + 7) / 8 * 8
    }

    /// The block (rows.count, paddedCols) row-major, from the full (…, cols) matrix.
    func compact(_ w: [Float], cols full: Int) -> [Float] {
        var block = [Float](repeating: 0, count: rows.count * paddedCols)
        for (i, r) in rows.enumerated() {
            for (j, c) in cols.enumerated() { block[i * paddedCols + j] = w[r * full + c] }
        }
        return block
    }

    /// dst (count, rows.count) = the live entries of each row of src (count, width). dst may be
    /// src: every entry moves to an index at or before its own, in order.
    func gatherRows(from src: UnsafePointer<Float>, count: Int, width: Int, into dst: UnsafeMutablePointer<Float>) {
        let k = rows.count
        rows.withUnsafeBufferPointer { idx in
            for r in 0..<count {
                let s = src + r * width
                let d = dst + r * k
                for j in 0..<k { d[j] = s[idx[j]] }
            }
        }
    }

    /// dst (count, cols) = the block product (count, paddedCols) in the live columns, zero elsewhere.
    func scatterColumns(
        _ src: UnsafePointer<Float>, count: Int, into dst: UnsafeMutablePointer<Float>, cols full: Int,
        options: EngineOptions
    ) {
        cols.withUnsafeBufferPointer { idx in
            options.forEachChunk(of: count, minimumPerThread: options.itemsWorthAThread(floatsEach: full)) { range in
                (dst + range.lowerBound * full).update(repeating: 0, count: range.count * full)
                for r in range {
                    let s = src + r * paddedCols
                    let d = dst + r * full
                    for j in 0..<idx.count { d[idx[j]] = s[j] }
                }
            }
        }
    }
}
