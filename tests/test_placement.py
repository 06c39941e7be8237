"""Placement (issue 17, lever 3) and sizes from the data (lever 2): objects stay off black bars and overlays,
never hide a real object, and take the real boxes' sizes on request."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch
from conftest import TRASH_CLASSES, TRASH_IGNORED

from marinegan import CompositeOptions, SyntheticPlasticDataset, VocDataset, YoloDataset
from marinegan.models import DCGANConfig, Generator
from marinegan.synth.composite import channels_last, paste_objects
from marinegan.synth.placement import BoxSizes, content_region, covered_fraction
from marinegan.toydata import make_toy_yolo


def letterboxed(h: int = 180, w: int = 240, top: int = 30, bottom: int = 20, seed: int = 0) -> np.ndarray:
    """A noisy mid-grey picture between black bars, with a white watermark in the bottom bar."""
    rng = np.random.default_rng(seed)
    image = np.zeros((h, w, 3), np.uint8)
    image[top : h - bottom] = rng.integers(40, 200, (h - top - bottom, w, 3))
    image[h - bottom + 5 : h - bottom + 12, w - 40 : w - 5] = 255  # "(c) JAMSTEC"
    return image


def blobs(k: int, size: int = 32, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    sprites = torch.randint(0, 256, (k, 4, size, size), generator=g, dtype=torch.uint8)
    yy, xx = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    sprites[:, 3] = ((((yy - size / 2) ** 2 + (xx - size / 2) ** 2) < (size / 2.5) ** 2) * 255).to(torch.uint8)
    return sprites


def test_content_region_finds_letterbox_bars_despite_a_watermark():
    assert content_region(letterboxed()) == (0, 30, 240, 160)
    pillar = letterboxed().transpose(1, 0, 2).copy()
    assert content_region(pillar) == (30, 0, 160, 240)
    dark = np.random.default_rng(1).integers(0, 60, (100, 120, 3)).astype(np.uint8)  # dim water, no bars
    assert content_region(dark) == (0, 0, 120, 100)
    assert content_region(np.zeros((50, 60, 3), np.uint8)) == (0, 0, 60, 50)  # all black: nothing to prefer


@pytest.mark.parametrize("dark_in_row", [180, 179])  # 180 of 240 = exactly the 0.75 fill of a bar row; 179: not
def test_a_bar_row_needs_its_fill_of_dark_pixels_at_the_border_too(dark_in_row):
    image = letterboxed(top=30, bottom=0)
    image[:30, dark_in_row:] = 90  # the bar's rows, the border row included, are dark only up to column dark_in_row
    assert content_region(image) == ((0, 30, 240, 180) if dark_in_row == 180 else (0, 0, 240, 180))


@pytest.mark.parametrize("avoid", [True, False])
def test_objects_stay_off_the_bars(avoid):
    inside = []
    for trial in range(40):
        out = letterboxed(seed=trial)
        boxes, _, _ = paste_objects(out, blobs(3, seed=trial), torch.Generator().manual_seed(trial),
                                    CompositeOptions(avoid_bars=avoid, scale=(0.15, 0.3)))
        inside += [bool(b[1] >= 30 and b[3] <= 160) for b in boxes.tolist()]
    assert len(inside) > 60
    assert all(inside) if avoid else not all(inside)


def test_objects_keep_clear_of_ignored_boxes_and_never_hide_a_real_one():
    small_real = torch.tensor([[100.0, 80.0, 112.0, 92.0]])
    stamp = torch.tensor([[0.0, 0.0, 120.0, 30.0]])
    hidden = covers = 0
    for trial in range(60):
        out = channels_last(torch.full((3, 180, 240), 120, dtype=torch.uint8))
        for cover in (0.5, 1.0):
            boxes, _, _ = paste_objects(out.copy(), blobs(3, seed=trial), torch.Generator().manual_seed(trial),
                                        CompositeOptions(scale=(0.4, 0.6), max_cover=cover), occupied=small_real,
                                        ignored=stamp)
            for b in boxes.tolist():
                assert covered_fraction(tuple(b), [tuple(stamp[0].tolist())]) == 0
                c = covered_fraction(tuple(b), [tuple(small_real[0].tolist())])
                if cover == 0.5:
                    assert c <= 0.5
                    covers += 1
                else:
                    hidden += c > 0.5
    assert covers > 30 and hidden > 0  # the bound is what keeps the small object visible


def test_scale_data_gives_boxes_the_real_long_sides():
    sizes = BoxSizes.from_fractions([0.3] * 50)
    out = channels_last(torch.full((3, 200, 300), 120, dtype=torch.uint8))
    long_sides = []
    for trial in range(20):
        boxes, _, _ = paste_objects(out.copy(), blobs(2, seed=trial), torch.Generator().manual_seed(trial),
                                    CompositeOptions(scale="data", max_overlap=1, max_cover=1), sizes=sizes)
        long_sides += (boxes[:, 2:] - boxes[:, :2]).max(dim=1).values.tolist()
    assert len(long_sides) > 30 and all(abs(s - 60) <= 3 for s in long_sides)  # 0.3 x the 200 px short side
    spread = BoxSizes.from_fractions(np.linspace(0.1, 0.5, 101))
    assert spread.sample(0.0) == pytest.approx(0.1) and spread.sample(0.5) == pytest.approx(0.3)
    assert repr(spread) == "BoxSizes(n=101, median=0.300)"
    with pytest.raises(ValueError, match="'data'"):
        CompositeOptions(scale="large")


def test_a_synthetic_set_takes_sizes_from_its_backgrounds_boxes(tmp_path):
    bg = YoloDataset(make_toy_yolo(tmp_path / "bg", n=20, size=128, seed=0, single_class="plastic"))
    ds = SyntheticPlasticDataset(Generator(DCGANConfig(image_size=32, channels=4, ngf=8, nz=16)), 4, backgrounds=bg,
                                 options=CompositeOptions(scale="data"), device="cpu")
    real = np.concatenate([s.boxes for s in bg.samples])
    expected = np.quantile(np.maximum(real[:, 2] - real[:, 0], real[:, 3] - real[:, 1]) / 128, 0.5)
    assert ds.sizes.n == len(real) and ds.sizes.median == pytest.approx(expected, abs=1e-4)


@pytest.mark.real_data
def test_trash_icra19_letterboxed_frames_and_plastic_box_sizes(real_data):
    ds = VocDataset(real_data, "train", classes=TRASH_CLASSES, ignore=TRASH_IGNORED)
    i = next(k for k, s in enumerate(ds.samples) if s.path.name == "bio0018_frame0000053.jpg")
    x0, y0, x1, y1 = content_region(ds[i][0].permute(1, 2, 0).numpy())
    assert (x0, x1) == (0, 480) and 55 <= y0 <= 66 and 310 <= y1 <= 322  # 480x360, bars above and below
    sizes = BoxSizes.from_dataset(ds, ds.classes.index("plastic"))
    assert sizes.n == 1209 and 0.30 <= sizes.median <= 0.38  # the issue: long side 0.34 of the short side


def test_a_grid_gives_each_object_a_cell_of_its_own():
    """IBURD's placement: with grid=n no two pasted objects overlap, each lies in one cell, at most n*n."""
    from marinegan.synth.composite import composite

    rng = np.random.default_rng(0)
    bg = torch.from_numpy(rng.integers(40, 200, (3, 120, 160), dtype=np.uint8))
    sprites = torch.full((6, 4, 32, 32), 200, dtype=torch.uint8)  # opaque squares, larger than a cell at 0.7
    options = CompositeOptions(scale=(0.5, 0.7), grid=2, avoid_bars=False, max_overlap=1.0, max_cover=1.0)
    _, boxes, kept = composite(bg, sprites, torch.Generator().manual_seed(1), options)
    assert len(boxes) == 4 and kept.tolist() == [0, 1, 2, 3]  # one per cell: the last two are left out
    cells = {(int(b[0] // 80), int(b[1] // 60)) for b in boxes}
    assert len(cells) == 4
    for b in boxes.tolist():  # wholly inside its cell (80 x 60), so no overlap
        assert b[0] // 80 == (b[2] - 1) // 80 and b[1] // 60 == (b[3] - 1) // 60
    _, again, _ = composite(bg, sprites, torch.Generator().manual_seed(1), options)
    assert torch.equal(again, boxes)
    _, free, _ = composite(bg, sprites, torch.Generator().manual_seed(1), replace(options, grid=0))
    assert len(free) == 6  # anywhere: overlaps allowed by these settings, no cell limit
    with pytest.raises(ValueError, match="cells per side"):
        CompositeOptions(grid=-1)


def test_an_object_hidden_by_a_later_paste_gets_the_box_of_what_stays_visible():
    """update_occluded: Simple Copy-Paste's rule for pasted objects (their masks are known)."""
    from marinegan.synth.composite import composite

    bg = torch.full((3, 100, 100), 90, dtype=torch.uint8)
    sprites = torch.full((2, 4, 40, 40), 220, dtype=torch.uint8)  # two opaque squares of the same size
    options = CompositeOptions(scale=(0.4, 0.4), avoid_bars=False, max_overlap=1.0, max_cover=1.0, flip=False)
    for seed in range(100):  # placements where the second square hides a side of the first
        _, plain, _ = composite(bg, sprites, torch.Generator().manual_seed(seed), options)
        first = torch.zeros(100, 100, dtype=torch.bool)
        x0, y0, x1, y1 = (int(v) for v in plain[0].tolist())
        first[y0:y1, x0:x1] = True
        x0, y0, x1, y1 = (int(v) for v in plain[1].tolist())
        hidden = first[y0:y1, x0:x1].sum().item()
        first[y0:y1, x0:x1] = False
        ys, xs = torch.nonzero(first, as_tuple=True)  # what stays visible of the first square
        seen = [xs.min().item(), ys.min().item(), xs.max().item() + 1, ys.max().item() + 1] if len(xs) else []
        if hidden > 0 and len(xs) >= 100 and seen != plain[0].tolist():
            break  # a side of it is hidden, so its visible part has a smaller box
    else:
        pytest.fail("no partial overlap in 100 seeds")
    _, boxes, kept = composite(bg, sprites, torch.Generator().manual_seed(seed),
                               replace(options, update_occluded=True))
    assert kept.tolist() == [0, 1] and torch.equal(boxes[1], plain[1]), "the later object is whole"
    assert boxes[0].tolist() == seen


def test_an_object_wholly_hidden_by_a_later_paste_loses_its_box():
    from marinegan.synth.composite import composite

    bg = torch.full((3, 64, 64), 90, dtype=torch.uint8)
    sprites = torch.full((2, 4, 64, 64), 220, dtype=torch.uint8)  # full-frame squares: the second hides the first
    options = CompositeOptions(scale=(1.0, 1.0), avoid_bars=False, max_overlap=1.0, max_cover=1.0,
                               update_occluded=True)
    _, boxes, kept = composite(bg, sprites, torch.Generator().manual_seed(0), options)
    assert kept.tolist() == [1] and boxes.tolist() == [[0.0, 0.0, 64.0, 64.0]]
    _, both, _ = composite(bg, sprites, torch.Generator().manual_seed(0), replace(options, update_occluded=False))
    assert len(both) == 2, "without it the hidden object keeps a box over pixels that are no longer it"
