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
            if t.hasPrefix("-") && t.count > 1 && Double(t) == nil {  // -1 is a value, not an option
                options.append(t)
            } else if let last = options.last, valueOptions.contains(last) {
                // The token after an option that takes a value is that value.
                options[options.count - 1] = last + "=" + t
            } else {
                positionals.append(t)
            }
        }
        self.tokens = options
    }

    /// True (and consumed) if `--name` was given.
    mutating func flag(_ name: String) -> Bool {
        if let i = tokens.firstIndex(of: name) {
            tokens.remove(at: i)
            return true
        }
        return false
    }

    /// The value of `--name VALUE` or `--name=VALUE`, consumed; nil when absent.
    mutating func value(_ name: String) throws -> String? {
        guard let i = tokens.firstIndex(where: { $0 == name || $0.hasPrefix(name + "=") }) else { return nil }
        let token = tokens.remove(at: i)
        guard token.hasPrefix(name + "=") else {
            throw UsageError(message: "\(name) needs a value (e.g. \(name) VALUE)")
        }
        return String(token.dropFirst(name.count + 1))
    }

    /// An integer option within `range`; the message names the option and the bad value.
    mutating func int(_ name: String, default def: Int, in range: ClosedRange<Int> = Int.min...Int.max) throws -> Int {
        guard let s = try value(name) else { return def }
        guard let v = Int(s), range.contains(v) else {
            throw UsageError(message: "\(name) \(s): expected a whole number in \(range.lowerBound)...\(range.upperBound)")
        }
        return v
    }

    /// A decimal option within `range`.
    mutating func double(_ name: String, default def: Double, in range: ClosedRange<Double> = -Double.greatestFiniteMagnitude...Double.greatestFiniteMagnitude) throws -> Double {
        guard let s = try value(name) else { return def }
        guard let v = Double(s), range.contains(v) else {
            throw UsageError(message: "\(name) \(s): expected a number in \(range.lowerBound)...\(range.upperBound)")
        }
        return v
    }

    /// Fails on anything the command did not read: a misspelt option is an error, not ignored.
    func finish(command: String) throws {
        if let extra = tokens.first {
            let name = extra.split(separator: "=").first.map(String.init) ?? extra
            throw UsageError(message: "unknown option \(name) for 'fertui \(command)': see 'fertui \(command) --help'")
        }
    }
}
