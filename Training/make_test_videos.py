"""Test videos for face detection and tracking, with ground-truth boxes per frame.

Scenes are made from the faces-dlib photos (hand boxes, camera pans and zooms over the photo)
and from FER-2013 faces composited onto textured backgrounds (faces that move, enter and leave,
are briefly covered, under dim stage-like light), and a hand-held phone-like clip (shake, motion
blur, exposure drift, noise, heavy JPEG). Each video (MJPG .avi, 30 fps) gets a JSON file
beside it: {"fps":…, "width":…, "height":…, "frames":[[{"face":k,"box":[x,y,w,h]}, …], …]},
listing every face at least half inside the frame and not covered.

Usage: python3 Training/make_test_videos.py --out /tmp/videos [--dlib ../shared/faces-dlib]
       [--fer ../shared/fer2013/val]
The videos are large: write them outside the repository.
"""

import argparse
import json
import os
import xml.etree.ElementTree as ET

import cv2
import numpy as np

FPS = 30
CASCADE = os.path.join(getattr(cv2, "data", None) and cv2.data.haarcascades or "/usr/share/opencv4/haarcascades/",
                       "haarcascade_frontalface_default.xml")


def dlib_boxes(folder):
    """{file: [(x, y, w, h), …]} from testing.xml and training.xml."""
    boxes = {}
    for name in ("testing.xml", "training.xml"):
        for image in ET.parse(os.path.join(folder, name)).getroot().iter("image"):
            boxes[image.get("file")] = [(int(b.get("left")), int(b.get("top")), int(b.get("width")),
                                         int(b.get("height"))) for b in image.iter("box")]
    return boxes


def texture(width, height, rng):
    """A smooth coloured background with some soft shapes, different for each seed."""
    small = rng.integers(30, 200, size=(max(2, height // 40), max(2, width // 40), 3)).astype(np.uint8)
    bg = cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC)
    for _ in range(12):
        c = tuple(int(v) for v in rng.integers(0, 255, 3))
        centre = (int(rng.integers(0, width)), int(rng.integers(0, height)))
        cv2.circle(bg, centre, int(rng.integers(10, height // 4)), c, -1)
    bg = cv2.GaussianBlur(bg, (0, 0), 3)
    noise = rng.normal(0, 4, bg.shape)
    return np.clip(bg.astype(np.float32) + noise, 0, 255).astype(np.uint8)


def findable_fer_faces(fer, count, rng):
    """FER-2013 faces the default cascade finds on their own when enlarged to 120 px: the videos
    measure scheduling and tracking, not which 48x48 crops look like faces to a Haar cascade."""
    cascade = cv2.CascadeClassifier(CASCADE)
    files = []
    for cls in sorted(os.listdir(fer)):
        d = os.path.join(fer, cls)
        files += [os.path.join(d, f) for f in sorted(os.listdir(d))]
    rng.shuffle(files)
    faces = []
    for path in files:
        face = cv2.imread(path, cv2.IMREAD_GRAYSCALE)
        big = cv2.resize(face, (120, 120), interpolation=cv2.INTER_CUBIC)
        canvas = np.full((200, 200), 128, np.uint8)
        canvas[40:160, 40:160] = big
        if len(cascade.detectMultiScale(canvas, 1.1, 5, minSize=(60, 60))) == 1:
            faces.append(face)
        if len(faces) == count:
            break
    return faces


def paste(frame, face, box):
    """Pastes a gray face resized to box (x, y, s, s), clipped to the frame, blending its edge."""
    x, y, s, _ = box
    h, w = frame.shape[:2]
    img = cv2.resize(face, (s, s), interpolation=cv2.INTER_CUBIC)
    # A soft border so the square's edge is not a strong Haar feature of its own.
    mask = np.zeros((s, s), np.float32)
    m = max(1, s // 12)
    mask[m:-m, m:-m] = 1
    mask = cv2.GaussianBlur(mask, (0, 0), m / 2 + 0.1)[..., None]
    x0, y0, x1, y1 = max(0, x), max(0, y), min(w, x + s), min(h, y + s)
    if x1 <= x0 or y1 <= y0:
        return
    region = frame[y0:y1, x0:x1].astype(np.float32)
    patch = np.repeat(img[y0 - y:y1 - y, x0 - x:x1 - x, None], 3, axis=2).astype(np.float32)
    mk = mask[y0 - y:y1 - y, x0 - x:x1 - x]
    frame[y0:y1, x0:x1] = (patch * mk + region * (1 - mk)).astype(np.uint8)


def visible(box, width, height):
    """True when at least half of the box lies inside the frame."""
    x, y, w, h = box
    ix = max(0, min(width, x + w) - max(0, x))
    iy = max(0, min(height, y + h) - max(0, y))
    return ix * iy >= 0.5 * w * h


def write(out, name, frames, truth, width, height):
    path = os.path.join(out, name + ".avi")
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*"MJPG"), FPS, (width, height))
    for f in frames:
        writer.write(f)
    writer.release()
    with open(os.path.join(out, name + ".json"), "w") as fh:
        json.dump({"fps": FPS, "width": width, "height": height, "frames": truth}, fh)
    print(f"{path}: {len(frames)} frames, {sum(len(t) for t in truth)} face boxes")


def camera_over_photo(photo, boxes, width, height, frames, path, degrade=None):
    """A virtual camera over a photo: path(t) gives (cx, cy, zoom) in photo pixels, zoom = output
    pixels per photo pixel. degrade(frame, i, (dx, dy)) may spoil each frame (dx, dy: the image's
    motion since the last frame, pixels). Returns frames and ground truth."""
    out, truth = [], []
    last = None
    for i in range(frames):
        cx, cy, zoom = path(i / (frames - 1))
        # Affine map photo -> frame.
        m = np.array([[zoom, 0, width / 2 - zoom * cx], [0, zoom, height / 2 - zoom * cy]], np.float32)
        frame = cv2.warpAffine(photo, m, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        if degrade is not None:
            motion = (0.0, 0.0) if last is None else (m[0, 2] - last[0], m[1, 2] - last[1])
            frame = degrade(frame, i, motion)
        last = (m[0, 2], m[1, 2])
        out.append(frame)
        t = []
        for k, (x, y, w, h) in enumerate(boxes):
            b = [round(zoom * x + m[0, 2]), round(zoom * y + m[1, 2]), round(zoom * w), round(zoom * h)]
            if visible(b, width, height):
                t.append({"face": k, "box": b})
        truth.append(t)
    return out, truth


def composited(faces, width, height, frames, tracks, rng, occluders=(), light=None):
    """FER faces moving over a background. tracks[k](t) -> (x, y, side) or None (not in the scene);
    occluders: (start, end, x0, x1) frame ranges where a bar sweeps across from x0 to x1."""
    bg = texture(width, height, rng)
    out, truth = [], []
    for i in range(frames):
        t = i / (frames - 1)
        frame = bg.copy()
        boxes = {}
        for k, track in enumerate(tracks):
            place = track(t)
            if place is None:
                continue
            x, y, s = (int(round(v)) for v in place)
            paste(frame, faces[k], (x, y, s, s))
            boxes[k] = [x, y, s, s]
        covered = set()
        for (start, end, x0, x1, y0, y1) in occluders:
            if start <= i < end:
                bx = int(x0 + (x1 - x0) * (i - start) / max(1, end - start))
                bar = (bx, y0, width // 10, y1 - y0)
                cv2.rectangle(frame, (bar[0], bar[1]), (bar[0] + bar[2], bar[1] + bar[3]), (60, 70, 80), -1)
                for k, b in boxes.items():
                    ix = max(0, min(b[0] + b[2], bar[0] + bar[2]) - max(b[0], bar[0]))
                    iy = max(0, min(b[1] + b[3], bar[1] + bar[3]) - max(b[1], bar[1]))
                    if ix * iy > 0.3 * b[2] * b[3]:
                        covered.add(k)
        if light is not None:
            frame = light(frame, t)
        out.append(frame)
        truth.append([{"face": k, "box": b} for k, b in sorted(boxes.items())
                      if k not in covered and visible(b, width, height)])
    return out, truth


def handheld(rng):
    """What a phone or webcam adds: blur along the motion, auto-exposure drift, sensor noise and a
    low-quality JPEG pass (streaming codecs smear faces the same way)."""
    def degrade(frame, i, motion):
        dx, dy = motion
        length = int(round(np.hypot(dx, dy)))
        if length >= 2:
            kernel = np.zeros((2 * length + 1, 2 * length + 1), np.float32)
            c = length
            cv2.line(kernel, (int(round(c - dx / 2)), int(round(c - dy / 2))),
                     (int(round(c + dx / 2)), int(round(c + dy / 2))), 1.0, 1)
            frame = cv2.filter2D(frame, -1, kernel / kernel.sum())
        gain = 1.0 + 0.18 * np.sin(2 * np.pi * i / 70)
        noisy = frame.astype(np.float32) * gain + rng.normal(0, 6, frame.shape)
        frame = np.clip(noisy, 0, 255).astype(np.uint8)
        ok, jpeg = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 30])
        return cv2.imdecode(jpeg, cv2.IMREAD_COLOR)
    return degrade


def stage_light(frame, t):
    """Dim, low-contrast, warm light with a moving spot: what stage footage looks like."""
    h, w = frame.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    cx = w * (0.3 + 0.4 * t)
    spot = 0.55 + 0.45 * np.exp(-((xx - cx) ** 2 + (yy - h * 0.4) ** 2) / (2 * (0.35 * w) ** 2))
    f = frame.astype(np.float32) * 0.28 * spot[..., None] + 18
    f[..., 2] *= 1.25  # red
    f[..., 0] *= 0.8   # less blue
    return np.clip(f, 0, 255).astype(np.uint8)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--dlib", default="../shared/faces-dlib")
    ap.add_argument("--fer", default="../shared/fer2013/val")
    ap.add_argument("--seconds", type=float, default=8)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    rng = np.random.default_rng(2026)
    n = int(args.seconds * FPS)
    dlib = dlib_boxes(args.dlib)

    # 1. Pan across a group photo (three large faces), 640x480.
    photo = cv2.imread(os.path.join(args.dlib, "2008_002506.jpg"))
    frames, truth = camera_over_photo(photo, dlib["2008_002506.jpg"], 640, 480, n,
                                      lambda t: (180 + 160 * np.sin(np.pi * t), 150, 1.3))
    write(args.out, "dlib_pan_640", frames, truth, 640, 480)

    # 2. Zoom in and out on a photo of seven small faces, 1280x720.
    photo = cv2.imread(os.path.join(args.dlib, "2008_004176.jpg"))
    frames, truth = camera_over_photo(photo, dlib["2008_004176.jpg"], 1280, 720, n,
                                      lambda t: (230, 150 + 20 * t, 1.6 + 1.2 * np.sin(np.pi * t)))
    write(args.out, "dlib_zoom7_1280", frames, truth, 1280, 720)

    faces = findable_fer_faces(args.fer, 12, rng)

    # 3. One face drifting and turning smaller/larger, 640x480 (the one-face timing case).
    frames, truth = composited(faces[:1], 640, 480, n,
                               [lambda t: (200 + 150 * np.sin(2 * np.pi * t), 140 + 60 * np.sin(4 * np.pi * t),
                                           110 + 40 * np.sin(2 * np.pi * t))], rng)
    write(args.out, "fer_one_640", frames, truth, 640, 480)

    # 4. Faces entering and leaving, one briefly covered by a passing bar, 640x480.
    tracks = [
        lambda t: (-120 + 900 * t, 80, 100),                          # walks in from the left, out right
        lambda t: (380, 200, 120) if t < 0.7 else None,               # leaves the scene at 70%
        lambda t: (120, 260 - 40 * t, 90) if t > 0.3 else None,       # appears at 30%
    ]
    frames, truth = composited(faces[1:4], 640, 480, n, tracks, rng, occluders=[(120, 135, 300, 520, 150, 360)])
    write(args.out, "fer_enter_leave_640", frames, truth, 640, 480)

    # 5. The same under dim stage light (equalisation matters here).
    frames, truth = composited(faces[1:4], 640, 480, n, tracks, rng, occluders=[(120, 135, 300, 520, 150, 360)],
                               light=stage_light)
    write(args.out, "fer_stage_640", frames, truth, 640, 480)

    # 6. Five people at a table, small head motions, two covered briefly, 1280x720.
    def sway(x, y, s, phase, amp=12):
        return lambda t: (x + amp * np.sin(2 * np.pi * (t * 2 + phase)), y + amp / 2 * np.cos(2 * np.pi * (t * 3 + phase)), s)
    tracks5 = [sway(120, 220, 110, 0), sway(360, 180, 95, 0.2), sway(600, 240, 120, 0.4), sway(860, 200, 90, 0.6),
               sway(1060, 260, 105, 0.8)]
    frames, truth = composited(faces[4:9], 1280, 720, n, tracks5, rng,
                               occluders=[(60, 72, 300, 420, 100, 400), (160, 170, 820, 900, 100, 400)])
    write(args.out, "fer_table5_1280", frames, truth, 1280, 720)

    # 7. Seven faces, a slow pan of the whole scene, 1280x720.
    tracks7 = [(lambda x, y, s: (lambda t: (x - 160 * t, y + 20 * np.sin(3 * t), s)))(x, y, s)
               for x, y, s in [(120, 120, 80), (330, 300, 100), (520, 110, 70), (700, 330, 110), (900, 150, 85),
                               (1100, 380, 95), (1250, 200, 80)]]
    frames, truth = composited(faces[5:12], 1280, 720, n, tracks7, rng)
    write(args.out, "fer_pan7_1280", frames, truth, 1280, 720)

    # 8. A hand-held camera over a photo of three people, 640x360 (a phone clip's size): shake,
    #    a slow zoom, blur along the motion, exposure drift, noise and a low-quality JPEG pass.
    photo = cv2.imread(os.path.join(args.dlib, "2008_001322.jpg"))
    shake = np.cumsum(rng.normal(0, 2.5, (n, 2)), axis=0) * 0.6 + rng.normal(0, 2.0, (n, 2))
    frames, truth = camera_over_photo(
        photo, dlib["2008_001322.jpg"], 640, 360, n,
        lambda t: (260 + 60 * np.sin(np.pi * t) + shake[min(n - 1, int(t * (n - 1))), 0],
                   190 + shake[min(n - 1, int(t * (n - 1))), 1], 1.1 + 0.5 * t),
        degrade=handheld(rng))
    write(args.out, "dlib_handheld_360", frames, truth, 640, 360)


if __name__ == "__main__":
    main()
