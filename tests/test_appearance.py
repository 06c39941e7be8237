"""Appearance matching (issue 17, "look like the frame"): blur, noise and haze of a pasted object follow
the background around it, and none of them moves a box."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from marinegan import CompositeOptions
from marinegan.evaluate.ablation import option_tag
from marinegan.synth import appearance
from marinegan.synth.composite import composite

SIZE = 128


def checker_sprite(side: int = 32, cell: int = 2) -> torch.Tensor:
    """One RGBA sprite (1, 4, side, side): a sharp black-and-white checkerboard, opaque in a centred square."""
    y, x = np.mgrid[:side, :side]
    grey = np.where(((y // cell) + (x // cell)) % 2 == 0, 30, 220).astype(np.uint8)
    alpha = np.zeros((side, side), np.uint8)
    alpha[side // 8 : -side // 8, side // 8 : -side // 8] = 255
    return torch.from_numpy(np.stack([grey, grey, grey, alpha]))[None]


def flat_sprite(side: int = 32, value: int = 200) -> torch.Tensor:
    sprite = checker_sprite(side)
    sprite[:, :3] = value
    return sprite


def background(kind: str, seed: int = 0) -> torch.Tensor:
    """uint8 (3, SIZE, SIZE): 'soft' (a smooth gradient), 'sharp' (a fine checkerboard), 'noisy' (grey 100 with
    Gaussian noise of std 6), 'murky' (flat, low contrast)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[:SIZE, :SIZE].astype(np.float32)
    if kind == "soft":
        grey = 60 + 80 * (x / SIZE)
    elif kind == "sharp":
        grey = np.where(((y // 1) + (x // 1)) % 2 == 0, 0, 255).astype(np.float32)
    elif kind == "noisy":
        grey = 100 + rng.normal(0, 6, (SIZE, SIZE))
    else:
        grey = 90 + 4 * np.sin(x / 9)
    grey = np.clip(np.rint(grey), 0, 255).astype(np.uint8)
    return torch.from_numpy(np.stack([grey, grey, grey]))


def paste(bg: torch.Tensor, sprite: torch.Tensor, seed: int = 0, **looks):
    options = CompositeOptions(scale=(0.4, 0.4), color_match=0, flip=False, avoid_bars=False, **looks)
    image, boxes, _ = composite(bg, sprite, torch.Generator().manual_seed(seed), options)
    assert len(boxes) == 1
    x0, y0, x1, y1 = boxes[0].round().long().tolist()
    return image, boxes, image[:, y0 + 3 : y1 - 3, x0 + 3 : x1 - 3].permute(1, 2, 0).numpy().copy()


def test_blur_match_softens_a_sharp_object_on_a_soft_frame_and_leaves_it_on_a_sharp_one():
    plain_image, plain_boxes, plain = paste(background("soft"), checker_sprite())
    _, boxes, blurred = paste(background("soft"), checker_sprite(), blur_match=True)
    assert torch.equal(boxes, plain_boxes)
    assert appearance.sharpness(blurred) < 0.2 * appearance.sharpness(plain)
    sharp_image, _, _ = paste(background("sharp"), checker_sprite(), blur_match=True)
    assert torch.equal(sharp_image, paste(background("sharp"), checker_sprite())[0])  # the frame is sharper


def test_noise_match_gives_a_clean_object_the_frames_grain_reproducibly():
    _, _, clean = paste(background("noisy"), flat_sprite())
    image, _, grainy = paste(background("noisy"), flat_sprite(), noise_match=True)
    assert appearance.noise_level(clean) < 1
    assert 4 < appearance.noise_level(grainy) < 8  # the frame's noise has std 6
    assert abs(float(grainy.mean()) - 200) < 1.5  # grain, not a shift
    assert torch.equal(image, paste(background("noisy"), flat_sprite(), noise_match=True)[0])
    assert not torch.equal(image, paste(background("noisy", seed=1), flat_sprite(), noise_match=True)[0])
    on_clean, _, _ = paste(background("soft"), flat_sprite(), noise_match=True)
    assert torch.equal(on_clean, paste(background("soft"), flat_sprite())[0])  # nothing to match


def test_haze_match_veils_a_contrasty_object_on_a_murky_frame_only():
    _, _, plain = paste(background("murky"), checker_sprite(cell=4))
    _, _, veiled = paste(background("murky"), checker_sprite(cell=4), haze_match=True)
    assert veiled.std() == pytest.approx(appearance.MIN_HAZE * plain.std(), rel=0.05)
    assert abs(veiled.mean() - 90) < abs(plain.mean() - 90)  # pulled towards the water's colour
    sharp = paste(background("sharp"), checker_sprite(cell=4), haze_match=True)[0]
    assert torch.equal(sharp, paste(background("sharp"), checker_sprite(cell=4))[0])


def test_the_matches_move_no_box_and_write_only_under_the_objects():
    rng = np.random.default_rng(3)
    bg = torch.from_numpy(rng.integers(0, 255, (3, SIZE, SIZE), dtype=np.uint8))
    sprites = torch.cat([checker_sprite(), flat_sprite(), checker_sprite(cell=3)])
    options = CompositeOptions(scale=(0.2, 0.5), avoid_bars=False)
    plain, plain_boxes, _ = composite(bg, sprites, torch.Generator().manual_seed(0), options)
    looks = replace(options, blur_match=True, haze_match=True, noise_match=True)
    image, boxes, _ = composite(bg, sprites, torch.Generator().manual_seed(0), looks)
    assert len(boxes) == 3 and torch.equal(boxes, plain_boxes)
    changed = (image != bg).any(0)
    inside = torch.zeros_like(changed)
    for x0, y0, x1, y1 in boxes.round().long().tolist():
        inside[max(0, y0 - 12) : y1 + 12, max(0, x0 - 12) : x1 + 12] = True  # the squares around each object
    assert changed.any() and not (changed & ~inside).any()


def test_options_name_the_matches_only_when_on():
    """Ablation folders recorded before the matches existed describe their arms the same way."""
    assert not any(f"{m}_match" in repr(CompositeOptions()) for m in ("blur", "haze", "noise"))
    assert repr(CompositeOptions(scale=(0.2, 0.7))) == (
        "CompositeOptions(scale=(0.2, 0.7), max_overlap=0.3, blend='alpha', color_match=0.5, flip=True, "
        "min_visible_area=100, max_cover=0.5, avoid_bars=True, avoid_ignored=True)")
    assert repr(CompositeOptions(noise_match=True)).endswith("avoid_ignored=True, noise_match=True)")
    assert option_tag(CompositeOptions(blur_match=True, haze_match=True)) == "[blur_match,haze_match]"
