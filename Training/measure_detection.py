"""Face detection and tracking measured against hand or generated boxes.

  photos: recall, precision and false positives at IoU >= 0.5 on the faces-dlib photos
          (testing.xml + training.xml), for `fertui predict`'s search (each photo a still, full
          size) and for the monitor's schedule (each photo played as a one-second still clip;
          its last frame counts), with detect times.
  videos: for each clip.avi with clip.json beside it (Training/make_test_videos.py): the share
          of visible faces boxed (IoU >= 0.5), id switches per face per minute, ids per face,
          false boxes per frame, detect times.

Runs `fertui detect` (release build) and reads its JSON lines; extra fertui options go after --.

Usage: python3 Training/measure_detection.py photos [--dlib ../shared/faces-dlib] [-- --min-neighbors 5]
       python3 Training/measure_detection.py videos --videos /tmp/videos [-- --hold 0]
       python3 Training/measure_detection.py log --truth clip.json --log run.jsonl  (a monitor --log)
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

FERTUI = os.environ.get("FERTUI", ".build/release/fertui")


def iou(a, b):
    ix = max(0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union > 0 else 0


def match(truth, found, threshold=0.5):
    """Greedy best-IoU matching: {truth index: found index}."""
    pairs = sorted(((iou(t, f), i, j) for i, t in enumerate(truth) for j, f in enumerate(found)), reverse=True)
    used_t, used_f, out = set(), set(), {}
    for v, i, j in pairs:
        if v < threshold:
            break
        if i in used_t or j in used_f:
            continue
        used_t.add(i)
        used_f.add(j)
        out[i] = j
    return out


def run_detect(source, extra):
    """fertui detect's lines for a source, and its stderr summary."""
    with tempfile.NamedTemporaryFile(suffix=".jsonl", delete=False) as tmp:
        log = tmp.name
    try:
        r = subprocess.run([FERTUI, "detect", "--source", source, "--log", log] + extra, capture_output=True, text=True)
        if r.returncode != 0:
            sys.exit(f"fertui detect failed on {source}: {r.stderr.strip()}")
        with open(log) as fh:
            return [json.loads(line) for line in fh if line.strip()], r.stderr.strip()
    finally:
        os.unlink(log)


def dlib_truth(folder):
    truth = {}
    for name in ("testing.xml", "training.xml"):
        for image in ET.parse(os.path.join(folder, name)).getroot().iter("image"):
            truth[image.get("file")] = [(int(b.get("left")), int(b.get("top")), int(b.get("width")),
                                         int(b.get("height"))) for b in image.iter("box")]
    return truth


def score_photos(truth, found_by_file):
    tp = fp = total = 0
    missed = []
    for name, boxes in truth.items():
        found = found_by_file.get(name, [])
        m = match(boxes, found)
        tp += len(m)
        total += len(boxes)
        fp += len(found) - len(m)
        missed += [(name, b) for i, b in enumerate(boxes) if i not in m]
    return tp, total, fp, missed


def photos(args, extra):
    import cv2  # only the monitor-schedule measurement writes clips

    truth = dlib_truth(args.dlib)
    # predict's search: every photo a still at full size.
    lines, summary = run_detect(args.dlib, ["--stills"] + extra)
    found = {os.path.basename(l["origin"]): [f["box"] for f in l["faces"]] for l in lines}
    tp, total, fp, missed = score_photos(truth, found)
    ms = [l["ms"] for l in lines]
    cpu = [l["cpu_ms"] for l in lines]
    print(f"predict (stills, full size): recall {tp}/{total} = {tp / total:.3f}, precision {tp}/{tp + fp} = "
          f"{tp / max(1, tp + fp):.3f}, false positives {fp}; detect median {statistics.median(ms):.1f} ms, "
          f"max {max(ms):.1f} ms per photo (CPU median {statistics.median(cpu):.1f} ms)")
    for name, b in missed:
        print(f"  missed {name} {b}")

    # The monitor's schedule: each photo as a one-second clip; what it shows on the last frame.
    found, times, cpu_times = {}, [], []
    with tempfile.TemporaryDirectory() as tmp:
        for name in truth:
            image = cv2.imread(os.path.join(args.dlib, name))
            clip = os.path.join(tmp, name + ".avi")
            writer = cv2.VideoWriter(clip, cv2.VideoWriter_fourcc(*"MJPG"), 30, (image.shape[1], image.shape[0]))
            for _ in range(30):
                writer.write(image)
            writer.release()
            lines, _ = run_detect(clip, extra)
            found[name] = [f["box"] for f in lines[-1]["faces"]]
            times += [l["ms"] for l in lines]
            cpu_times += [l["cpu_ms"] for l in lines]
    tp, total, fp, missed = score_photos(truth, found)
    print(f"monitor schedule (1 s still clip, last frame): recall {tp}/{total} = {tp / total:.3f}, precision "
          f"{tp}/{tp + fp} = {tp / max(1, tp + fp):.3f}, false positives {fp}; detect median "
          f"{statistics.median(times):.1f} ms, p90 {sorted(times)[len(times) * 9 // 10]:.1f} ms per frame (CPU median "
          f"{statistics.median(cpu_times):.1f} ms)")
    for name, b in missed:
        print(f"  missed {name} {b}")


def inside(box, width, height):
    """Share of the box inside the frame."""
    x, y, w, h = box
    ix = max(0, min(width, x + w) - max(0, x))
    iy = max(0, min(height, y + h) - max(0, y))
    return ix * iy / max(1, w * h)


def score_clip(truth, lines, min_inside=0.8, detail=None):
    """Coverage, id switches per face-minute, ids per face, false boxes per frame. A face counts
    as visible when at least `min_inside` of its box is in the frame (a cascade cannot find half a
    face); boxes on faces partly out (the generator lists them from half inside) are not false."""
    fps = truth["fps"]
    width, height = truth["width"], truth["height"]
    by_frame = {l["frame"]: l for l in lines}
    boxed = visible = false_boxes = held_hits = 0
    last_id, switches, ids, seen_frames = {}, 0, {}, {}
    after_first = after_first_boxed = 0  # visible faces from the frame each was first boxed on
    # Only the frames the run covered (a --frames limit).
    for i, faces in enumerate(truth["frames"][:max(by_frame) + 1]):
        line = by_frame.get(i, {"faces": []})
        found = [f["box"] for f in line["faces"]]
        m_all = match([f["box"] for f in faces], found)
        partial = {j for i, j in m_all.items() if inside(faces[i]["box"], width, height) < min_inside}
        faces = [f for f in faces if inside(f["box"], width, height) >= min_inside]
        m = match([f["box"] for f in faces], found)
        visible += len(faces)
        boxed += len(m)
        false_boxes += len(found) - len(m) - len(partial - set(m.values()))
        for ti, f in enumerate(faces):
            if f["face"] in last_id or ti in m:
                after_first += 1
                after_first_boxed += 1 if ti in m else 0
        for ti, fj in m.items():
            k = faces[ti]["face"]
            fid = line["faces"][fj]["id"]
            held_hits += 1 if line["faces"][fj].get("held") else 0
            if k in last_id and last_id[k] != fid:
                switches += 1
                if detail is not None:
                    detail.append(f"frame {i}: face {k} id {last_id[k]} -> {fid}")
            last_id[k] = fid
            ids.setdefault(k, set()).add(fid)
        for ti, f in enumerate(faces):
            seen_frames[f["face"]] = seen_frames.get(f["face"], 0) + 1
            if detail is not None and ti not in m:
                detail.append(f"frame {i}: face {f['face']} missed at {f['box']}")
    minutes = sum(seen_frames.values()) / fps / 60
    if detail is not None:
        missed = {}
        for line in detail:
            if " missed at " in line:
                k = line.split(" face ")[1].split()[0]
                missed[k] = missed.get(k, 0) + 1
        for k, n in sorted(seen_frames.items()):
            detail.append(f"face {k}: boxed {1 - missed.get(str(k), 0) / n:.3f} of {n} visible frames")
    return {"coverage": boxed / max(1, visible), "switches_per_face_min": switches / max(1e-9, minutes),
            "switches": switches, "ids_per_face": statistics.mean(len(v) for v in ids.values()) if ids else 0,
            "after_first": after_first_boxed / max(1, after_first),
            "false_per_frame": false_boxes / max(1, min(len(truth["frames"]), max(by_frame) + 1)), "held_share": held_hits / max(1, boxed)}


def videos(args, extra):
    names = sorted(f[:-4] for f in os.listdir(args.videos) if f.endswith(".avi"))
    print(f"{'clip':22} {'coverage':>8} {'after1st':>8} {'sw/face/min':>11} {'ids/face':>8} {'false/fr':>8} {'held':>5} "
          f"{'det med':>7} {'det p90':>7} {'cpu med':>7} {'cpu p90':>7}")
    for name in names:
        with open(os.path.join(args.videos, name + ".json")) as fh:
            truth = json.load(fh)
        lines, _ = run_detect(os.path.join(args.videos, name + ".avi"), extra)
        detail = [] if args.detail else None
        s = score_clip(truth, lines, detail=detail)
        ms = sorted(l["ms"] for l in lines)
        cpu = sorted(l["cpu_ms"] for l in lines)
        print(f"{name:22} {s['coverage']:8.3f} {s['after_first']:8.3f} {s['switches_per_face_min']:11.2f} {s['ids_per_face']:8.2f} "
              f"{s['false_per_frame']:8.3f} {s['held_share']:5.2f} {statistics.median(ms):7.2f} "
              f"{ms[len(ms) * 9 // 10]:7.2f} {statistics.median(cpu):7.2f} {cpu[len(cpu) * 9 // 10]:7.2f}")
        for line in detail or []:
            print("   ", line)


def log(args, _extra):
    with open(args.truth) as fh:
        truth = json.load(fh)
    with open(args.log) as fh:
        lines = [json.loads(line) for line in fh if line.strip()]
    s = score_clip(truth, lines)
    times = [l["t"] for l in lines if "t" in l]
    steps = sorted(b - a for a, b in zip(times, times[1:]))
    print(json.dumps(s), f"frame-to-frame median {1000 * statistics.median(steps):.1f} ms" if steps else "")


def main():
    argv = sys.argv[1:]
    extra = []
    if "--" in argv:
        i = argv.index("--")
        argv, extra = argv[:i], argv[i + 1:]
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="what", required=True)
    p = sub.add_parser("photos")
    p.add_argument("--dlib", default="../shared/faces-dlib")
    v = sub.add_parser("videos")
    v.add_argument("--videos", required=True)
    v.add_argument("--detail", action="store_true", help="list each missed face-frame and id switch")
    g = sub.add_parser("log")
    g.add_argument("--truth", required=True)
    g.add_argument("--log", required=True)
    args = ap.parse_args(argv)
    {"photos": photos, "videos": videos, "log": log}[args.what](args, extra)


if __name__ == "__main__":
    main()
