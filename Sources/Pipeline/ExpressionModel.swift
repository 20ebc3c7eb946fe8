// The preprocess and forward stages' seam: a classifier split in two, so each half is timed on
// its own queue. The monitor plugs in ResNetExpressionModel; tests can plug in others.

import Engine
import Vision

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
