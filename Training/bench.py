"""Engine latency side by side: fertui's engine, PyTorch eager and ONNX Runtime (when importable),
same model, input size, batch and thread count; one table with the ratios.

    python3 Training/bench.py --fertui .build/release/fertui [--sizes 224,48] [--models all]
        [--batch 1] [--threads 2] [--runs 30]

Weights: fertui uses the shipped model when present (else seeded random weights); PyTorch and ONNX
Runtime use the same shipped file when present, else random weights. Their latency does not depend
on the values; fertui's does, as it skips the filters and input channels whose weights are all zero
(most of the trained ResNet18's and ResNet34's). The "fertui dense" column turns that off
(`fertui bench --dense`): what any weights of the architecture cost. The input is what fertui feeds
the engine, a gray image in all three channels (fertui's stem then sums conv1 over the channels).
Timings are medians after a warm-up."""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ARCHS = ("resnet18", "resnet34", "resnet50")


def fertui_bench(exe, arch, size, batch, threads, runs, dense=False):
    cmd = [exe, "bench", "--model", arch, "--size", str(size), "--batch", str(batch),
           "--threads", str(threads), "--runs", str(runs), "--json"] + (["--dense"] if dense else [])
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def torch_model(arch):
    import torchvision
    path = ROOT / "Assets/models" / f"{arch}.safetensors"
    model = getattr(torchvision.models, arch)(weights=None, num_classes=7)
    if path.exists():
        from safetensors.torch import load_file
        state = {k: (v.float() if v.is_floating_point() else v) for k, v in load_file(str(path)).items()}
        model = getattr(torchvision.models, arch)(weights=None, num_classes=state["fc.weight"].shape[0])
        model.load_state_dict(state)
    return model.eval()


def percentiles(times):
    times = sorted(times)
    p90 = times[min(len(times) - 1, int(len(times) * 0.9 + 0.999) - 1)]
    return statistics.median(times) * 1000, p90 * 1000


def time_calls(fn, runs, warmup=5):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return percentiles(times)


def torch_bench(model, x, runs):
    import torch
    with torch.inference_mode():
        return time_calls(lambda: model(x), runs)


def onnx_bench(model, x, threads, runs, tmpdir):
    """None with a note when ONNX Runtime or the exporter is unavailable."""
    try:
        import onnxruntime as ort
    except ImportError:
        return None, "onnxruntime not installed (pip install onnxruntime onnx)"
    import torch
    path = Path(tmpdir) / f"model-{x.shape[-1]}-{x.shape[0]}.onnx"
    try:
        with torch.inference_mode(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(model, (x,), str(path), input_names=["x"], output_names=["y"], dynamo=False)
    except Exception as e:  # the exporter needs the onnx package, and versions vary
        return None, f"torch.onnx.export failed: {type(e).__name__}: {str(e).splitlines()[0][:120]}"
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    feed = {"x": x.numpy()}
    return time_calls(lambda: sess.run(None, feed), runs), None


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--fertui", default=str(ROOT / ".build/release/fertui"), help="the fertui executable")
    p.add_argument("--sizes", default="224,48", help="comma-separated input sides")
    p.add_argument("--models", default="all", help="all or a comma-separated subset of " + ",".join(ARCHS))
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--runs", type=int, default=30)
    p.add_argument("--json", action="store_true", help="also print every row as a JSON line")
    args = p.parse_args()

    if not Path(args.fertui).exists():
        sys.exit(f"{args.fertui} not found: build it first (make release) or pass --fertui PATH")
    archs = ARCHS if args.models == "all" else tuple(args.models.split(","))
    for a in archs:
        if a not in ARCHS:
            sys.exit(f"--models {a}: expected one of {', '.join(ARCHS)} or all")
    sizes = [int(s) for s in args.sizes.split(",")]

    os.environ["OMP_NUM_THREADS"] = str(args.threads)
    import torch
    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)

    try:
        load = os.getloadavg()[0]
    except OSError:
        load = float("nan")
    print(f"batch {args.batch}, {args.threads} threads, {args.runs} runs, median (p90) ms; "
          f"load average {load:.1f} on {os.cpu_count()} CPUs (other work inflates every column)")
    rows, notes = [], set()
    # fertui first, every case, before PyTorch has run: its OpenMP threads keep spinning for a
    # while after a call and would slow a process started right after it.
    ours = {(size, arch): (fertui_bench(args.fertui, arch, size, args.batch, args.threads, args.runs),
                           fertui_bench(args.fertui, arch, size, args.batch, args.threads, args.runs, dense=True))
            for size in sizes for arch in archs}
    with tempfile.TemporaryDirectory() as tmp:
        for size in sizes:
            for arch in archs:
                f, d = ours[(size, arch)]
                model = torch_model(arch)
                # what fertui feeds: a gray image in all three channels
                x = torch.from_numpy(__import__("numpy").random.default_rng(0)
                                     .standard_normal((args.batch, 1, size, size)).astype("float32"))
                x = x.expand(-1, 3, -1, -1).contiguous()
                t = torch_bench(model, x, args.runs)
                o, note = onnx_bench(model, x, args.threads, args.runs, tmp)
                if note:
                    notes.add(note)
                rows.append({"model": arch, "size": size, "batch": args.batch, "threads": args.threads,
                             "weights": f.get("weights", "?"), "blas": f.get("blas", "?"),
                             "fertui_ms": f["median_ms"], "fertui_p90_ms": f["p90_ms"],
                             "fertui_dense_ms": d["median_ms"], "fertui_dense_p90_ms": d["p90_ms"],
                             "torch_ms": t[0], "torch_p90_ms": t[1],
                             "onnx_ms": o[0] if o else None, "onnx_p90_ms": o[1] if o else None})

    header = (f"{'model':9} {'input':>5} {'fertui':>17} {'fertui dense':>17} {'PyTorch eager':>17} "
              f"{'ONNX Runtime':>17} {'PyTorch/fertui':>15} {'ORT/fertui':>11}")
    print(header)
    print("-" * len(header))
    for r in rows:
        def cell(m, p):
            return f"{m:7.2f} ({p:6.2f})" if m is not None else f"{'n/a':>16}"
        ort_ratio = f"{r['onnx_ms'] / r['fertui_ms']:10.2f}x" if r["onnx_ms"] else f"{'n/a':>11}"
        print(f"{r['model']:9} {r['size']:5d} {cell(r['fertui_ms'], r['fertui_p90_ms']):>17} "
              f"{cell(r['fertui_dense_ms'], r['fertui_dense_p90_ms']):>17} "
              f"{cell(r['torch_ms'], r['torch_p90_ms']):>17} {cell(r['onnx_ms'], r['onnx_p90_ms']):>17} "
              f"{r['torch_ms'] / r['fertui_ms']:14.2f}x {ort_ratio}")
    cores = sorted({r["blas"] for r in rows})
    print(f"fertui's products ran on OpenBLAS's {', '.join(cores)} kernels (fertui --version names them)")
    for n in sorted(notes):
        print(f"note: ONNX Runtime skipped: {n}")
    if args.json:
        for r in rows:
            print(json.dumps(r))


if __name__ == "__main__":
    main()
