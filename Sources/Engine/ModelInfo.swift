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
