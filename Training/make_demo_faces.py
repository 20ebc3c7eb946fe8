"""Makes the demo source's faces: one class-average FER-2013 face per expression.

Each training image is brought to the same brightness and contrast (zero mean, unit std), the
images of a class are averaged, and the average is stretched back to 0..255 and sharpened a
little (an average of thousands of faces is soft). The result, seven 48x48 gray PNGs named after
the classes, is small enough to commit in Assets/demo/; no dataset image is copied.

    python3 Training/make_demo_faces.py [--data ../shared/fer2013/train] [--out Assets/demo]
"""
import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fertrain.data import load_folder  # noqa: E402

CLASSES = ["angry", "disgust", "fear", "happy", "neutral", "sad", "surprise"]
VERSION = 1


def class_average(images):
    x = images.astype(np.float64)
    x -= x.mean(axis=(1, 2), keepdims=True)
    x /= x.std(axis=(1, 2), keepdims=True) + 1e-6
    avg = x.mean(axis=0)
    lo, hi = np.percentile(avg, [1, 99])
    return np.clip((avg - lo) / (hi - lo) * 255, 0, 255).astype(np.uint8)


def main():
    here = Path(__file__).resolve().parent.parent
    default_data = Path(os.environ.get("FER2013_DIR", here.parent / "shared" / "fer2013")) / "train"
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(default_data), help="class-folder training set")
    ap.add_argument("--out", default=str(here / "Assets" / "demo"))
    ap.add_argument("--sharpen", type=float, default=120, help="unsharp-mask percent (0: none)")
    args = ap.parse_args()

    images, labels = load_folder(args.data, CLASSES)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    counts = {}
    for k, name in enumerate(CLASSES):
        sel = images[labels == k]
        if len(sel) == 0:
            raise SystemExit(f"{args.data}/{name} has no images: the demo needs every class")
        face = Image.fromarray(class_average(sel), mode="L")
        if args.sharpen > 0:
            face = face.filter(ImageFilter.UnsharpMask(radius=2, percent=int(args.sharpen), threshold=0))
        face.save(out / f"{name}.png")
        counts[name] = int(len(sel))
        print(f"{name}: average of {len(sel)} faces -> {out / (name + '.png')}")
    (out / "demo.json").write_text(json.dumps(
        {"version": VERSION, "size": 48, "classes": CLASSES, "images_per_class": counts,
         "made_by": "Training/make_demo_faces.py", "sharpen_percent": args.sharpen}, indent=1) + "\n")


if __name__ == "__main__":
    main()
