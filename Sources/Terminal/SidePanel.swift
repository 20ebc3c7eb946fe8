// The panel beside the video: per-class probability bars for the primary face, the model,
// rates, per-stage latency and, in a labelled replay, the running accuracy.

import Pipeline

/// Draws the panel into a rectangle of the grid.
public enum SidePanel {
    public static func draw(_ snapshot: MonitorSnapshot, in area: CellRect, into grid: inout CellGrid) {
        grid.fill(area, with: .blank)
        var y = area.y
        func line(_ text: String, _ color: CellColor = .terminalDefault, bold: Bool = false) {
            guard y < area.maxY else { return }
            grid.put(text, x: area.x + 1, y: y, foreground: color, bold: bold, maxWidth: area.width - 1)
            y += 1
        }
        let model = snapshot.modelName.isEmpty ? "no model" : snapshot.modelName
        line("model \(model) \(snapshot.inputSize)x\(snapshot.inputSize)", Palette.title, bold: true)
        if let loading = snapshot.loadingModel {
            line("loading \(loading)...", Palette.warning)
        } else {
            line("source " + cutLeft(snapshot.sourceName, area.width - 8), Palette.dim)
        }
        if let length = snapshot.sourceLength, let frame = snapshot.frame {
            // Replay progress, and the file shown, cut from the left so its name stays visible.
            let skipped = snapshot.skippedFiles > 0 ? " (\(snapshot.skippedFiles) skipped)" : ""
            line("image \(frame.index + 1 + snapshot.skippedFiles)/\(length)\(skipped)", Palette.dim)
            line(cutLeft(frame.origin, area.width - 1), Palette.dim)
        }
        y += 1

        let primary = snapshot.primaryFace
        if let face = primary {
            if face.held {
                line("face #\(face.id): \(face.label) \(percent(face.confidence)) (held)", Palette.dim, bold: true)
            } else if face.isUncertain {
                let two = face.topTwo(snapshot.classes).map { "\($0.name) \(percent($0.probability))" }
                line("face #\(face.id): uncertain", Palette.dim, bold: true)
                line("  " + two.joined(separator: " / "), Palette.dim)
            } else {
                line("face #\(face.id): \(face.label) \(percent(face.confidence))", Palette.primaryFace, bold: true)
            }
        } else {
            line("no face", Palette.dim)
        }
        // Bars: "angry    ███▌       12.3%", name 8 wide, value 6 wide, the bar fills the rest.
        let barWidth = max(1, area.width - 1 - 9 - 7)
        let best =
            primary.map { face in
                face.probabilities.indices.max(by: { face.probabilities[$0] < face.probabilities[$1] })
            } ?? nil
        for (i, name) in snapshot.classes.enumerated() {
            guard y < area.maxY else { break }
            let p = primary.flatMap { i < $0.probabilities.count ? $0.probabilities[i] : nil }
            let x = area.x + 1
            grid.put(pad(name, 8), x: x, y: y, maxWidth: 8)
            let color = i == best ? Palette.primaryBar : Palette.bar
            grid.put(bar(p ?? 0, width: barWidth), x: x + 9, y: y, foreground: color)
            grid.put(p.map { leftPad(percent($0), 6) } ?? "     -", x: x + 9 + barWidth + 1, y: y)
            y += 1
        }
        y += 1

        let r = snapshot.rates
        line("fps  source \(fixed(r.source, 1))", Palette.title)
        line("     infer  \(fixed(r.inference, 1))")
        line("     screen \(fixed(r.display, 1))")
        line("ms   per stage", Palette.title)
        let t = snapshot.timings
        line("  capture \(leftPad(fixed(t.capture, 1), 6))  detect \(leftPad(fixed(t.detect, 1), 5))")
        line("  preproc \(leftPad(fixed(t.preprocess, 1), 6))  fwd \(leftPad(fixed(t.forward, 1), 8))")
        line("  render  \(leftPad(fixed(t.render, 1), 6))")
        if let acc = snapshot.accuracy {
            y += 1
            line("accuracy \(acc.correct)/\(acc.total) \(percent(Float(acc.fraction)))", Palette.title, bold: true)
        }
        var flags: [String] = []
        if snapshot.frozen { flags.append("FROZEN") }
        flags.append(snapshot.smoothing ? "smooth on" : "smooth off")
        if snapshot.sourceFinished { flags.append("source ended") }
        if y < area.maxY - 1 { y = area.maxY - 1 }
        line(flags.joined(separator: "  "), snapshot.frozen ? Palette.warning : Palette.dim, bold: snapshot.frozen)
    }

    /// A bar of `width` cells for a value in 0...1, in eighths ("█████▍   ").
    public static func bar(_ value: Float, width: Int) -> String {
        let eighths = Int((max(0, min(1, value)) * Float(width * 8)).rounded())
        let partials: [Character] = [" ", "▏", "▎", "▍", "▌", "▋", "▊", "▉"]
        var s = String(repeating: "█", count: eighths / 8)
        if eighths / 8 < width {
            s.append(partials[eighths % 8])
            s += String(repeating: " ", count: width - eighths / 8 - 1)
        }
        return s
    }

    /// "87.3%".
    public static func percent(_ value: Float) -> String { fixed(Double(value) * 100, 1) + "%" }

    /// A number with `digits` decimals, without Foundation's formatter.
    static func fixed(_ value: Double, _ digits: Int) -> String {
        guard value.isFinite else { return "-" }
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        let n = Int((abs(value) * scale).rounded())
        let whole = n / Int(scale)
        let frac = n % Int(scale)
        let fracText = String(frac)
        let sign = value < 0 && n != 0 ? "-" : ""
        if digits == 0 { return sign + String(whole) }
        return sign + String(whole) + "." + String(repeating: "0", count: digits - fracText.count) + fracText
    }

    /// `s` in at most `width` characters, its start replaced by "…" when too long.
    static func cutLeft(_ s: String, _ width: Int) -> String {
        guard width > 1, s.count > width else { return s }
        return "…" + String(s.suffix(width - 1))
    }

    static func pad(_ s: String, _ width: Int) -> String {
        s.count >= width ? String(s.prefix(width)) : s + String(repeating: " ", count: width - s.count)
    }

    static func leftPad(_ s: String, _ width: Int) -> String {
        s.count >= width ? s : String(repeating: " ", count: width - s.count) + s
    }
}
