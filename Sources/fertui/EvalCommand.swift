// `fertui eval`: the paper's evaluation of a model on a class-folder dataset (accuracy, weighted
// precision/recall/F1, per-class AUC, confusion) and its calibration error, the same figures as
// Training/evaluate.py.

import Engine
import Foundation
import Pipeline
import Vision

enum EvalCommand {
    static let help = """
        fertui eval: accuracy, weighted precision/recall/F1, one-vs-rest AUC, expected calibration error
        (15 bins) and the confusion matrix of a model on a class-folder dataset (one sub-folder per
        class, e.g. FER-2013's val/)

        Usage: fertui eval --data DIR [options]

        Options:
          --data DIR          class-folder dataset (angry/, disgust/, ... with images inside)
          --model NAME|PATH   resnet18, resnet34, resnet50, ensemble (the three averaged), all (each
                              in turn) or a .safetensors path (default resnet18)
          --models-dir DIR    where to look for <name>.safetensors (also: FERTUI_MODELS)
          --no-detect         the images are face crops (FER-2013): classify the whole image.
                              Without it the largest face predict would find is classified (the
                              same search and options), and an image with no face counts as a miss.
          --no-tta            ignore the model's `tta_flip` metadata (no mirror averaging)
          --json              one JSON object (the keys of Training/evaluate.py --json)
        \(ViewOptions.help)
        \(DetectionOptions.help)

        Examples:
          fertui eval --no-detect --data ../shared/fer2013/val --model resnet18
          fertui eval --no-detect --data ../shared/fer2013/val --model all --json
          fertui eval --data photos-by-class/ --model Assets/models/resnet50.safetensors
        """

    static func run(_ args: [String]) throws -> Int32 {
        var a = Arguments(
            args, valueOptions: DetectionOptions.valueOptions.union(["--data", "--model", "--models-dir", "--views"]))
        guard let data = try a.value("--data") else {
            throw UsageError(message: "--data DIR is required: a folder with one sub-folder of images per class")
        }
        let model = try a.value("--model") ?? "resnet18"
        let modelsDir = try a.value("--models-dir")
        let noDetect = a.flag("--no-detect")
        let detection = try DetectionOptions.parse(&a, stills: true)
        let views = try ViewOptions.parse(&a)
        let noTTA = a.flag("--no-tta")
        let json = a.flag("--json")
        try a.finish(command: "eval")
        guard a.positionals.isEmpty else {
            throw UsageError(message: "unexpected argument '\(a.positionals[0])': pass the dataset with --data DIR")
        }
        let names = model == "all" ? ModelCatalog.names : [model]
        let progress = isatty(STDERR_FILENO) != 0
        for name in names {
            let classifier = try ExpressionModels.classifier(
                name, modelsDir: modelsDir, margin: noDetect ? 0 : Preprocessor.ferMargin,
                mirrorAverage: noTTA ? false : nil, views: views)
            let arch = (classifier as? FaceClassifier)?.model.info.arch ?? name
            let source = try LabelledFolderSource(folder: data, shuffleSeed: nil)
            if let unknown = source.classes.first(where: { !classifier.classes.contains($0) }) {
                throw UsageError(
                    message: "\(data)/\(unknown): not one of the model's classes "
                        + "(\(classifier.classes.joined(separator: ", ")))")
            }
            let detector = noDetect ? nil : try FaceSchedule(settings: detection)
            let started = monotonicSeconds()
            let report = try ClassificationReport.evaluate(classifier, on: source, detector: detector) { done, total in
                guard progress, done % 100 == 0 || done == total else { return }
                FileHandle.standardError.write("\r  \(done)/\(total) images" + (done == total ? "\n" : ""))
            }
            let what =
                name == ExpressionModels.ensembleName
                ? "ensemble of \(ModelCatalog.names.joined(separator: ", "))"
                : "\(try ModelCatalog.resolve(name, modelsDir: modelsDir)) (\(arch))"
            if json {
                print(report.json(model: arch))
            } else {
                print(
                    "\(what) on \(data) "
                        + String(format: "in %.1fs", monotonicSeconds() - started))
                print(report.table())
            }
        }
        return 0
    }
}
