// What the pipeline hands the screen, the log and the dump: the newest frame, the newest
// per-face readings, and the numbers that describe how the pipeline is keeping up.

import Vision

/// One tracked face as shown: its box, its (possibly smoothed) probabilities and the top class.
public struct FaceReading: Sendable, Equatable {
    /// Stable across frames while the tracker follows the face.
    public var id: Int
    public var box: FaceBox
    public var label: String
    public var confidence: Float
    /// One probability per class, in the model's class order.
    public var probabilities: [Float]
    /// The face was not found in this frame: the tracker holds it at its expected place.
    public var held = false

    public init(id: Int, box: FaceBox, label: String, confidence: Float, probabilities: [Float]) {
        self.id = id
        self.box = box
        self.label = label
        self.confidence = confidence
        self.probabilities = probabilities
    }

    /// Below this top probability a reading is shown as uncertain (the label dimmed, the two
    /// likeliest classes named): on FER-2013 `val`, calibrated predictions under 0.50 are right
    /// 39-42% of the time, above it 77% (27% of faces fall under it; docs/RECOGNITION.md).
    /// Dumps and logs keep every probability.
    public static let uncertainBelow: Float = 0.50

    /// True when the top class is not likely enough to state as fact.
    public var isUncertain: Bool { confidence < FaceReading.uncertainBelow }

    /// The two likeliest classes with their probabilities, likeliest first.
    public func topTwo(_ classes: [String]) -> [(name: String, probability: Float)] {
        zip(classes, probabilities).sorted { $0.1 > $1.1 }.prefix(2).map { ($0.0, $0.1) }
    }

    /// A reading whose label and confidence are the arg-max of `probabilities`.
    public init(id: Int, box: FaceBox, probabilities: [Float], classes: [String]) {
        var best = 0
        for (i, p) in probabilities.enumerated() where p > probabilities[best] { best = i }
        self.init(
            id: id, box: box, label: best < classes.count ? classes[best] : "class \(best)",
            confidence: probabilities.isEmpty ? 0 : probabilities[best], probabilities: probabilities)
    }
}

/// Milliseconds spent in each stage for the most recent frames (smoothed).
public struct StageTimings: Sendable, Equatable {
    public var capture = 0.0
    public var detect = 0.0
    public var preprocess = 0.0
    public var forward = 0.0
    public var render = 0.0

    public init(
        capture: Double = 0, detect: Double = 0, preprocess: Double = 0, forward: Double = 0, render: Double = 0
    ) {
        self.capture = capture
        self.detect = detect
        self.preprocess = preprocess
        self.forward = forward
        self.render = render
    }

    /// Name and value of each stage, in pipeline order.
    public var stages: [(name: String, milliseconds: Double)] {
        [
            ("capture", capture), ("detect", detect), ("preprocess", preprocess), ("forward", forward),
            ("render", render),
        ]
    }
}

/// Frames per second at three points: delivered by the source, classified, drawn.
public struct PipelineRates: Sendable, Equatable {
    public var source = 0.0
    public var inference = 0.0
    public var display = 0.0

    public init(source: Double = 0, inference: Double = 0, display: Double = 0) {
        self.source = source
        self.inference = inference
        self.display = display
    }
}

/// Correct predictions of the primary face against Frame.truth in a labelled replay.
public struct RunningAccuracy: Sendable, Equatable {
    public var correct = 0
    public var total = 0

    public init(correct: Int = 0, total: Int = 0) {
        self.correct = correct
        self.total = total
    }

    public var fraction: Double { total > 0 ? Double(correct) / Double(total) : 0 }
}

/// Everything the screen draws for one refresh.
public struct MonitorSnapshot: Sendable {
    /// The newest frame (or the frozen one).
    public var frame: Frame?
    /// The newest readings; their boxes belong to the frame they were computed on.
    public var faces: [FaceReading] = []
    /// The face the panel shows: chosen with Tab, else the largest.
    public var primaryFaceID: Int?
    public var classes: [String] = []
    public var modelName = ""
    public var inputSize = 0
    /// The model being loaded in the background, while it loads.
    public var loadingModel: String?
    public var sourceName = ""
    public var timings = StageTimings()
    public var rates = PipelineRates()
    /// Present only in a labelled replay.
    public var accuracy: RunningAccuracy?
    public var frozen = false
    public var smoothing = true
    /// A one-line notice for the status line ("dumped to ...", an error).
    public var message: String?
    /// True once a finite source has delivered its last frame.
    public var sourceFinished = false
    /// Images in the replay, when the source is a folder (for "image 12/223").
    public var sourceLength: Int?
    /// Files of the replay passed over as unreadable.
    public var skippedFiles = 0
    /// The primary face's recent readings, oldest first (frozen with the frame), for the timeline.
    public var timeline: [TimelineSample] = []
    public var timelineFaceID: Int?
    /// The timeline's span and its right end (the shown prediction's time), seconds.
    public var timelineSeconds = 30.0
    public var timelineEnd = 0.0

    public init(frame: Frame? = nil) {
        self.frame = frame
    }

    /// The reading the panel shows: the chosen face if it is still tracked, else the largest.
    public var primaryFace: FaceReading? {
        if let id = primaryFaceID, let face = faces.first(where: { $0.id == id }) { return face }
        return faces.max(by: { $0.box.area < $1.box.area })
    }
}
