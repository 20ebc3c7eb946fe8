"""The data pack: a class-folder dataset in one file that travels to a GPU, read back as exactly
the arrays the folders give."""
import numpy as np
import pytest
from PIL import Image

from fertrain import CLASSES, data, pack


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    """train/ and val/ with JPEG and PNG faces of every class, one of them not 48x48."""
    root = tmp_path_factory.mktemp("fer")
    rng = np.random.default_rng(0)
    for split, n in (("train", 5), ("val", 2)):
        for c, name in enumerate(CLASSES):
            (root / split / name).mkdir(parents=True)
            for i in range(n):
                img = Image.fromarray(rng.integers(0, 256, (48, 48), dtype=np.uint8))
                if i == 0:
                    img.save(root / split / name / f"{split}_{i}.png")
                else:
                    img.save(root / split / name / f"{split}_{i}.jpg", quality=75)
    Image.fromarray(rng.integers(0, 256, (60, 50), dtype=np.uint8)).save(root / "train" / "sad" / "odd.jpg")
    return root


def test_a_pack_loads_as_the_folders_do(folders, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    out = tmp_path / "d.ferpack"
    header = pack.write(out, {"train": folders / "train", "val": folders / "val"}, CLASSES, workers=2)
    assert header["splits"]["train"]["count"] == 7 * 5 + 1
    for split in ("train", "val"):
        want_x, want_y = data.load_folder(folders / split, CLASSES, cache=False)
        x, y, same = pack.load(out, split, CLASSES, workers=2)
        assert same and x.dtype == np.uint8 and y.dtype == np.int64
        assert np.array_equal(x, want_x) and np.array_equal(y, want_y)
        # Again from the cache, and with the first two of each class, as load_folder limits them.
        again, _, _ = pack.load(out, split, CLASSES)
        assert np.array_equal(again, want_x)
        lx, ly, _ = pack.load(out, split, CLASSES, limit_per_class=2)
        fx, fy = data.load_folder(folders / split, CLASSES, limit_per_class=2, cache=False)
        assert np.array_equal(lx, fx) and np.array_equal(ly, fy)
    assert pack.names(out, "train")[:2] == ["angry/train_0.png", "angry/train_1.jpg"]


def test_a_pack_is_its_files_bytes_and_says_what_is_wrong(folders, tmp_path):
    out = tmp_path / "d.ferpack"
    pack.write(out, {"val": folders / "val"}, CLASSES)
    files = sum(p.stat().st_size for p in (folders / "val").rglob("*.*"))
    assert out.stat().st_size < files + 4096  # the files' own bytes (compressed), an index, a header
    with pytest.raises(SystemExit, match="holds classes"):
        pack.load(out, "val", CLASSES[::-1], cache=False)
    with pytest.raises(SystemExit, match="no split 'train'"):
        pack.load(out, "train", CLASSES, cache=False)
    (tmp_path / "bad").write_bytes(b"PK\x03\x04 not a pack")
    with pytest.raises(SystemExit, match="not a fertui data pack"):
        pack.load(tmp_path / "bad", "val", CLASSES)
