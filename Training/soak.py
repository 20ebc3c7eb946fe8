#!/usr/bin/env python3
"""Soak benchmark: fertui headless on an endless source, switching models every few seconds,
with its resident memory sampled from /proc; prints start (after warm-up), peak and end side by
side, and the drift. `make soak SOAK_SECONDS=600` runs the ten-minute version.

Usage: python3 Training/soak.py [--binary .build/release/fertui] [--seconds 600] [--cycle 2]
"""

import argparse
import json
import subprocess
import sys
import time


def resident_mb(pid):
    """VmRSS of a live process in MB, or None once it has gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except (FileNotFoundError, ProcessLookupError):
        return None
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--binary", default=".build/release/fertui")
    ap.add_argument("--seconds", type=float, default=600)
    ap.add_argument("--cycle", type=float, default=2, help="seconds between model switches")
    ap.add_argument("--warmup", type=float, default=20, help="seconds before the 'start' figure")
    ap.add_argument("--source", default="demo")
    ap.add_argument("--every", type=float, default=0.5, help="sampling interval, seconds")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    cmd = [args.binary, "--headless", "--source", args.source, "--loop", "--cycle-models", str(args.cycle),
           "--seconds", str(args.seconds)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    t0 = time.monotonic()
    samples = []  # (seconds since start, MB)
    while proc.poll() is None:
        mb = resident_mb(proc.pid)
        if mb is not None:
            samples.append((time.monotonic() - t0, mb))
        time.sleep(args.every)
    summary = proc.stderr.read().strip()
    if proc.returncode != 0 or not samples:
        print(f"soak: fertui exited {proc.returncode}: {summary}", file=sys.stderr)
        return 1
    after = [mb for t, mb in samples if t >= args.warmup] or [samples[-1][1]]
    # Which model is loaded changes the resident set from second to second, so "flat" is judged
    # on whole rotations: the peak of each span in which every model has been loaded once.
    rotation = 3 * args.cycle
    peaks, lows = {}, {}
    for t, mb in samples:
        if t >= args.warmup:
            k = int((t - args.warmup) // rotation)
            peaks[k] = max(peaks.get(k, 0), mb)
            lows[k] = min(lows.get(k, mb), mb)
    full = [peaks[k] for k in sorted(peaks)][:-1] or list(peaks.values())
    floor = [lows[k] for k in sorted(lows)][:-1] or list(lows.values())
    result = {
        "seconds": round(samples[-1][0], 1),
        "cycle_s": args.cycle,
        "samples": len(samples),
        "start_mb": round(after[0], 1),
        "peak_mb": round(max(mb for _, mb in samples), 1),
        "end_mb": round(after[-1], 1),
        "min_after_warmup_mb": round(min(after), 1),
        "max_after_warmup_mb": round(max(after), 1),
        "rotation_peaks_first_last_mb": [round(full[0], 1), round(full[-1], 1)],
        "rotation_peak_range_mb": round(max(full) - min(full), 1),
        "rotation_peak_drift_mb": round(full[-1] - full[0], 1),
        "rotation_low_range_mb": round(max(floor) - min(floor), 1),
        "rotation_low_drift_mb": round(floor[-1] - floor[0], 1),
        "fertui": summary,
    }
    if args.json:
        print(json.dumps(result))
    else:
        print(f"soak {result['seconds']} s, model switch every {args.cycle} s, {len(samples)} samples")
        print(f"  resident MB   start {result['start_mb']}   peak {result['peak_mb']}   end {result['end_mb']}"
              f"   after warm-up {result['min_after_warmup_mb']}..{result['max_after_warmup_mb']}")
        print(f"  peak of each rotation through the models ({len(full)}): first {full[0]:.1f}  last {full[-1]:.1f}"
              f"  range {result['rotation_peak_range_mb']}  drift {result['rotation_peak_drift_mb']:+}")
        print(f"  low of each rotation: first {floor[0]:.1f}  last {floor[-1]:.1f}"
              f"  range {result['rotation_low_range_mb']}  drift {result['rotation_low_drift_mb']:+}")
        print(f"  {summary}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
