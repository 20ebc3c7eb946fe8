// xterm's 256-colour palette: the RGB of each entry, and the nearest entry to an RGB colour,
// so one grid can be shown on 8-colour, 256-colour and direct-colour terminals.

public enum XtermPalette {
    private static let system: [(UInt8, UInt8, UInt8)] = [
        (0, 0, 0), (205, 0, 0), (0, 205, 0), (205, 205, 0), (0, 0, 238), (205, 0, 205), (0, 205, 205), (229, 229, 229),
        (127, 127, 127), (255, 0, 0), (0, 255, 0), (255, 255, 0), (92, 92, 255), (255, 0, 255), (0, 255, 255), (255, 255, 255),
    ]
    private static let cubeLevels: [Int] = [0, 95, 135, 175, 215, 255]

    /// The RGB xterm shows for palette entry `n`.
    public static func rgb(_ n: UInt8) -> (UInt8, UInt8, UInt8) {
        let i = Int(n)
        if i < 16 { return system[i] }
        if i >= 232 { let v = UInt8(8 + 10 * (i - 232)); return (v, v, v) }
        let c = i - 16
        return (UInt8(cubeLevels[c / 36]), UInt8(cubeLevels[(c / 6) % 6]), UInt8(cubeLevels[c % 6]))
    }

    /// The nearest entry among the 6x6x6 cube and the gray ramp (16...255).
    public static func nearest256(_ r: UInt8, _ g: UInt8, _ b: UInt8) -> UInt8 {
        func level(_ v: UInt8) -> Int {
            var best = 0
            for (i, l) in cubeLevels.enumerated() where abs(l - Int(v)) < abs(cubeLevels[best] - Int(v)) { best = i }
            return best
        }
        let (ri, gi, bi) = (level(r), level(g), level(b))
        let cube = 16 + 36 * ri + 6 * gi + bi
        let cubeError = distance(rgb(UInt8(cube)), (r, g, b))
        let gray = Int(HalfBlockRasterizer.grayIndex[(Int(r) + Int(g) + Int(b)) / 3])
        let grayError = distance(rgb(UInt8(gray)), (r, g, b))
        return UInt8(grayError < cubeError ? gray : cube)
    }

    /// The nearest of the 8 basic colours.
    public static func nearestBasic(_ r: UInt8, _ g: UInt8, _ b: UInt8) -> UInt8 {
        var best = 0
        for i in 1..<8 where distance(system[i], (r, g, b)) < distance(system[best], (r, g, b)) { best = i }
        return UInt8(best)
    }

    private static func distance(_ a: (UInt8, UInt8, UInt8), _ b: (UInt8, UInt8, UInt8)) -> Int {
        let dr = Int(a.0) - Int(b.0), dg = Int(a.1) - Int(b.1), db = Int(a.2) - Int(b.2)
        return dr * dr + dg * dg + db * db
    }
}
