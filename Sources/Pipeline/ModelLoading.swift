// A model by name, for every command: its weights file (shipped, or a path), or seeded random
// weights of a catalog architecture, for development and for benchmarks without the files.

import Engine
import Vision

/// Whether a model may be built from seeded random weights instead of its file.
public enum WeightsChoice: Sendable, Equatable {
    /// The weights file; an error when it does not resolve.
    case file
    /// The file when it resolves, else random weights at `inputSize`.
    case seededWhenMissing(inputSize: Int)
    /// Random weights at `inputSize`, whatever files exist (a catalog name only).
    case seeded(inputSize: Int)
}

/// Where a loaded model's weights came from.
public enum WeightsOrigin: String, Sendable {
    /// A catalog name's file.
    case shipped
    /// A path given by the user.
    case file
    /// Seeded random weights.
    case random
}

extension ResNet {
    /// The seed of every random-weight model, so runs repeat.
    public static let randomWeightsSeed: UInt64 = 1

    /// `name` (resnet18, resnet34, resnet50, or a .safetensors path; looked up in `modelsDir`
    /// as ModelCatalog does) with weights as `choice` says, run with `options`.
    public static func load(
        _ name: String, modelsDir: String?, weights choice: WeightsChoice = .file,
        options: EngineOptions = EngineOptions()
    ) throws -> (network: ResNet, origin: WeightsOrigin) {
        let inCatalog = ModelCatalog.names.contains(name)
        var randomSize: Int?
        switch choice {
        case .file: break
        case .seeded(let inputSize):
            guard inCatalog else {
                let names = ModelCatalog.names.joined(separator: ", ")
                throw PipelineError("random weights are built for \(names), not \(name)")
            }
            randomSize = inputSize
        case .seededWhenMissing(let inputSize):
            if inCatalog, (try? ModelCatalog.resolve(name, modelsDir: modelsDir)) == nil { randomSize = inputSize }
        }
        if let randomSize {
            let info = ModelInfo(
                arch: name, inputSize: randomSize, classes: ModelInfo.ferClasses,
                mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5], metadata: ["weights": "seeded random"])
            return (ResNet(arch: name, info: info, seed: randomWeightsSeed, options: options), .random)
        }
        let network = try ResNet(contentsOf: try ModelCatalog.resolve(name, modelsDir: modelsDir), options: options)
        return (network, inCatalog ? .shipped : .file)
    }
}

/// Every model the user can name: the catalog's, one weights file, or the ensemble of the three.
public enum ExpressionModels {
    public static let ensembleName = "ensemble"
    /// What keys 1 to 4 and `m` pick from.
    public static var names: [String] { ModelCatalog.names + [ensembleName] }

    /// `name` for the pipeline: a ResNet (see `ResNet.load`) or the ensemble of the catalog's three.
    public static func load(
        _ name: String, modelsDir: String?, weights: WeightsChoice = .file,
        options: EngineOptions = EngineOptions(), margin: Double = Preprocessor.ferMargin,
        views: [FaceClassifier.TestView]? = nil
    ) throws -> ExpressionModel {
        guard name == ensembleName else {
            return ResNetExpressionModel(
                try ResNet.load(name, modelsDir: modelsDir, weights: weights, options: options).network,
                margin: margin, views: views)
        }
        // The ensemble's members see the mirror alone unless asked: ResNet18's own shifts cost the
        // ensemble its frame rate with several faces for +0.14 points (docs/RECOGNITION.md).
        let members = try ModelCatalog.names.map {
            ResNetExpressionModel(
                try ResNet.load($0, modelsDir: modelsDir, weights: weights, options: options).network,
                margin: margin, views: views ?? [])
        }
        return try EnsembleExpressionModel(members)
    }

    /// `name` for still images (predict, eval): a FaceClassifier, or an EnsembleClassifier of the three.
    public static func classifier(
        _ name: String, modelsDir: String?, margin: Double = Preprocessor.ferMargin,
        mirrorAverage: Bool? = nil, views: [FaceClassifier.TestView]? = nil
    ) throws -> FaceClassifying {
        let names = name == ensembleName ? ModelCatalog.names : [name]
        let members = try names.map {
            FaceClassifier(
                model: try ResNet.load($0, modelsDir: modelsDir).network, margin: margin,
                mirrorAverage: mirrorAverage, extraViews: name == ensembleName ? views ?? [] : views)
        }
        return name == ensembleName ? try EnsembleClassifier(members) : members[0]
    }
}
