// `fertui monitor`: not built yet (placeholder so the dispatch compiles while it is written).

enum MonitorCommand {
    static let help = "fertui monitor: not built yet"

    static func run(_ args: [String]) throws -> Int32 {
        print("fertui monitor is not built yet")
        return 2
    }
}
