// What the monitor shows and how the user has set it: the newest and the frozen prediction,
// the selected face, smoothing, the status message, the model's name and a load in progress.
// A value type whose changes are plain functions, so they are tested without threads.

import Vision

/// The monitor's state between frames; the pipeline keeps one behind a lock.
struct MonitorState {
    /// The newest classified frame and its readings.
    var prediction: Prediction?
    /// The prediction held on screen while frozen.
    var frozen: Prediction?
    /// The newest frame from the source, classified or not.
    var newestFrame: Frame?
    /// False once a new frame has arrived that the screen has not drawn yet.
    var newestFrameDrawn = true
    /// The face chosen with Tab; nil: the largest.
    var selectedFaceID: Int?
    var smoothing: Bool
    var smoother: ProbabilitySmoother
    /// The one-line notice on the status line.
    var message: String?
    /// The model in use.
    var modelName: String
    /// The model being loaded in the background, while it loads.
    var loadingModel: String?
    /// Present once a labelled frame has been classified.
    var accuracy: RunningAccuracy?
    /// True once a finite source has delivered its last frame.
    var sourceFinished = false
    /// Every face's expression over the session (summary, timeline).
    var history: ExpressionHistory
    /// The history as it was when the frame was frozen: the timeline freezes with the frame.
    var frozenHistory: ExpressionHistory?
    /// Each followed face's probabilities when it was last found (shown while it is held).
    var lastSeenProbabilities: [Int: [Float]] = [:]

    init(modelName: String, smoothing: Bool, smoothingWindow: Int, timelineSeconds: Double = 30) {
        self.modelName = modelName
        self.smoothing = smoothing
        self.smoother = ProbabilitySmoother(window: smoothingWindow)
        self.history = ExpressionHistory(timelineSeconds: timelineSeconds)
    }

    /// The history the screen shows: frozen with the frame, else the live one.
    var shownHistory: ExpressionHistory { frozenHistory ?? history }

    /// What the screen shows: the frozen prediction, else the newest.
    var shown: Prediction? { frozen ?? prediction }

    /// Freezes the newest prediction (or the newest frame, before any prediction), or resumes the
    /// live view; returns true when frozen.
    mutating func toggleFreeze() -> Bool {
        if frozen != nil {
            frozen = nil
            frozenHistory = nil
        } else {
            frozen = prediction ?? newestFrame.map { Prediction(frame: $0, faces: [], model: modelName) }
            frozenHistory = history
        }
        return frozen != nil
    }

    /// Temporal smoothing on or off, said on the status line; returns the new setting.
    mutating func toggleSmoothing() -> Bool {
        smoothing.toggle()
        message = "smoothing \(smoothing ? "on" : "off")"
        return smoothing
    }

    /// Selects the next (or previous) face of the shown prediction by id, wrapping around;
    /// the first one when none is selected. Nothing changes when no face is shown.
    mutating func selectNextFace(backwards: Bool = false) {
        let ids = shown?.faces.map(\.id).sorted() ?? []
        guard !ids.isEmpty else { return }
        guard let current = selectedFaceID.flatMap({ ids.firstIndex(of: $0) }) else {
            selectedFaceID = ids[0]
            return
        }
        selectedFaceID = ids[(current + (backwards ? ids.count - 1 : 1)) % ids.count]
    }

    /// A frame from the source: the screen has something new to draw.
    mutating func receive(_ frame: Frame) {
        newestFrame = frame
        newestFrameDrawn = false
    }

    /// The readings for one classified frame: each face's probabilities, smoothed over its recent
    /// frames when smoothing is on; faces no longer tracked lose their history.
    mutating func readings(faces: [TrackedFace], probabilities: [[Float]], classes: [String]) -> [FaceReading] {
        var readings: [FaceReading] = []
        for (face, raw) in zip(faces, probabilities) {
            // A held face was not found in this frame: its box is a guess, so it keeps the
            // probabilities it had when last seen instead of those of whatever is at the guess.
            if face.held, let last = lastSeenProbabilities[face.id] {
                var reading = FaceReading(id: face.id, box: face.box, probabilities: last, classes: classes)
                reading.held = true
                readings.append(reading)
                continue
            }
            let smoothed = smoother.add(raw, for: face.id)
            var reading = FaceReading(
                id: face.id, box: face.box, probabilities: smoothing ? smoothed : raw, classes: classes)
            reading.held = face.held
            lastSeenProbabilities[face.id] = reading.probabilities
            readings.append(reading)
        }
        let ids = Set(faces.map(\.id))
        lastSeenProbabilities = lastSeenProbabilities.filter { ids.contains($0.key) }
        smoother.keepOnly(Set(faces.map(\.id)))
        return readings
    }

    /// Makes `prediction` the newest and adds it to the history; in a labelled replay, the
    /// largest face's label is scored against the frame's truth.
    mutating func record(_ prediction: Prediction) {
        if let truth = prediction.frame.truth {
            var running = accuracy ?? RunningAccuracy()
            running.total += 1
            if prediction.faces.max(by: { $0.box.area < $1.box.area })?.label == truth { running.correct += 1 }
            accuracy = running
        }
        history.record(time: prediction.frame.timestamp, faces: prediction.faces)
        self.prediction = prediction
    }

    /// Starts loading `name`; false (nothing changes) when it is the model in use or another load
    /// is in progress.
    mutating func beginLoading(_ name: String) -> Bool {
        guard name != modelName, loadingModel == nil else { return false }
        loadingModel = name
        message = "loading \(name)..."
        return true
    }

    /// `name` took over after loading for `milliseconds`: old smoothing history means something
    /// else now, so it goes.
    mutating func finishLoading(_ name: String, milliseconds: Int) {
        modelName = name
        loadingModel = nil
        smoother.reset()
        message = "switched to \(name) (loaded in \(milliseconds) ms)"
    }

    /// Loading `name` failed: the model in use stays.
    mutating func failLoading(_ name: String, error: Error) {
        loadingModel = nil
        message = "could not load \(name): \(error)"
    }
}
