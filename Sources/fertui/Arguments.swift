// A small command-line parser: `--name value`, `--name=value`, `--flag`, and positionals.
// Every command reads its options through it so unknown options fail the same way.

import Foundation

/// A command-line mistake: the message says what was wrong and what to do; exit code 2.
struct UsageError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}

/// The arguments after the subcommand, consumed as a command reads them.
struct Arguments {
    private var tokens: [String]
    private(set) var positionals: [String] = []

    /// `valueOptions`: the options that take a value, so `--model resnet34` pairs up.
    init(_ tokens: [String], valueOptions: Set<String>) {
        var options: [String] = []
        var rest = tokens[...]
        while let t = rest.first {
            rest = rest.dropFirst()
            if t == "--" {
                positionals += rest
                break
            }
            let pendingValue = options.last.map { valueOptions.contains($0) } ?? false
            if t.hasPrefix("-") && t.count > 1 && !(pendingValue && Double(t) != nil) {
                options.append(t)
            } else if pendingValue, let last = options.last {
                // The token after an option that takes a value is that value (a negative number
                // too, so `--frames -1` is refused for its value, not for a missing one).
                options[options.count - 1] = last + "=" + t
            } else {
                positionals.append(t)
            }
        }
        self.tokens = options
    }

    /// True (and consumed) if `--name` was given; saying it twice is the same as once.
    mutating func flag(_ name: String) -> Bool {
        let before = tokens.count
        tokens.removeAll { $0 == name }
        return tokens.count < before
    }

    /// The value of `--name VALUE` or `--name=VALUE`, consumed; nil when absent. Given twice, it
    /// is an error: which of the two was meant is not ours to guess.
    mutating func value(_ name: String) throws -> String? {
        let matches = { (t: String) in t == name || t.hasPrefix(name + "=") }
        let given = tokens.filter(matches)
        guard let token = given.first else { return nil }
        tokens.removeAll(where: matches)
        let values = given.map { $0.hasPrefix(name + "=") ? String($0.dropFirst(name.count + 1)) : nil }
        guard given.count == 1 else {
            let shown = values.map { $0.map { "'\($0)'" } ?? "no value" }.joined(separator: ", ")
            throw UsageError(message: "\(name) is given \(given.count) times (\(shown)): give it once")
        }
        guard token.hasPrefix(name + "=") else {
            throw UsageError(message: "\(name) needs a value (e.g. \(name) VALUE)")
        }
        return values[0]
    }

    /// An integer option within `range`; the message names the option and the bad value.
    mutating func int(_ name: String, default def: Int, in range: ClosedRange<Int> = Int.min...Int.max) throws -> Int {
        guard let s = try value(name) else { return def }
        guard let v = Int(s), range.contains(v) else {
            throw UsageError(
                message: "\(name) \(s): expected a whole number in \(range.lowerBound)...\(range.upperBound)")
        }
        return v
    }

    /// A decimal option within `range`.
    mutating func double(
        _ name: String, default def: Double,
        in range: ClosedRange<Double> = -Double.greatestFiniteMagnitude...Double.greatestFiniteMagnitude
    ) throws -> Double {
        guard let s = try value(name) else { return def }
        guard let v = Double(s), range.contains(v) else {
            throw UsageError(message: "\(name) \(s): expected a number in \(range.lowerBound)...\(range.upperBound)")
        }
        return v
    }

    /// A `WIDTHxHEIGHT` option (e.g. 640x480) within the given ranges.
    mutating func size(
        _ name: String, default def: (width: Int, height: Int), width: ClosedRange<Int> = 16...7680,
        height: ClosedRange<Int> = 8...4320
    ) throws -> (width: Int, height: Int) {
        guard let s = try value(name) else { return def }
        let parts = s.lowercased().split(separator: "x").compactMap { Int($0) }
        guard parts.count == 2, width.contains(parts[0]), height.contains(parts[1]) else {
            throw UsageError(message: "\(name) \(s): expected WIDTHxHEIGHT, e.g. 640x480")
        }
        return (parts[0], parts[1])
    }

    /// True when `--name` or `--name=...` is among the unread options.
    func contains(_ name: String) -> Bool {
        tokens.contains { $0 == name || $0.hasPrefix(name + "=") }
    }

    /// Fails on anything the command did not read: a misspelt option is an error, not ignored.
    func finish(command: String) throws {
        if let extra = tokens.first {
            let name = extra.split(separator: "=").first.map(String.init) ?? extra
            throw UsageError(message: "unknown option \(name) for 'fertui \(command)': see 'fertui \(command) --help'")
        }
    }
}
