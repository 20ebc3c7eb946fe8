// xterm's 256-colour palette: the RGB of each entry, and the nearest entry to an RGB colour,
// so one grid can be shown on 8-colour, 256-colour and direct-colour terminals.

public enum XtermPalette {
    private static let system: [(UInt8, UInt8, UInt8)] = [
        (0, 0, 0), (205, 0, 0), (0, 205, 0), (205, 205, 0), (0, 0, 238), (205, 0, 205), (0, 205, 205), (229, 229, 229),
        (127, 127, 127), (255, 0, 0), (0, 255, 0), (255, 255, 0), (92, 92, 255), (255, 0, 255), (0, 255, 255),
        (255, 255, 255),
    ]
    private static let cubeLevels: [Int] = [0, 95, 135, 175, 215, 255]

    /// The RGB xterm shows for palette entry `n`.
    public static func rgb(_ n: UInt8) -> (UInt8, UInt8, UInt8) {
        let i = Int(n)
        if i < 16 { return system[i] }
        if i >= 232 {
            let v = UInt8(8 + 10 * (i - 232))
            return (v, v, v)
        }
        let c = i - 16
        return (UInt8(cubeLevels[c / 36]), UInt8(cubeLevels[(c / 6) % 6]), UInt8(cubeLevels[c % 6]))
    }

    /// The nearest entry among the 6x6x6 cube and the gray ramp (16...255), judged perceptually
    /// ("redmean" weighting: the eye tells greens apart best, and reds more in bright colours):
    /// the cube's entry nearest channel by channel, against the ramp's entry nearest in level.
    public static func nearest256(_ r: UInt8, _ g: UInt8, _ b: UInt8) -> UInt8 {
        Palette256Mapper.shared.map(r, g, b)
    }

    /// For each channel value, the index (0...5) of the nearest cube level.
    static let cubeIndex: [UInt8] = (0...255).map { v in
        var best = 0
        for (i, l) in cubeLevels.enumerated() where abs(l - v) < abs(cubeLevels[best] - v) { best = i }
        return UInt8(best)
    }

    /// The nearest of the 8 basic colours.
    public static func nearestBasic(_ r: UInt8, _ g: UInt8, _ b: UInt8) -> UInt8 {
        var best = 0
        for i in 1..<8 where distance(system[i], (r, g, b)) < distance(system[best], (r, g, b)) { best = i }
        return UInt8(best)
    }

    private static func distance(_ a: (UInt8, UInt8, UInt8), _ b: (UInt8, UInt8, UInt8)) -> Int {
        let dr = Int(a.0) - Int(b.0)
        let dg = Int(a.1) - Int(b.1)
        let db = Int(a.2) - Int(b.2)
        return dr * dr + dg * dg + db * db
    }
}

/// `XtermPalette.nearest256` with its tables resolved once: the rasterizer calls it per pixel.
struct Palette256Mapper {
    static let shared = Palette256Mapper()
    /// Per channel value: the nearest cube level's index (0...5) and that level.
    private let cubeIndex: [Int]
    private let cubeLevel: [Int]
    /// Per gray level: the nearest ramp entry and its level.
    private let grayEntry: [Int]
    private let grayLevel: [Int]

    init() {
        cubeIndex = XtermPalette.cubeIndex.map(Int.init)
        let levels = [0, 95, 135, 175, 215, 255]
        cubeLevel = cubeIndex.map { levels[$0] }
        grayEntry = HalfBlockRasterizer.grayIndex.map(Int.init)
        grayLevel = grayEntry.map { Int(XtermPalette.rgb(UInt8($0)).0) }
    }

    @inline(__always)
    func map(_ r: UInt8, _ g: UInt8, _ b: UInt8) -> UInt8 {
        let ri = Int(r)
        let gi = Int(g)
        let bi = Int(b)
        let cr = cubeLevel[ri]
        let cg = cubeLevel[gi]
        let cb = cubeLevel[bi]
        let cube = 16 + 36 * cubeIndex[ri] + 6 * cubeIndex[gi] + cubeIndex[bi]
        let gray = (ri + gi + bi) / 3
        let gl = grayLevel[gray]
        return UInt8(
            Self.distance(gl, gl, gl, ri, gi, bi) < Self.distance(cr, cg, cb, ri, gi, bi) ? grayEntry[gray] : cube)
    }

    /// Squared "redmean" distance between (r1, g1, b1) and (r2, g2, b2).
    @inline(__always)
    static func distance(_ r1: Int, _ g1: Int, _ b1: Int, _ r2: Int, _ g2: Int, _ b2: Int) -> Int {
        let mean = (r1 + r2) / 2
        let dr = r1 - r2
        let dg = g1 - g2
        let db = b1 - b2
        return ((512 + mean) * dr * dr >> 8) + 4 * dg * dg + ((767 - mean) * db * db >> 8)
    }
}
