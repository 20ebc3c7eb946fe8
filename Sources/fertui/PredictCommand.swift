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
          --cascade FILE      Haar cascade XML (default: \(CascadeDetector.defaultCascadePath))
          --scale-factor X    cascade pyramid step, above 1 (default 1.1)
          --min-neighbors N   hits needed to keep a face (default 5)
          --min-face N        smallest face side in pixels (default 40)
          --detect-width N    shrink images wider than N before detection (default 640, 0: never)
          --margin X          border added around each face box, fraction of its side (default 0)
          --flip / --no-flip  average each face with its mirror image (default: as the model was
                              validated, its tta_flip metadata)

        Faces are listed largest first. Exit status 1 when an image could not be read.

        Examples:
          fertui predict photo.jpg
          fertui predict --json --model resnet34 group.png
          fertui predict --no-detect --json ../shared/fer2013/val/happy/*.jpg
        """

    static func run(_ tokens: [String]) throws -> Int32 {
        var args = Arguments(tokens, valueOptions: ["--model", "--models-dir", "--cascade", "--scale-factor",
                                                    "--min-neighbors", "--min-face", "--detect-width", "--margin"])
        let modelName = try args.value("--model") ?? "resnet18"
        let modelsDir = try args.value("--models-dir")
        let json = args.flag("--json")
        let noDetect = args.flag("--no-detect")
        let cascade = try args.value("--cascade")
        let settings = DetectorSettings(
            scaleFactor: try args.double("--scale-factor", default: 1.1, in: 1.001...3),
            minNeighbors: try args.int("--min-neighbors", default: 5, in: 0...100),
            minFaceSize: try args.int("--min-face", default: 40, in: 1...10_000),
            detectionWidth: try args.int("--detect-width", default: 640, in: 0...100_000))
        let margin = try args.double("--margin", default: 0, in: 0...1)
        let flip = args.flag("--flip"), noFlip = args.flag("--no-flip")
        if flip && noFlip { throw UsageError(message: "--flip and --no-flip contradict each other: give one") }
        try args.finish(command: "predict")
        let images = args.positionals
        guard !images.isEmpty else {
            throw UsageError(message: "no image given: fertui predict [options] IMAGE... (see 'fertui predict --help')")
        }
        if noDetect && cascade != nil {
            throw UsageError(message: "--cascade has no effect with --no-detect: drop one of them")
        }

        let classifier = try ExpressionModels.classifier(modelName, modelsDir: modelsDir, margin: margin,
                                                         mirrorAverage: flip ? true : noFlip ? false : nil)
        let detector = noDetect ? nil : try CascadeDetector(cascadePath: cascade, settings: settings)

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
                let boxes = try detector.detect(frame)
                predictions = try classifier.classify(frame, faces: boxes.enumerated().map { (id: $0.offset + 1, box: $0.element) })
            } else {
                predictions = [try classifier.classifyWhole(frame)]
            }
            print(json ? PredictionJSON.imageLine(path, faces: predictions, classes: classifier.classes)
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
