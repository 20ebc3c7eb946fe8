// Which OpenBLAS kernel set (its "core") the engine's products run on, and the better one this CPU
// can take when OpenBLAS's own detection falls short. Debian 12's OpenBLAS 0.3.21 picks its kernels
// once, when the library loads, by CPU model; a CPU newer than the library (Sapphire Rapids and
// later) is not in its tables and gets Prescott, the SSE3 kernels, several times slower than the
// AVX-512 ones on the same machine. OPENBLAS_CORETYPE set before the library loads overrides the
// choice, which is why `fertui` relaunches itself with it.

import COpenBLAS
import Foundation

/// OpenBLAS's kernel set in use, and the choice of a better one by the CPU's features.
public enum BLASCore {
    /// The kernel set OpenBLAS loaded ("SkylakeX", "Haswell", "Prescott", ...).
    public static var current: String {
        guard let name = openblas_get_corename() else { return "unknown" }
        return String(cString: name)
    }

    /// Kernel sets with AVX2 and FMA or more: OpenBLAS's own choice is kept when it is one of these.
    static let vectorCores: Set<String> = ["Haswell", "Zen", "SkylakeX", "Cooperlake", "SapphireRapids"]

    /// The kernel set to ask for through OPENBLAS_CORETYPE, or nil to leave OpenBLAS's choice:
    /// nil when the user set OPENBLAS_CORETYPE (`override`), when OpenBLAS already runs AVX2 kernels,
    /// or when the CPU lacks AVX2 and FMA. Else SkylakeX where the CPU has the AVX-512 subsets its
    /// kernels use (F, CD, BW, DQ, VL), Haswell otherwise (the engine itself is built for Haswell).
    public static func better(current: String, cpuFlags: Set<String>, override: String?) -> String? {
        if let override = override, !override.isEmpty { return nil }
        if vectorCores.contains(current) { return nil }
        guard cpuFlags.isSuperset(of: ["avx2", "fma"]) else { return nil }
        if cpuFlags.isSuperset(of: ["avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"]) { return "SkylakeX" }
        return "Haswell"
    }

    /// The CPU's feature flags from /proc/cpuinfo's first `flags` line (empty where it cannot be read).
    public static func cpuFlags(cpuinfo: String? = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))
        -> Set<String>
    {
        guard let text = cpuinfo,
            let line = text.split(separator: "\n").first(where: { $0.hasPrefix("flags") }),
            let colon = line.firstIndex(of: ":")
        else { return [] }
        return Set(line[line.index(after: colon)...].split(separator: " ").map(String.init))
    }

    /// The better kernel set for this process: its CPU, OpenBLAS's choice and the environment.
    public static func betterForThisProcess() -> String? {
        better(
            current: current, cpuFlags: cpuFlags(), override: ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"])
    }
}
