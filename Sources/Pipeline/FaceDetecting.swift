// The detect stage's seam: what finds the faces of a frame. The monitor plugs in CascadeDetector;
// tests plug in slow or scripted detectors.

import Vision

/// Finds faces in a frame, largest first.
public protocol FaceDetecting: AnyObject {
    func detect(_ frame: Frame) throws -> [FaceBox]
}

extension CascadeDetector: FaceDetecting {}

/// "Detects" one face covering the whole frame: for sources that are already face crops
/// (FER-2013 images), where a cascade would often find nothing in 48x48 pixels.
public final class WholeFrameDetector: FaceDetecting {
    public init() {}
    public func detect(_ frame: Frame) throws -> [FaceBox] {
        [FaceBox(x: 0, y: 0, width: frame.width, height: frame.height)]
    }
}
