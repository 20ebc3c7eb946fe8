"""The engine's parity fixtures agree with the script that makes them: same version, same seeded
generator (the one Sources/Engine/SeededWeights.swift mirrors), same PyTorch logits."""
import json
from pathlib import Path

import numpy as np
import torch

import make_engine_fixtures as fx

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "Tests/EngineTests/Fixtures/engine_parity.json"


def load():
    return json.loads(FIXTURE.read_text())


def test_version_matches_script():
    assert load()["version"] == fx.FIXTURE_VERSION, "rerun `make fixtures`"


def test_generator_constants():
    assert fx.fnv1a64("") == 0xCBF29CE484222325
    assert fx.fnv1a64("a") == 0xAF63DC4C8601EC8C
    v = fx.uniform("x", 10000, -1.0, 1.0, 3)
    assert v.dtype == np.float32 and v.min() >= -1.0 and v.max() < 1.0
    assert abs(float(v.mean())) < 0.03, "the generator should be roughly uniform"
    assert not np.array_equal(v, fx.uniform("x", 10000, -1.0, 1.0, 4)), "the seed must matter"
    assert np.array_equal(fx.uniform("x", 5, -1.0, 1.0, 3), v[:5]), "a shorter tensor is a prefix"


def test_generator_checks_reproduce():
    fixture = load()
    for check in (c for c in fixture["generator_checks"] if c["arch"] == "resnet18"):
        state = fx.seeded_model("resnet18", fixture["seed"], fixture["classes"]).state_dict()
        v = state[check["name"]].reshape(-1)
        assert v[:4].tolist() == check["first"], check["name"]
        assert abs(float(v.double().sum()) - check["sum"]) <= 1e-9 * max(1.0, abs(check["sum"]))


def test_resnet18_logits_reproduce():
    fixture = load()
    torch.set_num_threads(1)
    case = next(c for c in fixture["cases"] if c["arch"] == "resnet18" and c["size"] == 48 and c["batch"] == 1)
    model = fx.seeded_model("resnet18", fixture["seed"], fixture["classes"])
    got = fx.logits(model, fx.seeded_input(1, 48, fixture["seed"]))
    assert np.allclose(got, case["logits"], atol=1e-5), (got, case["logits"])


def test_shipped_models_have_current_fixtures():
    """Every shipped model has logits recorded for exactly its current content."""
    recorded = {s["file"]: s for s in load()["shipped"]}
    for arch in fx.ARCHS:
        path = ROOT / "Assets/models" / f"{arch}.safetensors"
        if not path.exists():
            assert path.name not in recorded, f"{path} is missing but has a fixture: rerun `make fixtures`"
            continue
        assert path.name in recorded, f"{path} has no fixture: rerun `make fixtures`"
        assert recorded[path.name]["sha256"] == fx.file_sha256(path), f"{path} changed: rerun `make fixtures`"


def test_file_sha256_is_sha256(tmp_path):
    p = tmp_path / "abc"
    p.write_bytes(b"abc")
    assert fx.file_sha256(p) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
