// `--views`: test-time views averaged per face besides the mirror, shared by monitor, predict,
// eval and bench --pipeline.

import Pipeline

enum ViewOptions {
    static let help = """
          --views SET         views of each face averaged with it and its mirror: mirror (none more;
                              the default), shifts (4 crops moved 2 px), zoom (the centre enlarged),
                              all; each view costs two more forwards per face (docs/RECOGNITION.md)
        """

    static func parse(_ args: inout Arguments) throws -> [FaceClassifier.TestView] {
        let name = try args.value("--views") ?? "mirror"
        guard let views = FaceClassifier.TestView.set(named: name) else {
            let names = FaceClassifier.TestView.sets.map(\.name).joined(separator: ", ")
            throw UsageError(message: "--views \(name): expected one of \(names)")
        }
        return views
    }
}
