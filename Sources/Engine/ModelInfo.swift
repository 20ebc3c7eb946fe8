// What a weights file says about its model (safetensors `__metadata__`).

/// The model facts the rest of fertui needs: architecture, input size, classes, normalisation.
public struct ModelInfo: Sendable, Equatable {
    /// "resnet18", "resnet34" or "resnet50".
    public var arch: String
    /// Square input side in pixels (48 for fertui's models, 224 for the paper's).
    public var inputSize: Int
    /// Class names in output order.
    public var classes: [String]
    /// Per-channel mean and std applied after scaling pixels to [0, 1].
    public var mean: [Float]
    public var std: [Float]
    /// Input is a gray image replicated to 3 channels.
    public var grayscale: Bool
    /// Every `__metadata__` entry as written (recipe, epochs, val_accuracy, ...).
    public var metadata: [String: String]

    public init(arch: String, inputSize: Int, classes: [String], mean: [Float], std: [Float],
                grayscale: Bool = true, metadata: [String: String] = [:]) {
        self.arch = arch
        self.inputSize = inputSize
        self.classes = classes
        self.mean = mean
        self.std = std
        self.grayscale = grayscale
        self.metadata = metadata
    }

    /// FER-2013's classes in the order the paper and the models use.
    public static let ferClasses = ["angry", "disgust", "fear", "happy", "neutral", "sad", "surprise"]
}

extension ModelInfo {
    /// Reads the facts from a weights file's `__metadata__`; `arch` and `classCount` come from the
    /// tensors. Absent entries take defaults (input 224, FER classes when there are 7, ImageNet
    /// mean/std, grayscale true); present but malformed entries are errors naming the value.
    public init(metadata: [String: String], arch: String, classCount: Int) throws {
        func floats(_ key: String, default def: [Float]) throws -> [Float] {
            guard let s = metadata[key] else { return def }
            let parts = s.split(separator: ",").map { Float($0.trimmingCharacters(in: .whitespaces)) }
            guard parts.count == 3, parts.allSatisfy({ $0 != nil }) else {
                throw EngineError("__metadata__ \(key) '\(s)': expected three comma-separated numbers")
            }
            return parts.map { $0! }
        }
        var inputSize = 224
        if let s = metadata["input_size"] {
            guard let v = Int(s.trimmingCharacters(in: .whitespaces)), v >= 32 else {
                throw EngineError("__metadata__ input_size '\(s)': expected a whole number >= 32")
            }
            inputSize = v
        }
        var classes: [String]
        if let s = metadata["classes"] {
            classes = s.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard classes.count == classCount else {
                throw EngineError("__metadata__ classes lists \(classes.count) names but fc.weight has \(classCount) rows")
            }
        } else {
            classes = classCount == ModelInfo.ferClasses.count ? ModelInfo.ferClasses : (0..<classCount).map { "class\($0)" }
        }
        let grayscale = metadata["grayscale"].map { $0.lowercased() == "true" || $0 == "1" } ?? true
        self.init(arch: arch, inputSize: inputSize, classes: classes,
                  mean: try floats("mean", default: [0.485, 0.456, 0.406]),
                  std: try floats("std", default: [0.229, 0.224, 0.225]),
                  grayscale: grayscale, metadata: metadata)
    }
}
