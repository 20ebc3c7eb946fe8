"""Makes the preprocessing parity fixtures for Tests/VisionTests (PyTorch/torchvision as reference).

Each case is a real FER-2013 validation face in a gray frame (a PNG, lossless), a face box, and
the tensor torchvision makes of that crop:
    Grayscale(3) -> ToTensor -> Resize((48, 48), antialias=True)    # FER-2013's format
    -> Resize((S, S), antialias=True) when S != 48                   # the model's input size
    -> Normalize(mean, std)
(Cases use the demo's derived faces and, read at test time, real validation faces.)
The script also checks that torchvision's upsampling Resize equals what the trainer does
(Training/train.py `prepare`: F.interpolate bilinear, align_corners=False), so matching the
fixture means matching training. Tensors are stored as little-endian float32 (3, S, S).

    python3 Training/make_preprocess_fixtures.py [--fer ../shared/fer2013] [--out Tests/VisionTests/Fixtures/preprocess]
"""
import argparse
import json
import os
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torchvision import transforms as T

VERSION = 1
MEAN = [0.485, 0.456, 0.406]  # distinct per channel so a channel mix-up shows
STD = [0.229, 0.224, 0.225]


def reference(crop, size):
    """torchvision's tensor for a gray uint8 crop (H, W)."""
    steps = [T.Grayscale(3), T.ToTensor(), T.Resize((48, 48), antialias=True)]
    if size != 48:
        steps.append(T.Resize((size, size), antialias=True))
    steps.append(T.Normalize(MEAN, STD))
    return T.Compose(steps)(Image.fromarray(crop, mode="L"))


def trainer_path(face48, size):
    """What Training/train.py does to a 48x48 uint8 face (prepare + normalise)."""
    x = torch.from_numpy(face48.copy()).float().div(255)[None, None]
    if size != 48:
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
    x = x.expand(-1, 3, -1, -1)
    return (x - torch.tensor(MEAN).view(1, 3, 1, 1)) / torch.tensor(STD).view(1, 3, 1, 1)


def case(out, name, frame, box, size, where):
    x, y, w, h = box
    t = reference(frame[y:y + h, x:x + w], size).numpy().astype("<f4")
    t.tofile(out / f"{name}.f32")
    print(f"{name}: box {box} -> {tuple(t.shape)}, first values {t.ravel()[:3]}")
    return {"name": name, **where, "box": box, "input_size": size, "tensor": f"{name}.f32", "shape": list(t.shape)}


def main():
    here = Path(__file__).resolve().parent.parent
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fer", default=os.environ.get("FER2013_DIR", str(here.parent / "shared" / "fer2013")))
    ap.add_argument("--out", default=str(here / "Tests" / "VisionTests" / "Fixtures" / "preprocess"))
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(7)

    # Trainer and torchvision agree on upsampling (antialias has no effect when enlarging).
    face = np.asarray(Image.open(sorted((Path(args.fer) / "val" / "happy").glob("*.jpg"))[0]).convert("L"))
    for size in (64, 112, 224):
        a = T.Normalize(MEAN, STD)(T.Resize((size, size), antialias=True)(T.ToTensor()(Image.fromarray(face))
                                                                          .expand(3, -1, -1)))
        b = trainer_path(face, size)[0]
        diff = (a - b).abs().max().item()
        assert diff < 1e-5, f"torchvision Resize and the trainer's interpolate differ by {diff} at {size}"

    # Cases 0-2: the demo's class-average faces (Assets/demo, derived statistics, committable)
    # enlarged non-square into a noise frame and cropped back with a box that is not aligned with
    # the paste, as a detector's box would be: this exercises the antialiased downscale to 48.
    # Cases 3-4: real FER-2013 validation faces, which are never committed: the manifest names the
    # file and the sum of its decoded pixels, and the Swift test decodes it from $FER2013_DIR.
    cases = []
    for n, label in enumerate(["happy", "surprise", "angry"]):
        face = np.asarray(Image.open(here / "Assets" / "demo" / f"{label}.png").convert("L"))
        fw, fh = int(rng.integers(90, 160)), int(rng.integers(90, 160))
        big = np.asarray(Image.fromarray(face).resize((fw, fh), Image.BILINEAR))
        H, W = 200, 240
        frame = rng.integers(0, 256, size=(H, W), dtype=np.uint8)
        px, py = int(rng.integers(2, W - fw)), int(rng.integers(2, H - fh))
        frame[py:py + fh, px:px + fw] = big
        box = [px + 3, py - 2, fw - 5, fh - 1]
        Image.fromarray(frame, mode="L").save(out / f"frame{n}.png")
        for size in ((48, 112) if n == 0 else (48,)):
            cases.append(case(out, f"case{n}-{size}", frame, box, size, {"frame": f"frame{n}.png"}))
    for n, (label, k, box, sizes) in enumerate([("sad", 2, [0, 0, 48, 48], (48, 224)),
                                                ("fear", 5, [5, 4, 40, 38], (48,))], start=3):
        path = sorted((Path(args.fer) / "val" / label).glob("*.jpg"))[k]
        frame = np.asarray(Image.open(path).convert("L"))
        for size in sizes:
            cases.append(case(out, f"case{n}-{size}", frame, box, size,
                              {"fer_file": f"val/{label}/{path.name}", "fer_pixel_sum": int(frame.sum(dtype=np.int64))}))
    (out / "manifest.json").write_text(json.dumps(
        {"version": VERSION, "made_by": "Training/make_preprocess_fixtures.py", "torch": torch.__version__,
         "mean": MEAN, "std": STD, "cases": cases}, indent=1) + "\n")


if __name__ == "__main__":
    main()
