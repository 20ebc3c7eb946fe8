// A model by name, for every command: its weights file (shipped, or a path), or seeded random
// weights of a catalog architecture, for development and for benchmarks without the files.

import Engine

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
    public static func load(_ name: String, modelsDir: String?, weights choice: WeightsChoice = .file,
                            options: EngineOptions = EngineOptions()) throws -> (network: ResNet, origin: WeightsOrigin)
    {
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
