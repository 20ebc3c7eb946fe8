// A convolution's folded weight matrix, kept in the one layout its GEMM needs at the time.

/// A folded weight matrix (rows, cols) in one layout at a time: row-major for OpenBLAS and the
/// Winograd transform, or (cols/8, rows, 8) with each 8-column panel contiguous for
/// `smallRowGEMM`. Keeping both doubled the deep layers' weights, most of a model's memory; a
/// model at one input size uses one layout per convolution, so conversions are rare.
final class ConvWeights: @unchecked Sendable {
    let rows: Int, cols: Int
    private var storage: [Float]
    private(set) var inPanels = false

    init(rowMajor: [Float], rows: Int, cols: Int) {
        precondition(rowMajor.count == rows * cols)
        storage = rowMajor
        self.rows = rows
        self.cols = cols
    }

    /// (rows, cols) row-major, converted back from panels if needed.
    func rowMajor() -> [Float] {
        if inPanels {
            var w = [Float](repeating: 0, count: rows * cols)
            for panel in 0..<(cols / 8) {
                for r in 0..<rows {
                    for j in 0..<8 { w[r * cols + panel * 8 + j] = storage[(panel * rows + r) * 8 + j] }
                }
            }
            storage = w
            inPanels = false
        }
        return storage
    }

    /// (cols/8, rows, 8) panels (cols must be a multiple of 8), converted on first use.
    func panels() -> [Float] {
        if !inPanels {
            var p = [Float](repeating: 0, count: rows * cols)
            for panel in 0..<(cols / 8) {
                for r in 0..<rows {
                    for j in 0..<8 { p[(panel * rows + r) * 8 + j] = storage[r * cols + panel * 8 + j] }
                }
            }
            storage = p
            inPanels = true
        }
        return storage
    }
}
