"""measure_crop.py's scoring: models named or given as files, accuracy with or without the
calibration map a file carries, and the ensemble of the models given."""
import numpy as np
import torch

import measure_crop as mc
from fertrain import views


class ConstantLogits(torch.nn.Module):
    """The same logits for every face."""

    def __init__(self, logits):
        super().__init__()
        self.logits = torch.tensor([logits])

    def forward(self, x):
        return self.logits.expand(x.shape[0], -1)


META = {"input_size": "48", "mean": "0.5,0.5,0.5", "std": "0.25,0.25,0.25", "classes": "a,b,c"}


def test_model_path_takes_names_and_files(tmp_path):
    assert mc.model_path("resnet34") == mc.REPO / "Assets" / "models" / "resnet34.safetensors"
    assert mc.model_path(str(tmp_path / "cand.safetensors")) == tmp_path / "cand.safetensors"


def test_cascade_names_are_opencv_datas_frontal_cascades_and_paths_pass_through():
    assert mc.cascade_path("alt2") == "/usr/share/opencv4/haarcascades/haarcascade_frontalface_alt2.xml"
    assert mc.cascade_path("default").endswith("/haarcascade_frontalface_default.xml")
    assert mc.cascade_path("/tmp/mine.xml") == "/tmp/mine.xml"


def test_scores_use_the_files_map_only_when_calibrated():
    faces = {"faces": torch.rand(4, 1, 48, 48)}
    labels = np.array([2, 2, 2, 0])
    meta = dict(META, temperature="1.0", class_bias="0,0,1.5")  # moves every face to class 2
    models = {"m": (ConstantLogits([2.0, 0.0, 1.0]), meta)}  # class 0 wins without the map
    assert mc.scores(models, faces, labels, calibrated=False, ensemble=False) == {"m": {"faces": 0.25}}
    assert mc.scores(models, faces, labels, calibrated=True, ensemble=False) == {"m": {"faces": 0.75}}


def test_the_ensemble_averages_its_members_probabilities():
    # Member a says class 0 (0.45, 0.40, 0.15), member b class 2 (0.05, 0.40, 0.55); their average
    # (0.25, 0.40, 0.35) says class 1, which neither member says.
    meta = dict(META, classes="x,y,z")
    models = {"a": (ConstantLogits(np.log([0.45, 0.40, 0.15]).tolist()), meta),
              "b": (ConstantLogits(np.log([0.05, 0.40, 0.55]).tolist()), meta)}
    inputs = {"faces": torch.rand(4, 1, 48, 48)}
    labels = np.array([1, 1, 1, 0])
    got = mc.scores(models, inputs, labels, calibrated=False, ensemble=True)
    assert got["a"]["faces"] == 0.25
    assert got["b"]["faces"] == 0.0
    assert got["ensemble"]["faces"] == 0.75
    assert "ensemble" not in mc.scores(models, inputs, labels, calibrated=False, ensemble=False)


class Recorder(torch.nn.Module):
    """Uniform logits; keeps every batch it is shown."""

    def __init__(self):
        super().__init__()
        self.seen = []

    def forward(self, x):
        self.seen.append(x.clone())
        return torch.zeros(x.shape[0], 3)


def test_views_show_the_model_every_crop_through_fertuis_test_time_views():
    face = torch.rand(2, 1, 48, 48, generator=torch.Generator().manual_seed(0))
    mirror, shifts = Recorder(), Recorder()
    mc.probabilities(mirror, META, face)
    p = mc.probabilities(shifts, META, face, view_set="shifts")
    assert len(mirror.seen) == 2 and len(shifts.seen) == 10
    assert np.allclose(p, 1 / 3)
    # Among them the face moved 2 px right, as fertui's shift view moves it (normalised as fed).
    moved = (views.apply_view(face, "shift:2,0") - 0.5) / 0.25
    assert any(torch.allclose(x[:, :1], moved) for x in shifts.seen)
    assert not any(torch.allclose(x[:, :1], moved) for x in mirror.seen)
