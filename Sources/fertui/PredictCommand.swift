// `fertui predict`: not built yet (placeholder so the dispatch compiles while it is written).

enum PredictCommand {
    static let help = "fertui predict: not built yet"

    static func run(_ args: [String]) throws -> Int32 {
        print("fertui predict is not built yet")
        return 2
    }
}
