// `fertui eval`'s loop: every image of a class-folder dataset classified (the whole image, or its
// largest detected face), the predictions gathered into a ClassificationReport.

import Vision

extension ClassificationReport {
    /// Classifies every image of `source`: the whole image when `detector` is nil, else its
    /// largest face (an image with no face counts as a miss). `progress` is told after each image
    /// how many are done out of how many.
    public static func evaluate(
        _ classifier: FaceClassifying, on source: LabelledFolderSource,
        detector: FaceDetecting?, progress: ((_ done: Int, _ total: Int) -> Void)? = nil
    )
        throws -> ClassificationReport
    {
        let classes = classifier.classes
        let total = source.items.count
        var labels: [Int] = []
        var probs: [Float] = []  // (images, classes)
        while let frame = try source.nextFrame() {
            guard let label = classes.firstIndex(of: frame.truth ?? "") else {
                throw PipelineError(
                    "\(frame.origin): its class \(frame.truth ?? "(none)") is not one of the model's "
                        + "(\(classes.joined(separator: ", ")))")
            }
            labels.append(label)
            if let detector {
                if let largest = try detector.detect(frame).first {
                    probs += try classifier.classify(frame, faces: [(id: 0, box: largest)])[0].probabilities
                } else {
                    probs += [Float](repeating: 0, count: classes.count)  // no face: a miss
                }
            } else {
                probs += try classifier.classifyWhole(frame).probabilities
            }
            progress?(labels.count, total)
        }
        return ClassificationReport(classes: classes, labels: labels, probs: probs)
    }
}
