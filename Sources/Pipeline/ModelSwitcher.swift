// Switching the expression model while the feed runs: the new model loads on its own queue,
// takes over between two forwards, and the old one's memory goes back to the system.

import CMalloc
import Dispatch
import Vision

/// Holds the model in use and loads others by name on `fertui.model-loader`.
final class ModelSwitcher: @unchecked Sendable {
    private let load: (String) throws -> ExpressionModel
    private let queue = DispatchQueue(label: "fertui.model-loader", qos: .userInitiated)
    /// The model in use and its name, swapped together.
    private let current: Locked<(model: ExpressionModel, name: String)>

    /// `load` builds a model from its name; it runs on the loader queue.
    init(model: ExpressionModel, name: String, load: @escaping (String) throws -> ExpressionModel) {
        _ = ModelSwitcher.largeBlocksReturned
        self.load = load
        current = Locked((model, name))
    }

    /// The model in use and its name; a stage takes both at once and keeps them for one frame.
    var model: (model: ExpressionModel, name: String) { current.withLock { $0 } }

    /// Loads `name` in the background and makes it the model in use; `done` runs on the loader
    /// queue with the milliseconds the load took, or the error (the old model then stays).
    func switchTo(_ name: String, done: @escaping (Result<Int, Error>) -> Void) {
        queue.async {
            let t0 = monotonicSeconds()
            let loaded: ExpressionModel
            do {
                loaded = try self.load(name)
            } catch {
                done(.failure(error))
                return
            }
            // The pipeline held the only lasting reference to the old model: it is freed here, or
            // once a batch in flight is done with it.
            self.current.withLock { $0 = (loaded, name) }
            done(.success(Int((monotonicSeconds() - t0) * 1000)))
            // glibc keeps large freed blocks in its heap: hand the old weights' pages back.
            self.queue.asyncAfter(deadline: .now() + 0.5) { _ = cmalloc_trim() }
        }
    }

    /// Set once per process: blocks of 256 KiB and up (every weight tensor of note) are mapped
    /// on their own and unmapped when freed, so a replaced model's memory leaves the process.
    static let largeBlocksReturned = cmalloc_return_large_blocks(256 << 10, 4) == 1

    /// Blocks until a switch in progress has finished.
    func waitUntilDone() {
        queue.sync {}
    }
}
