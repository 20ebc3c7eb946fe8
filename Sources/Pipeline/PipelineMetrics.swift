// How the pipeline keeps up: smoothed stage durations, frame rates at three points, latency
// medians and counters, recorded by the stages and read by the screen, the log and the bench.

import Vision

/// Counters and medians for tests and the benchmark.
public struct PipelineStatistics: Sendable {
    public var captured: Int
    public var processed: Int
    public var droppedBeforeDetect: Int
    public var droppedBeforePreprocess: Int
    public var droppedBeforeForward: Int
    public var renders: Int
    /// Renders that showed a frame not shown before (the screen's frame rate counts these).
    public var framesShown: Int
    /// Source timestamp to screen, median of recent frames, milliseconds.
    public var latencyMedian: Double
    public var latencySamples: Int
    /// Source timestamp to that frame's prediction being ready, median, milliseconds.
    public var predictionLatencyMedian: Double

    /// Frames dropped at any stage because a newer one arrived.
    public var dropped: Int { droppedBeforeDetect + droppedBeforePreprocess + droppedBeforeForward }
}

/// The measurements the stages record; times are monotonic seconds, durations milliseconds.
struct PipelineMetrics {
    /// When the pipeline started.
    var startTime = 0.0
    private(set) var captured = 0
    private(set) var processed = 0
    private(set) var framesShown = 0
    private var capture = MovingAverage(), detect = MovingAverage(), preprocess = MovingAverage()
    private var forward = MovingAverage(), render = MovingAverage()
    private var sourceRate = RateMeter(), inferenceRate = RateMeter(), displayRate = RateMeter()
    /// Source timestamp to screen.
    private(set) var latency = RollingMedian()
    /// Source timestamp to prediction ready.
    private(set) var predictionLatency = RollingMedian()

    /// A frame taken from the source: asked for at `before`, in hand at `after`.
    mutating func recordCapture(_ frame: Frame, asked before: Double, received after: Double) {
        // From the source's timestamp (when the frame existed) to having it in hand; a timestamp
        // on another clock counts the wait for the frame instead.
        let onOurClock = frame.timestamp >= before - 1 && frame.timestamp <= after
        capture.add((onOurClock ? after - frame.timestamp : after - before) * 1000)
        sourceRate.tick(at: after)
        captured += 1
    }

    /// A frame classified at `now`.
    mutating func recordClassified(
        frameTimestamp: Double, detectMs: Double, preprocessMs: Double, forwardMs: Double,
        at now: Double
    ) {
        detect.add(detectMs)
        preprocess.add(preprocessMs)
        forward.add(forwardMs)
        inferenceRate.tick(at: now)
        predictionLatency.add((now - frameTimestamp) * 1000)
        processed += 1
    }

    /// A render that took `milliseconds` and finished at `end`; `shownFrame` is the timestamp of a
    /// live frame it showed for the first time (nil when it showed nothing new).
    mutating func recordRender(milliseconds: Double, shownFrame: Double?, at end: Double) {
        render.add(milliseconds)
        if let shownFrame {
            framesShown += 1
            displayRate.tick(at: end)
            latency.add((end - shownFrame) * 1000)
        }
    }

    /// Smoothed milliseconds per stage.
    var timings: StageTimings {
        StageTimings(
            capture: capture.value, detect: detect.value, preprocess: preprocess.value,
            forward: forward.value, render: render.value)
    }

    /// Frames per second delivered, classified and drawn, as of `now`.
    func rates(at now: Double) -> PipelineRates {
        PipelineRates(
            source: sourceRate.rate(at: now), inference: inferenceRate.rate(at: now),
            display: displayRate.rate(at: now))
    }
}
