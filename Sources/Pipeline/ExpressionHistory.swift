// Each tracked face's expression over the session: totals for the summary printed on quit (time
// tracked, time per dominant expression, mean probabilities), and the last seconds of readings
// for the timeline (`t` in the monitor). A value type fed one classified frame at a time.

/// One reading of one face at one moment (seconds on the pipeline's clock).
public struct TimelineSample: Sendable, Equatable {
    public var time: Double
    public var probabilities: [Float]

    public init(time: Double, probabilities: [Float]) {
        self.time = time
        self.probabilities = probabilities
    }
}

/// What is known of one face id.
public struct FaceHistory: Sendable, Equatable {
    public var id: Int
    public var firstSeen: Double
    public var lastSeen: Double
    /// Seconds between consecutive readings, counting no gap longer than `ExpressionHistory.maxStep`.
    public var secondsTracked = 0.0
    public var frames = 0
    /// Per class: seconds during which it was the face's top class.
    public var dominantSeconds: [Double]
    /// Per class: the sum of its probability over `frames` readings.
    public var probabilitySums: [Double]
    /// The readings of the last `ExpressionHistory.timelineSeconds`, oldest first.
    public var recent: [TimelineSample] = []

    /// Mean probability per class over the session.
    public var meanProbabilities: [Double] {
        probabilitySums.map { frames > 0 ? $0 / Double(frames) : 0 }
    }
}

/// Every face seen so far, by id.
public struct ExpressionHistory: Sendable, Equatable {
    /// How far back the timeline reaches.
    public var timelineSeconds: Double
    /// A gap between two readings longer than this is not counted as time tracked (the face was
    /// away, or the source paused); the interval is credited to the newer reading's top class.
    public static let maxStep = 1.0
    public private(set) var faces: [Int: FaceHistory] = [:]
    public private(set) var classCount = 0

    public init(timelineSeconds: Double = 30) {
        self.timelineSeconds = timelineSeconds
    }

    /// Adds one classified frame taken at `time`.
    public mutating func record(time: Double, faces readings: [FaceReading]) {
        for reading in readings {
            let k = reading.probabilities.count
            classCount = max(classCount, k)
            var face =
                faces[reading.id]
                ?? FaceHistory(
                    id: reading.id, firstSeen: time, lastSeen: time,
                    dominantSeconds: [Double](repeating: 0, count: k), probabilitySums: [Double](repeating: 0, count: k)
                )
            guard face.probabilitySums.count == k else { continue }  // a model with other classes: not mixed in
            let step = min(max(0, time - face.lastSeen), Self.maxStep)
            var top = 0
            for (i, p) in reading.probabilities.enumerated() where p > reading.probabilities[top] { top = i }
            face.secondsTracked += step
            if k > 0 { face.dominantSeconds[top] += step }
            for (i, p) in reading.probabilities.enumerated() { face.probabilitySums[i] += Double(p) }
            face.frames += 1
            face.lastSeen = time
            face.recent.append(TimelineSample(time: time, probabilities: reading.probabilities))
            let cutoff = time - timelineSeconds
            if let keep = face.recent.firstIndex(where: { $0.time >= cutoff }), keep > 0 {
                face.recent.removeFirst(keep)
            }
            faces[reading.id] = face
        }
    }
}
