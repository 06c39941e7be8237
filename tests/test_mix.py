"""mix_datasets: ratio arithmetic, determinism, provenance, errors; a detector step on a mixed batch."""

from __future__ import annotations

import pytest
import torch
from torch.utils.data import DataLoader

from marinegan import (
    ConfigError,
    DCGANConfig,
    Generator,
    SyntheticPlasticDataset,
    YoloDataset,
    detection_collate,
    mix_datasets,
)
from marinegan.toydata import make_toy_yolo


@pytest.fixture(scope="module")
def real(tmp_path_factory):
    return YoloDataset(make_toy_yolo(tmp_path_factory.mktemp("real") / "r", n=20, size=64, seed=2))


@pytest.fixture(scope="module")
def synthetic(real):
    torch.manual_seed(0)
    g = Generator(DCGANConfig(image_size=32, channels=4, ngf=8, nz=16))
    return SyntheticPlasticDataset(g, 100, backgrounds=real, label="bottle", device="cpu", batch_size=32)


@pytest.mark.parametrize("ratio, n_syn", [(0.0, 0), (0.1, 2), (0.25, 7), (0.5, 20), (0.75, 60)])
def test_default_keeps_every_real_sample_once(real, synthetic, ratio, n_syn):
    mix = mix_datasets(real, synthetic, ratio)
    assert mix.counts() == {"real": 20, "synthetic": n_syn, "total": 20 + n_syn}
    real_idx = sorted(j for s, j in mix.sources if not s)
    assert real_idx == list(range(20))
    assert abs(mix.ratio - ratio) <= 0.5 / len(mix)


@pytest.mark.parametrize("size, ratio, expected", [(10, 0.3, (7, 3)), (20, 0.5, (10, 10)), (7, 1 / 3, (5, 2)),
                                                   (50, 1.0, (0, 50)), (20, 0.0, (20, 0))])
def test_size_fixes_the_total(real, synthetic, size, ratio, expected):
    mix = mix_datasets(real, synthetic, ratio, size=size, seed=4)
    c = mix.counts()
    assert (c["real"], c["synthetic"]) == expected and c["total"] == size
    real_idx = [j for s, j in mix.sources if not s]
    assert len(set(real_idx)) == len(real_idx), "real samples are not repeated"


def test_ratio_zero_is_the_real_set_unchanged(real):
    mix = mix_datasets(real, None, 0.0)
    for i in (0, 7, 19):
        assert torch.equal(mix[i][0], real[i][0])


def test_mix_is_deterministic_and_marks_provenance(real, synthetic):
    a, b = mix_datasets(real, synthetic, 0.4, seed=3), mix_datasets(real, synthetic, 0.4, seed=3)
    assert a.sources == b.sources
    assert a.sources != mix_datasets(real, synthetic, 0.4, seed=4).sources
    flags = [a[i][1]["synthetic"] for i in range(len(a))]
    assert sum(flags) == a.counts()["synthetic"]
    assert all(flag == s for flag, (s, _) in zip(flags, a.sources, strict=True))


def test_same_mix_through_any_number_of_workers(real, synthetic):
    mix = mix_datasets(real, synthetic, 0.3, seed=1)
    ref = [mix[i] for i in range(len(mix))]
    for workers in (0, 2):
        got = [x for batch in DataLoader(mix, batch_size=4, num_workers=workers, collate_fn=list) for x in batch]
        assert all(torch.equal(a[0], b[0]) for a, b in zip(ref, got, strict=True))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"ratio": 1.2}, r"ratio=1.2 must be a number in \[0, 1\]"),
        ({"ratio": -0.1}, "must be a number in"),
        ({"ratio": float("nan")}, "must be a number in"),
        ({"ratio": 1.0}, "ratio=1 .* needs size="),
        ({"ratio": 0.9}, "needs 180 synthetic samples but the synthetic dataset has only 100"),
        ({"ratio": 0.5, "size": 60}, "needs 30 real samples but the real set has 20"),
    ],
)
def test_bad_mixes_are_refused(real, synthetic, kwargs, message):
    with pytest.raises(ConfigError, match=message):
        mix_datasets(real, synthetic, **kwargs)


def test_empty_sets_and_mismatched_classes(real, synthetic):
    with pytest.raises(ConfigError, match="real dataset is empty"):
        mix_datasets([], synthetic, 0.5)
    with pytest.raises(ConfigError, match="synthetic dataset is empty"):
        mix_datasets(real, None, 0.5)
    g = Generator(DCGANConfig(image_size=32, channels=4, ngf=8, nz=16))
    other = SyntheticPlasticDataset(g, 50, backgrounds=real, keep_background_boxes=False, device="cpu",
                                    classes=["__background__", "plastic"])
    with pytest.raises(ConfigError, match=r"classes \['bottle', 'bag'\] and the synthetic classes \['plastic'\]"):
        mix_datasets(real, other, 0.5)


def test_fasterrcnn_takes_a_training_step_on_a_mixed_batch(real, synthetic):
    from torchvision.models.detection import fasterrcnn_mobilenet_v3_large_320_fpn

    mix = mix_datasets(real, synthetic, 0.5, seed=0)
    loader = DataLoader(mix, batch_size=6, shuffle=True, collate_fn=detection_collate,
                        generator=torch.Generator().manual_seed(0))
    images, targets = next(iter(loader))
    assert any(t["synthetic"] for t in targets) and not all(t["synthetic"] for t in targets)
    assert all(img.dtype == torch.float32 and img.min() >= 0 and img.max() <= 1 for img in images)
    model = fasterrcnn_mobilenet_v3_large_320_fpn(weights=None, weights_backbone=None, num_classes=len(mix.classes))
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    model.train()
    before = [p.detach().clone() for p in model.roi_heads.parameters()]
    loss = sum(model(images, targets).values())
    loss.backward()
    opt.step()
    assert torch.isfinite(loss)
    assert any(not torch.equal(a, b) for a, b in zip(before, model.roi_heads.parameters(), strict=True))
