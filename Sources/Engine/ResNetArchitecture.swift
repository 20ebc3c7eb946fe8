// torchvision's ResNet18/34/50 as data: which convolutions, in what order, with what shapes, and the
// state_dict names and shapes a weights file must hold.

/// Which torchvision ResNet: block type and blocks per stage.
struct ResNetArchitecture {
    let name: String
    let bottleneck: Bool
    let blocksPerStage: [Int]
    var expansion: Int { bottleneck ? 4 : 1 }
    var featureWidth: Int { 512 * expansion }

    static let known = ["resnet18", "resnet34", "resnet50"]

    static func named(_ name: String) throws -> ResNetArchitecture {
        switch name {
        case "resnet18": return ResNetArchitecture(name: name, bottleneck: false, blocksPerStage: [2, 2, 2, 2])
        case "resnet34": return ResNetArchitecture(name: name, bottleneck: false, blocksPerStage: [3, 4, 6, 3])
        case "resnet50": return ResNetArchitecture(name: name, bottleneck: true, blocksPerStage: [3, 4, 6, 3])
        default:
            throw EngineError("unknown architecture '\(name)'; expected one of \(known.joined(separator: ", "))")
        }
    }

    /// One convolution of the network with the batch-norm that follows it, by state_dict prefix.
    struct ConvSpec {
        let conv: String  // e.g. "layer2.0.conv1"
        let bn: String  // e.g. "layer2.0.bn1"
        let inC: Int, outC: Int, kernel: Int, stride: Int, pad: Int
    }

    /// The blocks in forward order: their convolutions (2 or 3) and optional downsample.
    struct BlockSpec {
        let convs: [ConvSpec]
        let downsample: ConvSpec?
    }

    var stem: ConvSpec { ConvSpec(conv: "conv1", bn: "bn1", inC: 3, outC: 64, kernel: 7, stride: 2, pad: 3) }

    var blocks: [BlockSpec] {
        var result: [BlockSpec] = []
        var inC = 64
        for (stage, count) in blocksPerStage.enumerated() {
            let width = 64 << stage
            let outC = width * expansion
            for b in 0..<count {
                let p = "layer\(stage + 1).\(b)"
                let stride = (stage > 0 && b == 0) ? 2 : 1
                var convs: [ConvSpec]
                if bottleneck {
                    // torchvision v1.5: the stride sits on the 3x3 convolution.
                    convs = [
                        ConvSpec(
                            conv: "\(p).conv1", bn: "\(p).bn1", inC: inC, outC: width, kernel: 1, stride: 1, pad: 0),
                        ConvSpec(
                            conv: "\(p).conv2", bn: "\(p).bn2", inC: width, outC: width, kernel: 3, stride: stride,
                            pad: 1),
                        ConvSpec(
                            conv: "\(p).conv3", bn: "\(p).bn3", inC: width, outC: outC, kernel: 1, stride: 1, pad: 0),
                    ]
                } else {
                    convs = [
                        ConvSpec(
                            conv: "\(p).conv1", bn: "\(p).bn1", inC: inC, outC: width, kernel: 3, stride: stride, pad: 1
                        ),
                        ConvSpec(
                            conv: "\(p).conv2", bn: "\(p).bn2", inC: width, outC: width, kernel: 3, stride: 1, pad: 1),
                    ]
                }
                let downsample =
                    (stride != 1 || inC != outC)
                    ? ConvSpec(
                        conv: "\(p).downsample.0", bn: "\(p).downsample.1", inC: inC, outC: outC, kernel: 1,
                        stride: stride, pad: 0)
                    : nil
                result.append(BlockSpec(convs: convs, downsample: downsample))
                inC = outC
            }
        }
        return result
    }

    /// Every float tensor of the torchvision state_dict with its shape, in state_dict order
    /// (BatchNorm's integer `num_batches_tracked` is not needed and not listed).
    func expectedTensors(classes: Int) -> [(name: String, shape: [Int])] {
        func convAndBN(_ c: ConvSpec) -> [(String, [Int])] {
            [("\(c.conv).weight", [c.outC, c.inC, c.kernel, c.kernel])]
                + ["weight", "bias", "running_mean", "running_var"].map { ("\(c.bn).\($0)", [c.outC]) }
        }
        var list = convAndBN(stem)
        for block in blocks {
            for c in block.convs { list += convAndBN(c) }
            if let d = block.downsample { list += convAndBN(d) }
        }
        list.append(("fc.weight", [classes, featureWidth]))
        list.append(("fc.bias", [classes]))
        return list
    }
}
