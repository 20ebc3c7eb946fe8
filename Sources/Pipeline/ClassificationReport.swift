// The paper's evaluation figures from true labels and predicted probabilities: accuracy, weighted
// precision/recall/F1 (as scikit-learn's classification_report), per-class one-vs-rest AUC and
// their mean, and the confusion matrix; besides, the expected calibration error.
// Training/fertrain/metrics.py computes the same in Python.

/// Precision, recall, F1, support and one-vs-rest AUC of one class.
public struct ClassFigures: Equatable, Sendable {
    public var precision: Double
    public var recall: Double
    public var f1: Double
    public var support: Int
    /// NaN when the class has no positive or no negative example.
    public var auc: Double
}

/// Everything `fertui eval` reports for one model on one dataset.
public struct ClassificationReport: Sendable {
    public var classes: [String]
    public var images: Int
    public var accuracy: Double
    public var weightedPrecision: Double
    public var weightedRecall: Double
    public var weightedF1: Double
    /// Mean of the per-class one-vs-rest AUCs (classes with an undefined AUC left out).
    public var meanAUC: Double
    public var perClass: [ClassFigures]
    /// confusion[true][predicted] counts.
    public var confusion: [[Int]]
    /// Expected calibration error: over `calibrationBins` equal-width bins of the top probability,
    /// |accuracy - mean top probability| weighted by the bin's share of the images.
    public var ece: Double
    public static let calibrationBins = 15

    /// `labels[i]` is the true class index of sample i; `probs` holds labels.count rows of
    /// classes.count probabilities. A row that is all zeros (no face found) counts as a miss:
    /// it is predicted as no class and scores lowest for every class's AUC.
    public init(classes: [String], labels: [Int], probs: [Float]) {
        let k = classes.count
        let n = labels.count
        precondition(probs.count == n * k, "probs holds \(probs.count) values, expected \(n)x\(k)")
        var confusion = [[Int]](repeating: [Int](repeating: 0, count: k), count: k)
        var predictedCount = [Int](repeating: 0, count: k)
        var correct = 0
        for i in 0..<n {
            let row = probs[(i * k)..<((i + 1) * k)]
            guard let best = row.indices.max(by: { row[$0] < row[$1] }), row[best] > 0 else { continue }
            let predicted = best - i * k
            confusion[labels[i]][predicted] += 1
            predictedCount[predicted] += 1
            if predicted == labels[i] { correct += 1 }
        }
        var support = [Int](repeating: 0, count: k)
        for label in labels { support[label] += 1 }

        var perClass: [ClassFigures] = []
        for c in 0..<k {
            let tp = Double(confusion[c][c])
            let precision = predictedCount[c] > 0 ? tp / Double(predictedCount[c]) : 0
            let recall = support[c] > 0 ? tp / Double(support[c]) : 0
            let f1 = precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0
            let scores = (0..<n).map { probs[$0 * k + c] }
            let auc = ClassificationReport.oneVsRestAUC(scores: scores, positive: labels.map { $0 == c })
            perClass.append(ClassFigures(precision: precision, recall: recall, f1: f1, support: support[c], auc: auc))
        }
        let total = Double(max(n, 1))
        self.classes = classes
        self.images = n
        self.accuracy = n > 0 ? Double(correct) / Double(n) : 0
        self.weightedPrecision = perClass.reduce(0) { $0 + $1.precision * Double($1.support) } / total
        self.weightedRecall = perClass.reduce(0) { $0 + $1.recall * Double($1.support) } / total
        self.weightedF1 = perClass.reduce(0) { $0 + $1.f1 * Double($1.support) } / total
        let defined = perClass.map(\.auc).filter { !$0.isNaN }
        self.meanAUC = defined.isEmpty ? .nan : defined.reduce(0, +) / Double(defined.count)
        self.perClass = perClass
        self.confusion = confusion
        self.ece = ClassificationReport.expectedCalibrationError(labels: labels, probs: probs, classes: k)
    }

    /// The ECE of `probs` (rows of `classes`) against `labels`, as Training/fertrain/calibration.py's
    /// `ece` computes it; a row of zeros (no face) is a miss at confidence 0.
    public static func expectedCalibrationError(
        labels: [Int], probs: [Float], classes k: Int, bins: Int = calibrationBins
    ) -> Double {
        var count = [Int](repeating: 0, count: bins)
        var confidence = [Double](repeating: 0, count: bins)
        var correct = [Double](repeating: 0, count: bins)
        for (i, label) in labels.enumerated() {
            let row = probs[(i * k)..<((i + 1) * k)]
            let best = row.indices.max(by: { row[$0] < row[$1] })!
            let top = Double(row[best])
            let bin = min(Int(top * Double(bins)), bins - 1)
            count[bin] += 1
            confidence[bin] += top
            if top > 0, best - i * k == label { correct[bin] += 1 }
        }
        let n = Double(max(labels.count, 1))
        return (0..<bins).reduce(0) { sum, b in
            count[b] == 0 ? sum : sum + abs(correct[b] - confidence[b]) / n
        }
    }

    /// Area under the ROC curve by the Mann-Whitney rank sum, ties given their average rank
    /// (what scikit-learn's roc_auc_score computes).
    public static func oneVsRestAUC(scores: [Float], positive: [Bool]) -> Double {
        let pos = positive.filter { $0 }.count
        let neg = positive.count - pos
        guard pos > 0, neg > 0 else { return .nan }
        let order = scores.indices.sorted { scores[$0] < scores[$1] }
        var rankSum = 0.0
        var i = 0
        while i < order.count {
            var j = i
            while j + 1 < order.count, scores[order[j + 1]] == scores[order[i]] { j += 1 }
            let rank = Double(i + j) / 2 + 1
            for t in i...j where positive[order[t]] { rankSum += rank }
            i = j + 1
        }
        return (rankSum - Double(pos * (pos + 1)) / 2) / Double(pos * neg)
    }

    /// The `fertui eval --json` object (keys as Training/evaluate.py --json writes them).
    public func json(model: String) -> String {
        func num(_ v: Double) -> String { v.isNaN ? "null" : String(format: "%.6f", v) }
        let per = zip(classes, perClass).map { name, f in
            "\"\(name)\":{\"precision\":\(num(f.precision)),\"recall\":\(num(f.recall)),\"f1\":\(num(f.f1)),"
                + "\"support\":\(f.support),\"auc\":\(num(f.auc))}"
        }.joined(separator: ",")
        let matrix = confusion.map { "[" + $0.map(String.init).joined(separator: ",") + "]" }.joined(separator: ",")
        return "{\"model\":\"\(model)\",\"images\":\(images),\"accuracy\":\(num(accuracy)),"
            + "\"weighted\":{\"precision\":\(num(weightedPrecision)),\"recall\":\(num(weightedRecall)),"
            + "\"f1\":\(num(weightedF1))},\"macro_auc\":\(num(meanAUC)),\"ece\":\(num(ece)),\"per_class\":{\(per)},"
            + "\"confusion\":[\(matrix)]}"
    }

    /// A human-readable table like Training/evaluate.py prints.
    public func table() -> String {
        var lines = [
            String(
                format:
                    "images %d  accuracy %.4f  weighted precision %.4f recall %.4f F1 %.4f  mean AUC %.4f  ECE %.4f",
                images, accuracy, weightedPrecision, weightedRecall, weightedF1, meanAUC, ece),
            "class".padding(toLength: 10, withPad: " ", startingAt: 0)
                + ["precision", "recall", "f1", "auc", "support"].map { $0.leftPadded(10) }.joined(),
        ]
        for (name, f) in zip(classes, perClass) {
            lines.append(
                name.padding(toLength: 10, withPad: " ", startingAt: 0)
                    + [f.precision, f.recall, f.f1, f.auc].map { String(format: "%.4f", $0).leftPadded(10) }.joined()
                    + String(f.support).leftPadded(10))
        }
        lines.append(
            "confusion (rows true, columns predicted): " + classes.map { String($0.prefix(3)) }.joined(separator: " "))
        for (name, row) in zip(classes, confusion) {
            lines.append(
                name.padding(toLength: 10, withPad: " ", startingAt: 0) + row.map { String($0).leftPadded(6) }.joined())
        }
        return lines.joined(separator: "\n")
    }
}

extension String {
    fileprivate func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}
