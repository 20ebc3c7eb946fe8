// The one error type of the engine's API: what is wrong with a model file or a request.

/// A model file or request the engine cannot use: says what is wrong and what to do.
public struct EngineError: Error, CustomStringConvertible, Equatable {
    /// The problem alone ("missing layer3.1.conv2.weight"), for tests and short messages.
    public let problem: String
    /// Where it happened (a file path), when there is one.
    public let source: String?
    public init(_ problem: String, source: String? = nil) {
        self.problem = problem
        self.source = source
    }
    public var description: String {
        source.map { "cannot load model \($0): \(problem)" } ?? problem
    }
}
