// This process's memory as Linux reports it in /proc/self/status: resident now and at its peak.

import Foundation

/// Resident set size now and its high-water mark, in MB.
public struct ProcessMemory: Sendable, Equatable {
    public var residentMB: Double
    public var peakResidentMB: Double

    public init(residentMB: Double, peakResidentMB: Double) {
        self.residentMB = residentMB
        self.peakResidentMB = peakResidentMB
    }

    /// This process's figures; nil where /proc is not there to read.
    public static func current() -> ProcessMemory? {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
        return ProcessMemory(status: status)
    }

    /// From the text of a /proc/PID/status file (VmRSS and VmHWM, in kB); nil when either is missing.
    public init?(status: String) {
        func megabytes(_ key: String) -> Double? {
            guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix(key + ":") }) else { return nil }
            return line.split(whereSeparator: \.isWhitespace).compactMap { Double($0) }.first.map { $0 / 1024 }
        }
        guard let rss = megabytes("VmRSS"), let peak = megabytes("VmHWM") else { return nil }
        residentMB = rss
        peakResidentMB = peak
    }
}
