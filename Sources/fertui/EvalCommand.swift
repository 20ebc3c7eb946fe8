// `fertui eval`: not built yet (placeholder so the dispatch compiles while it is written).

enum EvalCommand {
    static let help = "fertui eval: not built yet"

    static func run(_ args: [String]) throws -> Int32 {
        print("fertui eval is not built yet")
        return 2
    }
}
