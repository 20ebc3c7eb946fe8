// The scheduled detector as the pipeline's detector: MonitorPipeline asks a FaceSchedule for
// tracked faces in one call, and wraps any other detector in the tracker.

import Vision

extension FaceSchedule: FaceDetecting {
    /// The boxes of `faces(in:)`: found and held faces, tracked across calls.
    public func detect(_ frame: Frame) throws -> [FaceBox] {
        try faces(in: frame).map(\.box)
    }
}
