// Deterministic pseudo-random tensors, computed identically by Training/make_engine_fixtures.py,
// so parity fixtures need only commit expected logits (the weights and inputs are regenerated).
//
// value(name, i) = lo + (hi - lo) * (u + 1) / 2, u = splitmix64(key(name) + (i + 1) * golden) >> 40,
// scaled to [-1, 1) (24 bits, exact in fp32); key(name) = fnv1a64(name) ^ (seed * golden).

import Foundation

/// Seeded tensors for parity tests and benchmarks; not a training initialisation.
public enum SeededWeights {
    static let golden: UInt64 = 0x9E37_79B9_7F4A_7C15

    static func fnv1a64(_ s: String) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in s.utf8 {
            h ^= UInt64(byte)
            h = h &* 0x0000_0100_0000_01b3
        }
        return h
    }

    /// `count` values uniform in [lo, hi) for the tensor called `name`.
    public static func uniform(_ name: String, count: Int, lo: Double, hi: Double, seed: UInt64) -> [Float] {
        let key = fnv1a64(name) ^ (seed &* golden)
        let width = hi - lo
        return (0..<count).map { i in
            var z = key &+ UInt64(i + 1) &* golden
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            z ^= z >> 31
            let u = Double(z >> 40) * (1.0 / 8_388_608.0) - 1.0  // [-1, 1)
            let t = (u + 1.0) * 0.5
            return Float(lo + width * t)
        }
    }

    /// The value range for a ResNet state_dict entry, chosen so activations stay of order one
    /// through 50 layers: He-uniform convolutions, BN statistics near identity.
    public static func range(for name: String, shape: [Int]) -> (lo: Double, hi: Double) {
        if name.hasSuffix("running_mean") { return (-0.1, 0.1) }
        if name.hasSuffix("running_var") { return (0.5, 1.5) }
        let isBN = name.hasPrefix("bn") || name.contains(".bn") || name.contains("downsample.1")
        if isBN && name.hasSuffix(".weight") { return (0.3, 0.8) }
        if name.hasSuffix(".bias") { return (-0.1, 0.1) }
        let fanIn = shape.dropFirst().reduce(1, *)
        if shape.count == 2 {
            let b = 1.0 / Double(fanIn).squareRoot()
            return (-b, b)
        }
        let b = (6.0 / Double(fanIn)).squareRoot()
        return (-b, b)
    }

    /// A whole seeded input batch: n * 3 * side * side floats in [-2, 2), NCHW.
    public static func input(batch: Int, side: Int, seed: UInt64) -> [Float] {
        uniform("input.\(side)", count: batch * 3 * side * side, lo: -2, hi: 2, seed: seed)
    }
}
