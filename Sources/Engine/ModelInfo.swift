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
    /// Logits are divided by this before the softmax (calibration fitted on validation data,
    /// metadata `temperature`; 1 when absent), so a probability means what it says.
    public var temperature: Float
    /// Each class's logit, once divided by `temperature`, is multiplied by its scale and shifted by
    /// its bias before the softmax (calibration, metadata `class_scale` and `class_bias`; nil when
    /// absent): corrects a model that is surer of some classes than of others, or over-predicts
    /// some, which one temperature cannot.
    public var classScale: [Float]?
    public var classBias: [Float]?
    /// Every `__metadata__` entry as written (recipe, epochs, val_accuracy, ...).
    public var metadata: [String: String]

    public init(
        arch: String, inputSize: Int, classes: [String], mean: [Float], std: [Float],
        grayscale: Bool = true, temperature: Float = 1, classScale: [Float]? = nil, classBias: [Float]? = nil,
        metadata: [String: String] = [:]
    ) {
        self.arch = arch
        self.inputSize = inputSize
        self.classes = classes
        self.mean = mean
        self.std = std
        self.grayscale = grayscale
        self.temperature = temperature
        self.classScale = classScale
        self.classBias = classBias
        self.metadata = metadata
    }

    /// FER-2013's classes in the order the paper and the models use.
    public static let ferClasses = ["angry", "disgust", "fear", "happy", "neutral", "sad", "surprise"]
}

extension ModelInfo {
    /// Input sides a weights file may ask for: the engine needs at least 32; above 512 one face's
    /// tensor and activations run to hundreds of megabytes, which no FER model needs.
    public static let inputSizes = 32...512
    /// Calibration temperatures a file may carry: far outside this a model is broken, not shy.
    public static let temperatures: ClosedRange<Float> = 0.05...20
    /// Calibration scales and biases a file may carry, per class: fitted ones sit near 1 and within a
    /// few units; a scale of 10 or a bias of 10 (a class's odds times 22,000) means a broken file.
    public static let classScales: ClosedRange<Float> = 0.1...10
    public static let classBiases: ClosedRange<Float> = -10...10
    /// Test-time view sets a file may name as its default (`test_views`; the pipeline's
    /// `FaceClassifier.TestView.sets`): the set measured best for that file on validation data.
    public static let testViewSets = ["mirror", "shifts", "zoom", "all"]

    /// Reads the facts from a weights file's `__metadata__`; `arch` and `classCount` come from the
    /// tensors. Absent entries take defaults (input 224, FER classes when there are 7, ImageNet
    /// mean/std, grayscale true). Every present entry is checked: a malformed or out-of-range value
    /// is an error naming the key and the value.
    public init(metadata: [String: String], arch: String, classCount: Int) throws {
        /// The error for `key`'s value `s`: what was expected, and what to do.
        func bad(_ key: String, _ s: String, _ expected: String) -> EngineError {
            EngineError(
                "__metadata__ \(key) '\(s)': expected \(expected); the file's metadata is wrong: "
                    + "fix it or re-export the model (make train)")
        }
        /// Three per-channel numbers (the models take three channels), each passing `valid`.
        func channels(_ key: String, default def: [Float], expected: String, valid: (Float) -> Bool) throws -> [Float] {
            guard let s = metadata[key] else { return def }
            let parts = s.split(separator: ",", omittingEmptySubsequences: false)
                .map { Float($0.trimmingCharacters(in: .whitespaces)) }
            guard parts.count == 3, parts.allSatisfy({ $0.map(valid) ?? false }) else {
                throw bad(key, s, "three comma-separated \(expected), one per channel")
            }
            return parts.map { $0! }
        }
        func flag(_ key: String, default def: Bool) throws -> Bool {
            guard let s = metadata[key] else { return def }
            switch s.lowercased().trimmingCharacters(in: .whitespaces) {
            case "true", "1": return true
            case "false", "0": return false
            default: throw bad(key, s, "true or false")
            }
        }
        if let s = metadata["arch"], s != arch {
            throw bad("arch", s, "the architecture of the tensors, \(arch)")
        }
        var inputSize = 224
        if let s = metadata["input_size"] {
            guard let v = Int(s.trimmingCharacters(in: .whitespaces)), ModelInfo.inputSizes.contains(v) else {
                throw bad("input_size", s, "a whole number of pixels in \(ModelInfo.inputSizes)")
            }
            inputSize = v
        }
        var classes: [String]
        if let s = metadata["classes"] {
            classes = s.split(separator: ",", omittingEmptySubsequences: false).map {
                $0.trimmingCharacters(in: .whitespaces)
            }
            guard classes.count == classCount else {
                throw EngineError(
                    "__metadata__ classes lists \(classes.count) names but fc.weight has \(classCount) rows")
            }
            guard classes.allSatisfy({ !$0.isEmpty }), Set(classes).count == classes.count else {
                throw bad("classes", s, "\(classCount) distinct, non-empty comma-separated names")
            }
        } else {
            classes =
                classCount == ModelInfo.ferClasses.count ? ModelInfo.ferClasses : (0..<classCount).map { "class\($0)" }
        }
        let grayscale = try flag("grayscale", default: true)
        // Read by the pipeline as the exact word "true".
        if let s = metadata["tta_flip"], s != "true" && s != "false" { throw bad("tta_flip", s, "true or false") }
        if let s = metadata["test_views"], !ModelInfo.testViewSets.contains(s) {
            throw bad("test_views", s, "one of \(ModelInfo.testViewSets.joined(separator: ", "))")
        }
        var temperature: Float = 1
        if let s = metadata["temperature"] {
            guard let v = Float(s.trimmingCharacters(in: .whitespaces)), v.isFinite, ModelInfo.temperatures.contains(v)
            else {
                throw bad("temperature", s, "a number in \(ModelInfo.temperatures) (the calibration temperature)")
            }
            temperature = v
        }
        /// One number per class in `range`, or nil when `key` is absent.
        func perClass(_ key: String, in range: ClosedRange<Float>, _ what: String) throws -> [Float]? {
            guard let s = metadata[key] else { return nil }
            let parts = s.split(separator: ",", omittingEmptySubsequences: false)
                .map { Float($0.trimmingCharacters(in: .whitespaces)) }
            guard parts.count == classes.count,
                parts.allSatisfy({ $0.map { $0.isFinite && range.contains($0) } ?? false })
            else {
                throw bad(key, s, "\(classes.count) comma-separated numbers in \(range), one per class (\(what))")
            }
            return parts.map { $0! }
        }
        let classScale = try perClass("class_scale", in: ModelInfo.classScales, "the calibration scale")
        let classBias = try perClass("class_bias", in: ModelInfo.classBiases, "the calibration bias")
        self.init(
            arch: arch, inputSize: inputSize, classes: classes,
            mean: try channels(
                "mean", default: [0.485, 0.456, 0.406], expected: "finite numbers",
                valid: { $0.isFinite }),
            std: try channels(
                "std", default: [0.229, 0.224, 0.225], expected: "finite numbers above 0",
                valid: { $0.isFinite && $0 > 0 }),
            grayscale: grayscale, temperature: temperature, classScale: classScale, classBias: classBias,
            metadata: metadata)
    }
}
