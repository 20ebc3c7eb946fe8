// `fertui predict`: classify the faces in image files, as text or one JSON line per image.
// Parses options and wires CascadeDetector -> FaceClassifier; the work lives in Vision/Pipeline.

import Engine
import Foundation
import Pipeline
import Vision

enum PredictCommand {
    static let help = """
        fertui predict: classify the facial expressions in images

        Usage: fertui predict [options] IMAGE...

        Options:
          --model M           resnet18 | resnet34 | resnet50 | ensemble | path.safetensors
                              (default resnet18)
          --models-dir DIR    where resnet18/34/50.safetensors live (default: Assets/models,
                              or $FERTUI_MODELS)
          --json              one JSON line per image:
                              {"image":…,"faces":[{"box":[x,y,w,h],"label":…,"confidence":…,
                              "probs":{"angry":…,…}}]}
          --no-detect         the whole image is one face (pre-cropped data such as FER-2013's 48x48)
        \(DetectionOptions.help)
        \(ViewOptions.help)
          --margin X          border added around each face box, fraction of its side
                              (default \(Preprocessor.ferMargin), FER-2013's framing)
          --flip / --no-flip  average each face with its mirror image (default: as the model was
                              validated, its tta_flip metadata)

        Faces are listed largest first. Exit status 1 when an image could not be read.

        Examples:
          fertui predict photo.jpg
          fertui predict --json --model resnet34 group.png
          fertui predict --no-detect --json ../shared/fer2013/val/happy/*.jpg
        """

    static func run(_ tokens: [String]) throws -> Int32 {
        var args = Arguments(
            tokens,
            valueOptions: DetectionOptions.valueOptions.union(["--model", "--models-dir", "--margin", "--views"]))
        let modelName = try args.value("--model") ?? "resnet18"
        let modelsDir = try args.value("--models-dir")
        let json = args.flag("--json")
        let noDetect = args.flag("--no-detect")
        let settings = try DetectionOptions.parse(&args, stills: true)
        let cascade = settings.cascadePath
        let margin = try args.double("--margin", default: Preprocessor.ferMargin, in: 0...1)
        let views = try ViewOptions.parse(&args)
        let flip = args.flag("--flip")
        let noFlip = args.flag("--no-flip")
        if flip && noFlip { throw UsageError(message: "--flip and --no-flip contradict each other: give one") }
        try args.finish(command: "predict")
        let images = args.positionals
        guard !images.isEmpty else {
            throw UsageError(message: "no image given: fertui predict [options] IMAGE... (see 'fertui predict --help')")
        }
        if noDetect && cascade != nil {
            throw UsageError(message: "--cascade has no effect with --no-detect: drop one of them")
        }

        let classifier = try ExpressionModels.classifier(
            modelName, modelsDir: modelsDir, margin: margin,
            mirrorAverage: flip ? true : noFlip ? false : nil, views: views)
        let detector = noDetect ? nil : try FaceSchedule(settings: settings)

        var failed = 0
        for path in images {
            let frame: Frame
            do {
                let image = try OpenCV.readImage(path, channels: 3)
                frame = Frame(width: image.width, height: image.height, channels: 3, pixels: image.pixels, origin: path)
            } catch {
                FileHandle.standardError.write("fertui predict: \(error); skipped\n")
                failed += 1
                continue
            }
            let predictions: [FaceReading]
            if let detector {
                let boxes = try detector.faces(in: frame).map(\.box)
                predictions = try classifier.classify(
                    frame, faces: boxes.enumerated().map { (id: $0.offset + 1, box: $0.element) })
            } else {
                predictions = [try classifier.classifyWhole(frame)]
            }
            print(
                json
                    ? PredictionJSON.imageLine(path, faces: predictions, classes: classifier.classes)
                    : textLines(path, predictions, classes: classifier.classes))
        }
        return failed > 0 ? 1 : 0
    }

    /// `photo.jpg: 2 faces` then one line per face with its top three classes.
    static func textLines(_ path: String, _ faces: [FaceReading], classes: [String]) -> String {
        var lines = ["\(path): \(faces.count) face\(faces.count == 1 ? "" : "s")"]
        for (n, f) in faces.enumerated() {
            let top = zip(classes, f.probabilities).sorted { $0.1 > $1.1 }.prefix(3)
                .map { "\($0.0) \(String(format: "%.1f", $0.1 * 100))%" }.joined(separator: ", ")
            let b = f.box
            lines.append("  face \(n + 1) at \(b.x),\(b.y) \(b.width)x\(b.height): \(f.label) (\(top))")
        }
        return lines.joined(separator: "\n")
    }
}
