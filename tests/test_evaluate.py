"""Evaluation: mAP through our path, the ratio ablation (outputs, resume), FID/KID/precision-recall."""

from __future__ import annotations

import csv
import pickle

import pytest
import torch
from PIL import Image
from torch import nn

from marinegan import (
    ConfigError,
    DCGANConfig,
    Generator,
    SyntheticPlasticDataset,
    WeightsError,
    YoloDataset,
    ablate,
    quality_metrics,
)
from marinegan.evaluate import evaluate_detector, inception_extractor, precision_recall
from marinegan.toydata import make_toy_yolo


class Oracle(nn.Module):
    """Answers each image with given boxes, in dataset order (a stand-in detector, not the code under test)."""

    def __init__(self, answers: list[dict]) -> None:
        super().__init__()
        self.answers, self.i = answers, 0
        self.dummy = nn.Parameter(torch.zeros(1))

    def forward(self, images):
        out = self.answers[self.i : self.i + len(images)]
        self.i += len(images)
        return out


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    root = tmp_path_factory.mktemp("toy")
    train = YoloDataset(make_toy_yolo(root / "train", n=12, size=64, seed=0))
    val = YoloDataset(make_toy_yolo(root / "val", n=6, size=64, seed=1))
    torch.manual_seed(0)
    g = Generator(DCGANConfig(image_size=32, channels=4, ngf=8, nz=16))
    syn = SyntheticPlasticDataset(g, 40, backgrounds=train, label="bag", device="cpu")
    return train, val, syn


def test_perfect_predictions_score_map_one(toy):
    _, val, _ = toy
    answers = [{"boxes": t["boxes"].as_subclass(torch.Tensor), "labels": t["labels"],
                "scores": torch.ones(len(t["labels"]))} for _, t in (val[i] for i in range(len(val)))]
    scores = evaluate_detector(Oracle(answers), val, val.classes, batch_size=4, device="cpu", progress=False)
    assert scores["map"] == pytest.approx(1.0) and scores["map_50"] == pytest.approx(1.0)
    assert set(scores["per_class"]) == {"bottle", "bag"}
    shifted = [{**a, "boxes": a["boxes"] + 6} for a in answers]
    worse = evaluate_detector(Oracle(shifted), val, val.classes, batch_size=4, device="cpu", progress=False)
    assert worse["map"] < 0.9


def test_toy_ablation_writes_outputs_and_resumes(toy, tmp_path):
    train, val, syn = toy
    kwargs = dict(ratios=[0.5], seeds=[0], epochs=1, batch_size=4, out_dir=tmp_path / "abl", device="cpu",
                  progress=False)
    result = ablate(train, val, syn, **kwargs)
    runs = sorted(result.runs, key=lambda r: r["ratio"])
    assert [r["ratio"] for r in runs] == [0.0, 0.5]
    assert runs[0]["synthetic"] == 0 and runs[1]["synthetic"] == 12 and runs[1]["real"] == 12
    assert all(0 <= r["map"] <= 1 and 0 <= r["map_50"] <= 1 for r in runs)
    out = tmp_path / "abl"
    with open(out / "results.csv") as f:
        rows = list(csv.DictReader(f))
    assert [float(r["ratio"]) for r in rows] == [0.0, 0.5] and "map_bag" in rows[0]
    md = (out / "results.md").read_text()
    assert "0 (baseline)" in md and "| 0.5 |" in md and "±" in md
    assert Image.open(out / "ablation.png").size[0] > 400

    files = sorted((out / "runs").glob("*.json"))
    stamps = {f: f.stat().st_mtime_ns for f in files}
    again = ablate(train, val, syn, **kwargs)
    assert {f: f.stat().st_mtime_ns for f in files} == stamps, "finished runs are not redone"
    assert sorted(r["map"] for r in again.runs) == sorted(r["map"] for r in runs)
    with pytest.raises(ConfigError, match=r"other settings \(\['epochs'\]\)"):
        ablate(train, val, syn, **{**kwargs, "epochs": 2})


def test_ablation_errors(toy, tmp_path):
    train, val, syn = toy
    with pytest.raises(ConfigError, match="unknown detector"):
        ablate(train, val, syn, ratios=[0.5], seeds=[0], detector="yolo9000", out_dir=tmp_path / "a", progress=False)
    with pytest.raises(ConfigError, match="ratio=2.0"):
        ablate(train, val, syn, ratios=[2.0], seeds=[0], out_dir=tmp_path / "b", progress=False, device="cpu")


class TinyFeatures(nn.Module):
    """A fixed random conv feature extractor standing in for Inception in tests."""

    num_features = 32

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.net = nn.Sequential(nn.Conv2d(3, 32, 3, 2), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x.float() / 255)


def test_fid_is_zero_against_itself_and_grows_with_a_shift():
    torch.manual_seed(0)
    g = Generator(DCGANConfig(image_size=32, ngf=8, nz=16)).eval()
    same = [((img + 1) * 127.5).round().to(torch.uint8) for img in g.generate(200, seed=0)]
    kw = dict(n=200, seed=0, feature_extractor=TinyFeatures(), device="cpu")
    fid_same = quality_metrics(g, same, **kw)
    shifted = [(img.int() + 25).clamp(0, 255).to(torch.uint8) for img in same]
    far = [(img.int() + 60).clamp(0, 255).to(torch.uint8) for img in same]
    fid_shift, fid_far = quality_metrics(g, shifted, **kw), quality_metrics(g, far, **kw)
    assert abs(fid_same["fid"]) < 1e-3 and abs(fid_same["kid_mean"]) < 1e-3
    assert fid_same["precision"] == 1.0 and fid_same["recall"] == 1.0
    assert 0 < fid_shift["fid"] < fid_far["fid"]
    assert fid_far["kid_mean"] > fid_same["kid_mean"]


def test_precision_recall_extremes():
    a = torch.randn(100, 8, generator=torch.Generator().manual_seed(0))
    assert precision_recall(a, a.clone()) == (1.0, 1.0)
    assert precision_recall(a, a + 100) == (0.0, 0.0)


def test_inception_weights_missing_or_unsafe(tmp_path, monkeypatch):
    pytest.importorskip("torch_fidelity")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))
    with pytest.raises(WeightsError, match="weights-inception-2015-12-05-6726825d.pth"):
        inception_extractor(None)
    with pytest.raises(WeightsError, match=r"not found at .*absent.pth"):
        inception_extractor(tmp_path / "absent.pth")
    evil = tmp_path / "evil.pth"
    with open(evil, "wb") as f:
        pickle.dump({"w": Exploit()}, f)
    with pytest.raises(WeightsError, match="refusing to unpickle"):
        inception_extractor(evil)
    assert not (tmp_path / "pwned").exists()
    wrong = tmp_path / "wrong.pth"
    torch.save({"fc.weight": torch.zeros(2, 2)}, wrong)
    with pytest.raises(WeightsError, match="does not hold torch-fidelity's Inception-v3 weights"):
        inception_extractor(wrong)


class Exploit:
    def __reduce__(self):
        return (open, ("pwned", "w"))


def test_evaluate_cli_without_inception_weights(tmp_path):
    """`marinegan evaluate` refuses clearly without Inception weights (the offline case) and writes nothing."""
    import subprocess
    import sys

    torch.manual_seed(0)
    Generator(DCGANConfig(image_size=32, ngf=8, nz=16)).save_pretrained(tmp_path / "g")
    data = make_toy_yolo(tmp_path / "d", n=4, size=48)
    proc = subprocess.run([sys.executable, "-m", "marinegan.cli", "evaluate", str(data), str(tmp_path / "g"),
                           "--inception-weights", str(tmp_path / "none.pth"), "--out", str(tmp_path / "m.json")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "Inception weights not found" in proc.stderr
    assert not (tmp_path / "m.json").exists()


def test_toy_ablation_with_ultralytics(toy, tmp_path, monkeypatch):
    pytest.importorskip("ultralytics")
    monkeypatch.setenv("YOLO_OFFLINE", "1")
    monkeypatch.setenv("YOLO_CONFIG_DIR", str(tmp_path / "ucfg"))
    monkeypatch.chdir(tmp_path)
    train, val, syn = toy
    result = ablate(train, val, syn, ratios=[0.5], seeds=[0], trainer="ultralytics", epochs=1, batch_size=4,
                    imgsz=64, out_dir=tmp_path / "yolo-abl", device="cpu", progress=False)
    assert sorted(r["ratio"] for r in result.runs) == [0.0, 0.5]
    assert all(0 <= r["map"] <= 1 and set(r["per_class"]) == {"bottle", "bag"} for r in result.runs)
    assert "ultralytics yolov8n.yaml" in (tmp_path / "yolo-abl" / "results.md").read_text()
    assert len(YoloDataset(tmp_path / "yolo-abl" / "val_yolo")) == len(val)


@pytest.fixture(scope="module")
def random_inception_weights(tmp_path_factory):
    """A file shaped like torch-fidelity's Inception weights, with random values (the real ones cannot be
    downloaded here). Only building this fixture patches anything; the code under test runs as shipped."""
    tf = pytest.importorskip("torch_fidelity.feature_extractor_inceptionv3")
    root = tmp_path_factory.mktemp("inception")
    torch.save({}, root / "empty.pth")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(nn.Module, "load_state_dict", lambda *_args, **_kwargs: None)
        model = tf.FeatureExtractorInceptionV3("inception-v3-compat", ["2048"],
                                               feature_extractor_weights_path=str(root / "empty.pth"))
    path = root / "weights-inception-2015-12-05-6726825d.pth"
    torch.save(model.state_dict(), path)
    return path


def test_fid_through_the_inception_path_with_a_local_weights_file(random_inception_weights):
    torch.manual_seed(0)
    g = Generator(DCGANConfig(image_size=32, ngf=8, nz=16)).eval()
    same = [((img + 1) * 127.5).round().to(torch.uint8) for img in g.generate(12, seed=0)]
    scores = quality_metrics(g, same, n=12, inception_weights=random_inception_weights, device="cpu", k=2)
    assert abs(scores["fid"]) < 1e-2 and scores["precision"] == 1.0
    shifted = [(img.int() + 80).clamp(0, 255).to(torch.uint8) for img in same]
    assert quality_metrics(g, shifted, n=12, inception_weights=random_inception_weights, device="cpu",
                           k=2)["fid"] > scores["fid"]


def test_evaluate_cli_writes_json(random_inception_weights, tmp_path):
    import json
    import subprocess
    import sys

    torch.manual_seed(0)
    Generator(DCGANConfig(image_size=32, ngf=8, nz=16)).save_pretrained(tmp_path / "g")
    data = make_toy_yolo(tmp_path / "d", n=8, size=48)
    proc = subprocess.run([sys.executable, "-m", "marinegan.cli", "evaluate", str(data), str(tmp_path / "g"), "--n",
                           "8", "--inception-weights", str(random_inception_weights), "--out",
                           str(tmp_path / "m.json"), "--device", "cpu"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    scores = json.loads((tmp_path / "m.json").read_text())
    assert {"fid", "kid_mean", "kid_std", "precision", "recall"} <= set(scores) and scores["n_fake"] == 8
    assert f"fid: {scores['fid']:.4f}" in proc.stdout


def test_nearest_neighbours_find_a_copied_training_image(tmp_path):
    from marinegan.evaluate import nearest_neighbour_picture, nearest_neighbours

    g = torch.Generator().manual_seed(0)
    training = torch.randint(0, 256, (20, 4, 32, 32), generator=g, dtype=torch.uint8)
    samples = torch.stack([training[7], training[3], torch.randint(0, 256, (4, 32, 32), generator=g,
                                                                   dtype=torch.uint8)])
    idx, dist = nearest_neighbours(samples, training)
    assert idx[:2].tolist() == [7, 3] and dist[:2].tolist() == [0.0, 0.0] and dist[2] > 1
    path = nearest_neighbour_picture(samples, training, tmp_path / "nn.png", caption="toy")
    assert Image.open(path).width >= 6 * 32
