// Temporal smoothing of class probabilities per tracked face: the mean of the last few
// predictions, so a label does not flicker between frames.

/// A moving average of probability vectors, one history per face id.
public struct ProbabilitySmoother: Sendable {
    /// Predictions averaged per face.
    public let window: Int
    private var history: [Int: [[Float]]] = [:]

    public init(window: Int = 5) {
        precondition(window >= 1, "a smoothing window holds at least 1 prediction, not \(window)")
        self.window = window
    }

    /// Records `probabilities` for face `id` and returns the mean of its last `window` vectors.
    public mutating func add(_ probabilities: [Float], for id: Int) -> [Float] {
        var past = history[id] ?? []
        if let last = past.last, last.count != probabilities.count { past = [] }  // the model changed classes
        past.append(probabilities)
        if past.count > window { past.removeFirst(past.count - window) }
        history[id] = past
        var mean = [Float](repeating: 0, count: probabilities.count)
        for p in past {
            for i in mean.indices { mean[i] += p[i] }
        }
        let n = Float(past.count)
        return mean.map { $0 / n }
    }

    /// Drops the history of faces no longer tracked.
    public mutating func keepOnly(_ ids: Set<Int>) {
        history = history.filter { ids.contains($0.key) }
    }

    /// Forgets everything (after a model switch, old probabilities mean something else).
    public mutating func reset() {
        history = [:]
    }

    /// Faces with a history.
    public var trackedIDs: Set<Int> { Set(history.keys) }
}
