// `fertui eval`: the paper's evaluation of a model on a class-folder dataset (accuracy, weighted
// precision/recall/F1, per-class AUC, confusion), the same figures as Training/evaluate.py.

import Engine
import Foundation
import Pipeline
import Vision

enum EvalCommand {
    static let help = """
        fertui eval: accuracy, weighted precision/recall/F1, one-vs-rest AUC and the confusion matrix
        of a model on a class-folder dataset (one sub-folder per class, e.g. FER-2013's val/)

        Usage: fertui eval --data DIR [options]

        Options:
          --data DIR          class-folder dataset (angry/, disgust/, ... with images inside)
          --model NAME|PATH   resnet18, resnet34, resnet50 or a .safetensors path (default resnet18)
          --models-dir DIR    where to look for <name>.safetensors (also: FERTUI_MODELS)
          --no-detect         the images are face crops (FER-2013): classify the whole image.
                              Without it the largest detected face is classified, and an image
                              with no face counts as a miss.
          --cascade FILE      Haar cascade for detection (default: opencv-data's frontalface_default)
          --no-tta            ignore the model's `tta_flip` metadata (no mirror averaging)
          --batch B           images per forward (default 64)
          --json              one JSON object (the keys of Training/evaluate.py --json)

        Examples:
          fertui eval --no-detect --data ../shared/fer2013/val --model resnet18
          fertui eval --no-detect --data ../shared/fer2013/val --model all --json
          fertui eval --data photos-by-class/ --model Assets/models/resnet50.safetensors
        """

    static func run(_ args: [String]) throws -> Int32 {
        var a = Arguments(args, valueOptions: ["--data", "--model", "--models-dir", "--cascade", "--batch"])
        guard let data = try a.value("--data") else {
            throw UsageError(message: "--data DIR is required: a folder with one sub-folder of images per class")
        }
        let model = try a.value("--model") ?? "resnet18"
        let modelsDir = try a.value("--models-dir")
        let noDetect = a.flag("--no-detect")
        let cascade = try a.value("--cascade")
        let noTTA = a.flag("--no-tta")
        let batch = try a.int("--batch", default: 64, in: 1...4096)
        let json = a.flag("--json")
        try a.finish(command: "eval")
        guard a.positionals.isEmpty else {
            throw UsageError(message: "unexpected argument '\(a.positionals[0])': pass the dataset with --data DIR")
        }
        let names = model == "all" ? ModelCatalog.names : [model]
        for name in names {
            let path = try ModelCatalog.resolve(name, modelsDir: modelsDir)
            let network = try ResNet(contentsOf: path)
            let detector = noDetect ? nil : try CascadeDetector(cascadePath: cascade)
            let started = monotonicSeconds()
            let report = try evaluate(network, data: data, detector: detector,
                                      mirror: !noTTA && network.info.metadata["tta_flip"] == "true", batch: batch)
            if json {
                print(report.json(model: network.info.arch))
            } else {
                print("\(path) (\(network.info.arch), input \(network.info.inputSize)) on \(data) "
                    + String(format: "in %.1fs", monotonicSeconds() - started))
                print(report.table())
            }
        }
        return 0
    }

    /// Classifies every image of the dataset, `batch` faces per forward.
    static func evaluate(_ network: ResNet, data: String, detector: CascadeDetector?, mirror: Bool,
                         batch: Int) throws -> ClassificationReport {
        let info = network.info
        let source = try LabelledFolderSource(folder: data, shuffleSeed: nil)
        if let unknown = source.classes.first(where: { !info.classes.contains($0) }) {
            throw UsageError(message: "\(data)/\(unknown): not one of the model's classes (\(info.classes.joined(separator: ", ")))")
        }
        let pre = Preprocessor(inputSize: info.inputSize, mean: info.mean, std: info.std,
                               margin: detector == nil ? 0 : 0.1)
        let k = info.classes.count
        let copies = mirror ? 2 : 1
        var input = [Float](repeating: 0, count: batch * copies * pre.floatsPerFace)
        var labels: [Int] = []
        var probs: [Float] = []
        var pending: [Int?] = []  // per image: its face's slot in the batch, nil when no face was found
        var filled = 0
        let total = source.items.count
        let progress = isatty(STDERR_FILENO) != 0

        func flush() throws {
            var out = [Float]()
            if filled > 0 {
                if mirror { mirrorRows(&input, from: 0, count: filled, side: info.inputSize, into: filled) }
                out = softmax(try input.withUnsafeBufferPointer {
                    try network.logits(UnsafeBufferPointer(rebasing: $0[0..<(filled * copies * pre.floatsPerFace)]),
                                       batch: filled * copies)
                }, classes: k)
            }
            for slot in pending {
                guard let s = slot else {
                    probs += [Float](repeating: 0, count: k)
                    continue
                }
                for c in 0..<k {
                    probs.append(mirror ? (out[s * k + c] + out[(filled + s) * k + c]) / 2 : out[s * k + c])
                }
            }
            pending.removeAll(keepingCapacity: true)
            filled = 0
            if progress {
                FileHandle.standardError.write("\r  \(labels.count)/\(total) images")
                if labels.count == total { FileHandle.standardError.write("\n") }
            }
        }

        while let frame = try source.nextFrame() {
            labels.append(info.classes.firstIndex(of: frame.truth ?? "")!)
            let box: FaceBox?
            if let detector {
                box = try detector.detect(frame).first
            } else {
                box = FaceBox(x: 0, y: 0, width: frame.width, height: frame.height)
            }
            if let box {
                input.withUnsafeMutableBufferPointer { pre.write(frame, box: box, into: $0, batchIndex: filled) }
                pending.append(filled)
                filled += 1
            } else {
                pending.append(nil)
            }
            if pending.count == batch { try flush() }
        }
        try flush()
        return ClassificationReport(classes: info.classes, labels: labels, probs: probs)
    }

    /// Writes the left-right mirror of tensors [from, from+count) to [into, into+count), each
    /// (3, side, side): the test-time flip the model was validated with.
    static func mirrorRows(_ t: inout [Float], from: Int, count: Int, side: Int, into: Int) {
        let perFace = 3 * side * side
        for n in 0..<count {
            let src = (from + n) * perFace, dst = (into + n) * perFace
            for row in 0..<(3 * side) {
                let base = row * side
                for x in 0..<side { t[dst + base + x] = t[src + base + side - 1 - x] }
            }
        }
    }
}
