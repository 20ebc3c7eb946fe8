"""set_views.py: a file's default test-time views are written only when they gain what the rule
asks on the data, the tensors untouched, and evaluate.py then sees the file through them."""
import json

import evaluate
import set_views
from fertrain import export

from test_training import exported_teacher


def run(dataset, path, views, min_gain):
    return set_views.main(["--data", str(dataset / "val"), "--model", str(path), "--views", views,
                           "--min-gain", str(min_gain)])


def test_the_set_is_written_only_when_it_gains_enough(dataset, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    path = exported_teacher(tmp_path / "m.safetensors", seed=5)
    body = export.tensor_bytes(path)
    assert run(dataset, path, "shifts", 100) == 1  # no set gains 100 points
    assert "not written" in capsys.readouterr().out
    assert "test_views" not in export.read_metadata(path)
    assert run(dataset, path, "shifts", -100) == 0
    assert export.read_metadata(path)["test_views"] == "shifts"
    assert export.tensor_bytes(path) == body
    assert evaluate.view_set_of(export.read_metadata(path)) == "shifts"
    assert evaluate.view_set_of(export.read_metadata(path), "zoom") == "zoom"
    assert run(dataset, path, "mirror", 0) == 0  # the mirror removes the key
    assert "test_views" not in export.read_metadata(path)
    assert evaluate.view_set_of(export.read_metadata(path)) == "mirror"


def test_evaluate_sees_a_file_through_the_views_it_names(dataset, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    path = exported_teacher(tmp_path / "m.safetensors", seed=5)
    export.update_metadata(path, {"tta_flip": "true"})

    def probs(*extra):
        evaluate.main(["--data", str(dataset / "val"), "--model", str(path), "--json", *extra])
        return json.loads(capsys.readouterr().out)

    mirror, shifts = probs("--views", "mirror"), probs("--views", "shifts")
    assert mirror != shifts
    assert probs() == mirror
    export.update_metadata(path, {"test_views": "shifts"})
    assert probs() == shifts
    assert probs("--views", "mirror") == mirror
