// The engine's kernel choices as one value given to `ResNet`: zero-skipping, Winograd, and how work
// is split across threads. The defaults are what fertui ships with; `fertui bench` flags set the rest.

/// How a model runs its kernels. Every choice gives the same outputs up to float rounding; they
/// trade memory, arithmetic and thread wake-ups.
public struct EngineOptions: Sendable, Equatable {
    /// Run each convolution on the block of its weights that is not all zeros (see `LiveBlock`).
    /// Fixed when the model is built.
    public var skipZeros: Bool
    /// Fewest 4x4 output tiles for which a 3x3 stride-1 convolution runs as Winograd F(4x4, 3x3)
    /// instead of im2col + GEMM; `Int.max` turns Winograd off.
    public var winogradMinTiles: Int
    /// Multiply-adds a GEMM must give each thread before it is split: waking a thread and its own
    /// packing of the weights cost tens of microseconds. 1 splits every product.
    public var splitMACs: Int
    /// Floats a pass (im2col, epilogue, Winograd transforms, pooling) must move per thread before it
    /// is split: waking a thread costs about what moving that many floats does. 1 splits every pass.
    public var splitFloats: Int
    /// Threads for the kernels and GEMM splits, the caller's included (at least 1).
    public var threads: Int

    public init(
        skipZeros: Bool = true, winogradMinTiles: Int = 16, splitMACs: Int = 1 << 22,
        splitFloats: Int = 32_768, threads: Int? = nil
    ) {
        self.skipZeros = skipZeros
        self.winogradMinTiles = max(1, winogradMinTiles)
        self.splitMACs = max(1, splitMACs)
        self.splitFloats = max(1, splitFloats)
        self.threads = max(1, threads ?? EngineOptions.defaultThreads)
    }

    /// The thread count a model gets when its options name none: OpenBLAS's own count at start-up
    /// (the cores, or OPENBLAS_NUM_THREADS).
    public static var defaultThreads: Int { openBLASStartupThreads }
}
