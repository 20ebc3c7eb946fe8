"""The parcels a GPU round's weights come back in: within the device tool's return limits, the
most wanted file first, and put back together bit for bit, or a clear error."""
import json

import numpy as np
import pytest

from fertrain import parcel


def test_parcels_respect_the_return_limits_and_reassemble_bit_exactly(tmp_path):
    rng = np.random.default_rng(1)
    sizes = {"a.safetensors": 2_500_000, "b.safetensors": 700_000, "c.safetensors": 1_900_000}
    src = tmp_path / "src"
    src.mkdir()
    for name, n in sizes.items():  # half noise (incompressible), half zeros, as sparse weights are
        (src / name).write_bytes(rng.integers(0, 256, n // 2, dtype=np.uint8).tobytes() + bytes(n - n // 2))
    limits = parcel.Limits(files=4, file_bytes=600_000, total_bytes=1_500_000, chunk_bytes=500_000, margin=100_000)
    manifest = parcel.deal([(n, src / n) for n in sizes], tmp_path / "outbox", limits,
                           first_files=1, first_bytes=200_000, round_id="r1")
    assert manifest["batches"] >= 3
    returned = []
    for k in range(1, manifest["batches"] + 1):
        got = tmp_path / f"returned-{k}"
        sent = parcel.send(tmp_path / "outbox", k, got)
        files = list(got.iterdir())
        extra = (1, 200_000) if k == 1 else (0, 0)
        assert len(files) + extra[0] <= limits.files and parcel.MANIFEST in sent
        assert sum(f.stat().st_size for f in files) + extra[1] <= limits.total_bytes
        assert all(f.stat().st_size <= limits.file_bytes for f in files)
        returned.append(got)
    assert parcel.send(tmp_path / "outbox", manifest["batches"] + 1, tmp_path / "none") == []
    # The first file's pieces come first: with batch 1 alone, it can be whole while others are not.
    first = [c["batch"] for c in manifest["files"][0]["chunks"]]
    assert first == sorted(first) and first[0] == 1

    rebuilt, missing = parcel.reassemble(returned[:1], tmp_path / "partial")
    assert missing and all(name in sizes for name in missing)
    rebuilt, missing = parcel.reassemble(returned, tmp_path / "whole")
    assert not missing and set(rebuilt) == set(sizes)
    for name, path in rebuilt.items():
        assert path.read_bytes() == (src / name).read_bytes()

    chunk = next(f for f in returned[0].iterdir() if f.name != parcel.MANIFEST)
    damaged = bytearray(chunk.read_bytes())
    damaged[len(damaged) // 2] ^= 0xFF
    chunk.write_bytes(bytes(damaged))
    with pytest.raises(SystemExit, match="do not match the manifest"):
        parcel.reassemble(returned, tmp_path / "again")
    other = json.loads((returned[1] / parcel.MANIFEST).read_text())
    other["round"] = "r2"
    (returned[1] / parcel.MANIFEST).write_text(json.dumps(other))
    with pytest.raises(SystemExit, match="different rounds"):
        parcel.find_manifest(returned)
