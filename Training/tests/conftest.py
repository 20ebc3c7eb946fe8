"""Shared test set-up: the Training folder on the import path, and a tiny synthetic class-folder
dataset (the Kaggle FER-2013 layout) for the recipe's end-to-end tests."""
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from fertrain import CLASSES  # noqa: E402


def write_class_folders(root, suffix, per_class=6):
    """train/ and val/ with 7 classes x per_class 48x48 gray images in `root`: each class a
    different brightness gradient with seeded noise, so a model can tell them apart a little."""
    rng = np.random.default_rng(0)
    for split in ("train", "val"):
        for c, name in enumerate(CLASSES):
            (root / split / name).mkdir(parents=True)
            for i in range(per_class):
                base = np.linspace(0, 255, 48)[None, :] * (c + 1) / 7
                img = np.clip(base + rng.normal(0, 20, (48, 48)), 0, 255).astype(np.uint8)
                Image.fromarray(img).save(root / split / name / f"{split}_{i}.{suffix}")
    return root


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    """7 classes x 6 images of 48x48 gray (PNG), for the training recipe's tests."""
    return write_class_folders(tmp_path_factory.mktemp("fer"), "png")
