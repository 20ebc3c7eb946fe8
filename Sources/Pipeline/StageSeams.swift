// The seams the pipeline's stages call through: a face detector and an expression model.
// The monitor plugs in CascadeDetector and ResNet; tests can plug in slow or scripted ones.

import Engine
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

/// A classifier split into the pipeline's two stages, so each is timed on its own queue.
public protocol ExpressionModel: AnyObject {
    /// Architecture, input size, class names.
    var info: ModelInfo { get }
    /// The batch tensor for the faces' crops (faces x 3 x S x S, normalised; mirrors appended when
    /// the model averages them).
    func preprocess(_ frame: Frame, boxes: [FaceBox]) throws -> [Float]
    /// One probability vector per face, in `info.classes` order.
    func probabilities(_ input: [Float], batch faces: Int) throws -> [[Float]]
}

extension ExpressionModel {
    /// The name shown and logged: the architecture ("resnet18").
    public var displayName: String { info.arch }
}
