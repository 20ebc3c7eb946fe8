// `--views`: test-time views averaged per face besides the mirror, shared by monitor, predict,
// eval and bench --pipeline.

import Pipeline

enum ViewOptions {
    static let help = """
          --views SET         views of each face averaged with it and its mirror: mirror (none more),
                              shifts (4 crops moved 2 px), zoom (the centre enlarged), all; each view
                              costs two more forwards per face. Default: the set the model file names
                              (shifts for the shipped resnet18, mirror for the others; docs/RECOGNITION.md)
        """

    /// The views asked for, or nil for each model's own default.
    static func parse(_ args: inout Arguments) throws -> [FaceClassifier.TestView]? {
        guard let name = try args.value("--views") else { return nil }
        guard let views = FaceClassifier.TestView.set(named: name) else {
            let names = FaceClassifier.TestView.sets.map(\.name).joined(separator: ", ")
            throw UsageError(message: "--views \(name): expected one of \(names)")
        }
        return views
    }
}
