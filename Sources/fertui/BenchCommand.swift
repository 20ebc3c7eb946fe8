// `fertui bench`: forward-pass latency of the engine (warm-up, then median and p90), on the shipped
// weights when present and on deterministic random weights otherwise (latency ignores the values).

import Engine
import Foundation
import Pipeline

enum BenchCommand {
    static let help = """
        fertui bench: forward-pass latency of the ResNet engine (fp32, OpenBLAS)

        Usage: fertui bench [options]

        Options:
          --model NAME|PATH  resnet18, resnet34, resnet50, ensemble (the three in turn), all, or a
                             .safetensors path (default resnet18).
                             Shipped weights (Assets/models, --models-dir, FERTUI_MODELS) are used when
                             present, else deterministic random weights of the same architecture.
          --models-dir DIR   where to look for <name>.safetensors
          --size N           square input side in pixels, >= 32 (default 224; fertui's models use 48)
          --batch B          images per forward (default 1)
          --threads T        engine threads, the caller's included (default 2)
          --runs N           timed forwards after the warm-up (default 30)
          --warmup N         untimed forwards first (default 5)
          --json             one JSON line per model:
                             {"model":"resnet18","size":224,"batch":1,"threads":2,"median_ms":...,"p90_ms":...,
                              "runs":...,"weights":"shipped","kept":...,"dense":false,"blas":"SkylakeX"}

        Engine choices, for A/B comparisons (the defaults are what fertui runs):
          --dense            multiply every weight: no skipping of all-zero filters and input channels
                             (what any weights of the architecture cost)
          --no-winograd      3x3 convolutions as im2col + GEMM only
          --winograd-min-tiles N  fewest 4x4 output tiles for Winograd (default 16)
          --split-macs N     multiply-adds per thread before a GEMM is split (default 4194304)
          --split-floats N   floats per thread before a pass is split (default 32768)

          --pipeline         the live pipeline instead (rates, latency, render time, memory):
                             see 'fertui bench --pipeline --help'

        Examples:
          fertui bench
          fertui bench --model all --size 224 --threads 2
          fertui bench --model resnet18 --size 48 --batch 3 --runs 200 --json
          fertui bench --model runs/best.safetensors --size 48
          fertui bench --model all --size 48 --dense
        """

    static func run(_ args: [String]) throws -> Int32 {
        // The live pipeline (PipelineBench.swift).
        if args.contains("--pipeline") { return try PipelineBench.run(args) }
        var a = Arguments(
            args,
            valueOptions: [
                "--model", "--models-dir", "--size", "--batch", "--threads", "--runs",
                "--warmup", "--winograd-min-tiles", "--split-macs", "--split-floats",
            ])
        let model = try a.value("--model") ?? "resnet18"
        let modelsDir = try a.value("--models-dir")
        let size = try a.int("--size", default: 224, in: 32...4096)
        let batch = try a.int("--batch", default: 1, in: 1...1024)
        let threads = try a.int("--threads", default: 2, in: 1...256)
        let runs = try a.int("--runs", default: 30, in: 1...100_000)
        let warmup = try a.int("--warmup", default: 5, in: 0...100_000)
        let json = a.flag("--json")
        let defaults = EngineOptions(threads: threads)
        var options = defaults
        options.skipZeros = !a.flag("--dense")
        options.winogradMinTiles = try a.int(
            "--winograd-min-tiles", default: defaults.winogradMinTiles,
            in: 1...Int.max)
        if a.flag("--no-winograd") { options.winogradMinTiles = .max }
        options.splitMACs = try a.int("--split-macs", default: defaults.splitMACs, in: 1...Int.max)
        options.splitFloats = try a.int("--split-floats", default: defaults.splitFloats, in: 1...Int.max)
        try a.finish(command: "bench")
        guard a.positionals.isEmpty else {
            throw UsageError(
                message:
                    "unexpected argument '\(a.positionals[0])': "
                    + "fertui bench takes options only (see 'fertui bench --help')"
            )
        }

        let names = model == "all" ? ModelCatalog.names + [ExpressionModels.ensembleName] : [model]
        if !ExpressionModels.names.contains(model) && model != "all" && !model.hasSuffix(".safetensors")
            && !model.contains("/")
        {
            throw UsageError(
                message: "--model \(model): expected resnet18, resnet34, resnet50, ensemble, all, "
                    + "or a path to a .safetensors file")
        }
        for name in names {
            // The ensemble's forward is its three members' forwards on the same input.
            let members = name == ExpressionModels.ensembleName ? ModelCatalog.names : [name]
            let loaded = try members.map {
                try ResNet.load(
                    $0, modelsDir: modelsDir, weights: .seededWhenMissing(inputSize: size), options: options)
            }
            let nets = loaded.map(\.network)
            let weights = Set(loaded.map(\.origin.rawValue)).sorted().joined(separator: "+")
            let r = try measure(nets, size: size, batch: batch, runs: runs, warmup: warmup)
            let label = ExpressionModels.names.contains(name) ? name : nets[0].info.arch
            let kept = nets.map(\.keptWeightFraction).reduce(0, +) / Double(nets.count)
            if json {
                print(
                    "{\"model\":\"\(label)\",\"size\":\(size),\"batch\":\(batch),\"threads\":\(threads),"
                        + "\"median_ms\":\(String(format: "%.3f", r.median)),"
                        + "\"p90_ms\":\(String(format: "%.3f", r.p90)),"
                        + "\"runs\":\(runs),\"weights\":\"\(weights)\",\"kept\":\(String(format: "%.3f", kept)),"
                        + "\"dense\":\(!options.skipZeros),\"blas\":\"\(BLASCore.current)\"}")
            } else {
                print(
                    String(
                        format:
                            "%@  input %d  batch %d  threads %d  median %.2f ms  p90 %.2f ms  (%d runs, %@ weights, "
                            + "%.0f%% kept, OpenBLAS %@)",
                        label.padding(toLength: 9, withPad: " ", startingAt: 0), size, batch, threads, r.median, r.p90,
                        runs, weights,
                        100 * kept, BLASCore.current))
            }
        }
        return 0
    }

    /// Median and 90th-percentile milliseconds of `runs` forwards after `warmup` untimed ones, on
    /// what fertui feeds the engine: a gray image in all three channels (`Training/bench.py`
    /// gives PyTorch and ONNX Runtime the same).
    static func measure(_ nets: [ResNet], size: Int, batch: Int, runs: Int, warmup: Int) throws -> (
        median: Double, p90: Double
    ) {
        let planes = SeededWeights.input(batch: batch, side: size, seed: 3)
        let hw = size * size
        var input = [Float]()
        input.reserveCapacity(planes.count)
        for b in 0..<batch { for _ in 0..<3 { input += planes[(b * 3 * hw)..<(b * 3 * hw + hw)] } }
        var times: [Double] = []
        times.reserveCapacity(runs)
        try input.withUnsafeBufferPointer { buffer in
            for _ in 0..<warmup { for net in nets { _ = try net.logits(buffer, batch: batch) } }
            for _ in 0..<runs {
                let t0 = DispatchTime.now().uptimeNanoseconds
                for net in nets { _ = try net.logits(buffer, batch: batch) }
                times.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6)
            }
        }
        times.sort()
        let median =
            times.count % 2 == 1 ? times[times.count / 2] : (times[times.count / 2 - 1] + times[times.count / 2]) / 2
        let p90 = times[min(times.count - 1, Int((Double(times.count) * 0.9).rounded(.up)) - 1)]
        return (median, p90)
    }
}
