// IEEE half-precision floats, the shipped weights' storage, to and from single precision.

/// IEEE half to single, bit by bit (subnormals, infinities and NaN included).
@inline(__always)
func halfToFloat(_ h: UInt16) -> Float {
    let sign = UInt32(h & 0x8000) << 16
    let exp = UInt32(h >> 10) & 0x1f
    let mant = UInt32(h & 0x3ff)
    if exp == 0 {
        // Zero or subnormal: mant * 2^-24.
        let v = Float(mant) * (1.0 / 16_777_216.0)
        return sign != 0 ? -v : v
    }
    if exp == 31 {
        return Float(bitPattern: sign | 0x7f80_0000 | (mant << 13))
    }
    return Float(bitPattern: sign | ((exp + 112) << 23) | (mant << 13))
}

/// IEEE single to half, round to nearest even (what PyTorch's `.half()` does).
func floatToHalf(_ f: Float) -> UInt16 {
    let bits = f.bitPattern
    let sign = UInt16((bits >> 16) & 0x8000)
    let exp = Int((bits >> 23) & 0xff)
    var mant = bits & 0x7f_ffff
    if exp == 255 { return sign | 0x7c00 | (mant != 0 ? 0x200 : 0) }
    var e = exp - 127 + 15
    if e >= 31 { return sign | 0x7c00 }
    if e <= 0 {
        // Subnormal half: shift the implicit bit in, round to nearest even.
        if e < -10 { return sign }
        mant |= 0x80_0000
        let shift = UInt32(14 - e)
        var half = mant >> shift
        let rem = mant & ((1 << shift) - 1)
        let halfway = UInt32(1) << (shift - 1)
        if rem > halfway || (rem == halfway && half & 1 == 1) { half += 1 }
        return sign | UInt16(half)
    }
    var half = mant >> 13
    let rem = mant & 0x1fff
    if rem > 0x1000 || (rem == 0x1000 && half & 1 == 1) {
        half += 1
        if half == 0x400 {
            half = 0
            e += 1
        }
        if e >= 31 { return sign | 0x7c00 }
    }
    return sign | UInt16(e << 10) | UInt16(half)
}
