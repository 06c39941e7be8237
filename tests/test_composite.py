"""Compositing: each blend mode keeps boxes exact; the region-only uint8 path equals a plain float reference."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import TRASH_CLASSES, TRASH_IGNORED

from marinegan import CompositeOptions, VocDataset, object_crops
from marinegan.synth.composite import blend_region, color_matched, composite, resize_sprite, sprite_alpha


def iou(box: np.ndarray, others: np.ndarray) -> np.ndarray:
    lt, rb = np.maximum(box[:2], others[:, :2]), np.minimum(box[2:], others[:, 2:])
    inter = np.clip(rb - lt, 0, None).prod(axis=1)
    area = lambda b: (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])  # noqa: E731
    return inter / (area(box) + area(others) - inter)


def reference_composite(background, sprites, rng, options, occupied=None):
    """The straightforward version: a fresh full-size float canvas per object, one sprite at a time, same draws."""
    canvas = background.permute(1, 2, 0).numpy().astype(np.float64)
    h, w = canvas.shape[:2]
    boxes, taken = [], [b for b in occupied.numpy()] if occupied is not None else []
    lo, hi = options.scale
    for sprite in sprites:
        u = torch.rand(2, generator=rng)
        side = max(4, int(round((lo + (hi - lo) * u[0].item()) * min(h, w))))
        s = resize_sprite(np.ascontiguousarray(sprite.permute(1, 2, 0).numpy()), side,
                          options.flip and bool(u[1] < 0.5))
        alpha = sprite_alpha(s, options.blend)
        ys, xs = np.nonzero(alpha >= 128)
        if len(xs) == 0:
            continue
        local = np.array([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], np.float32)
        for _ in range(10):
            xy = torch.rand(2, generator=rng)
            x0, y0 = int(xy[0] * (w - side + 1)), int(xy[1] * (h - side + 1))
            box = local + np.array([x0, y0, x0, y0], np.float32)
            if not taken or iou(box, np.stack(taken)).max() <= options.max_overlap:
                break
        else:
            continue
        full_rgb = np.zeros((h, w, 3), np.uint8)
        full_alpha = np.zeros((h, w), np.uint8)
        current = canvas.astype(np.uint8)
        rgb = color_matched(s[:, :, :3], current[y0 : y0 + side, x0 : x0 + side], alpha >= 128, options.color_match)
        full_rgb[y0 : y0 + side, x0 : x0 + side] = rgb
        full_alpha[y0 : y0 + side, x0 : x0 + side] = alpha
        canvas = blend_region(full_rgb, current, full_alpha).astype(np.float64)
        boxes.append(box)
        taken.append(box)
    return torch.from_numpy(canvas.astype(np.uint8)).permute(2, 0, 1), \
        torch.from_numpy(np.stack(boxes)) if boxes else torch.zeros(0, 4)


def random_sprites(g: torch.Generator, k: int, size: int = 32) -> torch.Tensor:
    sprites = torch.randint(0, 256, (k, 4, size, size), generator=g, dtype=torch.uint8)
    yy, xx = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    blob = (((yy - size / 2) ** 2 + (xx - size / 2) ** 2) < (size / 3) ** 2).to(torch.uint8) * 255
    sprites[:, 3] = torch.minimum(sprites[:, 3] // 2 + blob // 2 + (blob > 0).to(torch.uint8) * 40, blob)
    return sprites


@pytest.mark.parametrize("trial", range(12))
def test_fast_path_equals_the_reference_on_random_inputs(trial):
    g = torch.Generator().manual_seed(trial)
    h, w = int(torch.randint(40, 200, (1,), generator=g)), int(torch.randint(40, 200, (1,), generator=g))
    background = torch.randint(0, 256, (3, h, w), generator=g, dtype=torch.uint8)
    sprites = random_sprites(g, int(torch.randint(1, 5, (1,), generator=g)))
    options = CompositeOptions(blend=["alpha", "hard", "gaussian"][trial % 3], color_match=[0.0, 0.5, 1.0][trial % 3],
                               flip=trial % 2 == 0)
    occupied = torch.tensor([[0.0, 0.0, w / 3, h / 3]]) if trial % 4 == 0 else None
    fast = composite(background, sprites, torch.Generator().manual_seed(trial), options, occupied)
    ref = reference_composite(background, sprites, torch.Generator().manual_seed(trial), options, occupied)
    assert torch.equal(fast[1], ref[1])
    assert torch.equal(fast[0], ref[0])
    assert fast[0].shape == background.shape and fast[0].dtype == torch.uint8


@pytest.mark.parametrize("blend", ["alpha", "hard", "gaussian", "poisson"])
def test_each_blend_keeps_boxes_exact_and_the_rest_of_the_image_untouched(blend):
    g = torch.Generator().manual_seed(1)
    background = torch.randint(60, 200, (120, 160, 3), generator=g, dtype=torch.uint8).permute(2, 0, 1)
    original = background.clone()  # channels-last memory, as the readers return: must not be written into
    sprites = random_sprites(g, 3)
    options = CompositeOptions(blend=blend, max_overlap=0.0, scale=(0.3, 0.4))
    image, boxes, kept = composite(background, sprites, torch.Generator().manual_seed(2), options)
    assert len(boxes) == len(kept) >= 1 and image.dtype == torch.uint8 and image.shape == background.shape
    changed = (image != background).any(0)
    inside = torch.zeros_like(changed)
    for x0, y0, x1, y1 in boxes.long().tolist():
        inside[y0:y1, x0:x1] = True
        assert changed[y0:y1, x0:x1].any()
    # soft modes may touch a faint rim (alpha < 0.5) next to the box, never far from it
    far = ~torch.nn.functional.max_pool2d(inside[None, None].float(), 9, 1, 4)[0, 0].bool()
    assert not changed[far].any()
    assert torch.equal(background, original)
    again = composite(background, sprites, torch.Generator().manual_seed(2), options)
    assert torch.equal(image, again[0]) and torch.equal(boxes, again[1])


def test_color_match_moves_the_object_towards_its_surroundings():
    rgb = np.full((8, 8, 3), 100, np.uint8)
    region = np.zeros((8, 8, 3), np.uint8)
    region[:, :, 2] = 200  # a blue cast around the object
    visible = np.zeros((8, 8), bool)
    visible[2:6, 2:6] = True
    out = color_matched(rgb, region, visible, 1.0)
    assert out[:, :, 2].mean() > 100 > out[:, :, 0].mean() and out.dtype == np.uint8
    assert np.array_equal(color_matched(rgb, region, visible, 0.0), rgb)


def test_bad_options_are_refused():
    with pytest.raises(ValueError, match="blend='laplace'"):
        CompositeOptions(blend="laplace")
    with pytest.raises(ValueError, match="color_match=2"):
        CompositeOptions(color_match=2)


@pytest.mark.real_data
def test_poisson_and_gaussian_on_a_real_frame_with_real_cutouts(real_data):
    val = VocDataset(real_data, "val", classes=TRASH_CLASSES, ignore=TRASH_IGNORED)
    sub = torch.utils.data.Subset(val, range(40))
    sub.classes = val.classes
    sprites = object_crops(sub, 64, alpha="grabcut", label="plastic", progress=False).images[:2]
    background = val[100][0]
    for blend in ("alpha", "gaussian", "poisson"):
        image, boxes, _ = composite(background, sprites, torch.Generator().manual_seed(0),
                                    CompositeOptions(blend=blend, scale=(0.3, 0.4), max_overlap=0.0))
        assert len(boxes) == 2 and (boxes[:, 2:] <= torch.tensor([480, 360])).all()
        for x0, y0, x1, y1 in boxes.long().tolist():  # the object shows inside its box, whatever the blend
            assert (image[:, y0:y1, x0:x1].float() - background[:, y0:y1, x0:x1].float()).abs().mean() > 2
