// `fertui bench`: not built yet (placeholder so the dispatch compiles while it is written).

enum BenchCommand {
    static let help = "fertui bench: not built yet"

    static func run(_ args: [String]) throws -> Int32 {
        print("fertui bench is not built yet")
        return 2
    }
}
