// The choice of OpenBLAS kernels: a better set is asked for only where OpenBLAS fell back to
// pre-AVX2 kernels on a CPU that has AVX2 and FMA, and never over the user's OPENBLAS_CORETYPE.

import XCTest

@testable import Engine

final class BLASCoreTests: XCTestCase {
    let avx2: Set<String> = ["sse4_2", "avx", "avx2", "fma"]
    let avx512: Set<String> = [
        "sse4_2", "avx", "avx2", "fma", "avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl",
    ]

    func testFallbackKernelsOnAVX512CPUGetSkylakeX() {
        XCTAssertEqual(BLASCore.better(current: "Prescott", cpuFlags: avx512, override: nil), "SkylakeX")
    }

    func testFallbackKernelsOnAVX2CPUGetHaswell() {
        XCTAssertEqual(BLASCore.better(current: "Prescott", cpuFlags: avx2, override: nil), "Haswell")
        // AVX-512 without all the subsets SkylakeX's kernels use (a Xeon Phi's F and CD only) is AVX2 here.
        XCTAssertEqual(
            BLASCore.better(current: "Prescott", cpuFlags: avx2.union(["avx512f", "avx512cd"]), override: nil),
            "Haswell")
    }

    func testOpenBLASChoiceKeptWhenItHasVectorKernels() {
        for core in ["Haswell", "Zen", "SkylakeX", "Cooperlake", "SapphireRapids"] {
            XCTAssertNil(BLASCore.better(current: core, cpuFlags: avx512, override: nil), core)
        }
    }

    func testUserOverrideAndOldCPUsAreLeftAlone() {
        XCTAssertNil(BLASCore.better(current: "Prescott", cpuFlags: avx512, override: "Prescott"))
        XCTAssertNil(BLASCore.better(current: "Sandybridge", cpuFlags: ["sse4_2", "avx"], override: nil))
        XCTAssertNil(BLASCore.better(current: "Prescott", cpuFlags: [], override: nil))
        // An empty variable counts as unset, as OpenBLAS reads it.
        XCTAssertEqual(BLASCore.better(current: "Prescott", cpuFlags: avx2, override: ""), "Haswell")
    }

    func testCPUFlagsComeFromTheFirstFlagsLine() {
        let cpuinfo = """
            processor\t: 0
            model name\t: Some CPU
            flags\t\t: fpu sse2 avx2 fma avx512f
            bugs\t\t: spectre_v1

            processor\t: 1
            flags\t\t: fpu sse2
            """
        XCTAssertEqual(BLASCore.cpuFlags(cpuinfo: cpuinfo), ["fpu", "sse2", "avx2", "fma", "avx512f"])
        XCTAssertEqual(BLASCore.cpuFlags(cpuinfo: "no such line"), [])
        XCTAssertEqual(BLASCore.cpuFlags(cpuinfo: nil), [])
    }

    func testCurrentCoreIsNamed() {
        XCTAssertFalse(BLASCore.current.isEmpty)
        XCTAssertNotEqual(BLASCore.current, "unknown")
    }
}
