"""Compositing: each blend mode keeps boxes exact; the region-only uint8 path and the stored (materialised)
path equal a plain float reference."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import TRASH_CLASSES, TRASH_IGNORED

from marinegan import CompositeOptions, CopyPasteDataset, VocDataset, object_crops
from marinegan.synth.composite import (
    apply_patches,
    blend_region,
    changed_patches,
    color_matched,
    composite,
    paste_objects,
    resize_sprite,
    sprite_alpha,
)
from marinegan.synth.seeding import index_generator


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
        if len(xs) < max(1, options.min_visible_area):  # too few visible pixels: left out, box and all
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


@pytest.mark.parametrize("trial", range(8))
def test_stored_patches_rebuild_the_composite_exactly(trial):
    """What materialize() keeps (the changed pixels per region) rebuilds the composite bit for bit,
    for every blend mode and with overlapping objects; nothing outside the regions is stored."""
    g = torch.Generator().manual_seed(100 + trial)
    h, w = int(torch.randint(40, 160, (1,), generator=g)), int(torch.randint(40, 160, (1,), generator=g))
    before = torch.randint(0, 256, (h, w, 3), generator=g, dtype=torch.uint8).numpy()
    after = before.copy()
    options = CompositeOptions(blend=["alpha", "hard", "gaussian", "poisson"][trial % 4], max_overlap=1.0,
                               color_match=0.5 * (trial % 3), scale=(0.3, 0.6))
    _, kept, regions = paste_objects(after, random_sprites(g, 4), torch.Generator().manual_seed(trial), options)
    assert len(regions) == len(kept) >= 1
    patches = changed_patches(before, after, regions)
    assert np.array_equal(apply_patches(before.copy(), patches), after)
    assert np.array_equal(apply_patches(before.copy(), patches[::-1]), after), "order must not matter"
    for y, x, patch in patches:
        assert any(x0 <= x and y0 <= y and x + patch.shape[1] <= x0 + side and y + patch.shape[0] <= y0 + side
                   for x0, y0, side in regions)
    assert sum(p.size for _, _, p in patches) <= sum(side * side * 3 for _, _, side in regions)


def test_a_patch_is_the_tight_box_of_the_changed_pixels_whichever_channel_changed():
    before = np.zeros((20, 30, 3), np.uint8)
    after = before.copy()
    after[3, 7, 2] = 1  # only blue, at the right edge of the change
    after[9, 4, 0] = 5  # only red, at its bottom-left
    after[0, 0] = 9  # outside the region: not the region's business
    patches = changed_patches(before, after, [(2, 1, 12)])  # x0=2, y0=1, side 12
    assert [(y, x, p.shape) for y, x, p in patches] == [(3, 4, (7, 4, 3))]
    assert changed_patches(before, before.copy(), [(2, 1, 12)]) == []


def test_stored_composites_round_trip_items_with_and_without_objects():
    import pickle

    from marinegan.synth.stored import StoredComposites, StoredItem

    g = torch.Generator().manual_seed(0)
    crop = lambda h, w: torch.randint(0, 256, (h, w, 3), generator=g, dtype=torch.uint8).numpy()  # noqa: E731
    items = [
        StoredItem(4, 123, torch.tensor([[1.0, 2.0, 5.0, 9.0]]), torch.tensor([2]), [(1, 1, crop(8, 4))]),
        StoredItem(0, 2**32 - 1, torch.zeros(0, 4), torch.zeros(0, dtype=torch.long), []),  # nothing pasted
        StoredItem(2, 7, torch.tensor([[0.0, 0.0, 3.0, 3.0], [4.0, 4.0, 8.0, 6.0]]), torch.tensor([1, 1]),
                   [(0, 0, crop(3, 3)), (4, 4, crop(2, 4))]),
    ]
    stored = pickle.loads(pickle.dumps(StoredComposites.build(items)))  # as spawned DataLoader workers get it
    assert len(stored) == 3
    for want, got in zip(items, (stored[i] for i in range(3)), strict=True):
        assert (got.background_index, got.fingerprint) == (want.background_index, want.fingerprint)
        assert torch.equal(got.boxes, want.boxes) and torch.equal(got.labels, want.labels)
        assert [(y, x) for y, x, _ in got.patches] == [(y, x) for y, x, _ in want.patches]
        assert all(np.array_equal(a, b) for (_, _, a), (_, _, b) in zip(got.patches, want.patches, strict=True))
    assert stored.nbytes >= sum(p.nbytes for item in items for _, _, p in item.patches)
    with pytest.raises(ValueError, match="read-only"):
        stored[0].patches[0][2][0, 0, 0] = 1


class InMemoryFrames(torch.utils.data.Dataset):
    """Random frames held in memory with a box each: __getitem__ returns the same tensors every time,
    as a user's own in-memory dataset would, so nothing may write into them."""

    def __init__(self, n: int, seed: int) -> None:
        g = torch.Generator().manual_seed(seed)
        self.images = [torch.randint(0, 256, (3, int(torch.randint(60, 140, (1,), generator=g)),
                                              int(torch.randint(60, 140, (1,), generator=g))),
                                     generator=g, dtype=torch.uint8) for _ in range(n)]
        self.classes = ["__background__", "plastic"]

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int):
        h, w = self.images[i].shape[1:]
        return self.images[i], {"boxes": torch.tensor([[1.0, 2.0, w / 4, h / 5]]), "labels": torch.tensor([1])}


@pytest.mark.parametrize("blend", ["alpha", "hard", "gaussian"])
def test_materialised_items_equal_a_reference_built_from_first_principles(blend):
    """The fast path (composited once at materialize, changed pixels written back per read) against the
    plain float reference, fed the dataset's documented draws per (seed, index), on random inputs.
    (Poisson has no plain reference; its stored items are checked against live compositing.)"""
    frames = InMemoryFrames(5, seed=7)
    originals = [im.clone() for im in frames.images]
    cutouts = random_sprites(torch.Generator().manual_seed(8), 6, size=24)
    options = CompositeOptions(blend=blend, color_match=0.5, max_overlap=0.5)
    ds = CopyPasteDataset(cutouts, 10, backgrounds=frames, seed=3, batch_size=4, options=options, materialize=True,
                          progress=False)
    assert ds._stored is not None and not ds._cache, "materialised: composites stored, sprites dropped"
    for i in range(len(ds)):
        objects = index_generator(3, i, 0)  # stream 0: object count, then which cut-outs
        n = int(torch.randint(1, 4, (1,), generator=objects))
        sprites = cutouts[torch.randint(len(cutouts), (n,), generator=objects)]
        placement = index_generator(3, i, 1)  # stream 1: background, then the compositor's draws
        bg_index = int(torch.randint(len(frames), (1,), generator=placement))
        background, bg_target = frames[bg_index]
        image, boxes = reference_composite(background, sprites, placement, options, bg_target["boxes"])
        item_image, item_target = ds[i]
        assert item_target["background_index"] == bg_index
        assert torch.equal(item_image.as_subclass(torch.Tensor), image), f"item {i}"
        assert torch.equal(item_target["boxes"].as_subclass(torch.Tensor), torch.cat([bg_target["boxes"], boxes]))
    assert all(torch.equal(a, b) for a, b in zip(frames.images, originals, strict=True)), "backgrounds written into"


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


def test_box_grow_widens_each_pasted_box_about_its_centre_and_moves_nothing():
    """box_grow=1.5: the same pixels, the same objects, each box 1.5 times as wide and high about the same centre
    (clipped to the frame); out-of-range factors are refused in one line."""
    g = torch.Generator().manual_seed(1)
    background = torch.randint(60, 200, (3, 120, 160), generator=g, dtype=torch.uint8)
    sprites = random_sprites(g, 3)
    tight, wide = (composite(background, sprites, torch.Generator().manual_seed(2),
                             CompositeOptions(scale=(0.2, 0.3), box_grow=f)) for f in (1.0, 1.5))
    assert torch.equal(tight[0], wide[0]) and torch.equal(tight[2], wide[2]) and len(tight[1]) >= 2
    size = lambda b: b[:, 2:] - b[:, :2]  # noqa: E731
    centre = lambda b: (b[:, :2] + b[:, 2:]) / 2  # noqa: E731
    inside = (wide[1][:, :2] > 0).all(1) & (wide[1][:, 2] < 160) & (wide[1][:, 3] < 120)
    assert inside.any(), "at least one grown box is not clipped"
    assert torch.allclose(size(wide[1])[inside], 1.5 * size(tight[1])[inside])
    assert torch.allclose(centre(wide[1])[inside], centre(tight[1])[inside])
    assert (wide[1][:, :2] >= 0).all() and (wide[1][:, 2] <= 160).all() and (wide[1][:, 3] <= 120).all()
    with pytest.raises(ValueError, match="box_grow=0.5 must be in"):
        CompositeOptions(box_grow=0.5)
    assert "box_grow" not in repr(CompositeOptions()), "arms recorded before the option keep their description"


def test_blend_rounds_to_the_nearest_level_for_every_alpha():
    rng = np.random.default_rng(0)
    alpha = np.tile(np.arange(256, dtype=np.uint8), (3, 1))[:, rng.permutation(256)]  # every level, shuffled
    rgb, region = (rng.integers(0, 256, (3, 256, 3), dtype=np.uint8) for _ in range(2))
    exact = (alpha[..., None] / 255) * rgb + (1 - alpha[..., None] / 255) * region
    assert np.abs(blend_region(rgb, region, alpha) - exact).max() <= 0.5 + 1e-3


def test_color_match_moves_the_object_towards_its_surroundings():
    rgb = np.full((8, 8, 3), 100, np.uint8)
    region = np.zeros((8, 8, 3), np.uint8)
    region[:, :, 2] = 200  # a blue cast around the object
    visible = np.zeros((8, 8), bool)
    visible[2:6, 2:6] = True
    out = color_matched(rgb, region, visible, 1.0)
    assert out[:, :, 2].mean() > 100 > out[:, :, 0].mean() and out.dtype == np.uint8
    assert np.array_equal(color_matched(rgb, region, visible, 0.0), rgb)


def test_color_match_scales_every_level_of_each_channel_by_its_own_gain():
    """The documented formula on all 256 levels of each channel, with a different gain per channel (one of them
    saturating at 255): the look-up table must map each channel by its own gain, rounded and clipped."""
    rng = np.random.default_rng(1)
    rgb = np.stack([rng.permutation(256).astype(np.uint8) for _ in range(3)], axis=-1).reshape(16, 16, 3)
    region = np.empty((16, 16, 3), np.uint8)
    region[:] = (30, 120, 250)  # a dark, a mid and a bright channel around the object
    visible = rng.random((16, 16)) < 0.7
    own = [rgb[:, :, c][visible].mean() for c in range(3)]
    for strength in (0.3, 1.0):
        gain = [min(2.0, max(0.5, (r + 8) / (o + 8))) ** strength for r, o in zip((30, 120, 250), own, strict=True)]
        want = np.clip(np.rint(rgb * np.array(gain)), 0, 255)
        got = color_matched(rgb, region, visible, strength).astype(float)
        assert np.abs(got - want).max() <= 1 and (got == want).mean() > 0.99  # 1: float rounding at .5 only
        assert got[:, :, 0].max() < 255 < rgb[:, :, 2].max() * gain[2] and got[:, :, 2].max() == 255


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


@pytest.mark.real_data
def test_materialised_composites_on_real_frames_equal_live_ones(real_data):
    """Default generator, default options, real 480x360 / 480x270 JPEG frames through a Subset (the reader's
    image-only path): every stored item equals live compositing, and only the changed pixels are kept."""
    from marinegan import SyntheticPlasticDataset, load_generator

    train = VocDataset(real_data, "train", classes=TRASH_CLASSES, ignore=TRASH_IGNORED)
    frames = torch.utils.data.Subset(train, range(0, 1500, 50))
    frames.classes = train.classes
    g = load_generator("default")
    make = lambda **kw: SyntheticPlasticDataset(g, 24, backgrounds=frames, label="plastic", seed=5,  # noqa: E731
                                                batch_size=8, progress=False, **kw)
    live, stored = make(), make(materialize=True)
    for i in range(24):
        a, b = live[i], stored[i]
        assert torch.equal(a[0], b[0]) and a[1]["background_index"] == b[1]["background_index"]
        assert torch.equal(a[1]["boxes"], b[1]["boxes"]) and torch.equal(a[1]["labels"], b[1]["labels"])
    assert stored.stored_nbytes() < 24 * 480 * 270 * 3 / 4, "a stored item is a fraction of a frame"


def test_min_contrast_leaves_out_an_object_the_frame_would_not_show():
    """A grey object on the same grey changes nothing: with min_contrast it gets no box; a white one keeps its box."""
    background = torch.full((3, 120, 160), 90, dtype=torch.uint8)
    faint, bright = (torch.full((1, 4, 32, 32), level, dtype=torch.uint8) for level in (92, 250))
    faint[:, 3] = bright[:, 3] = 255
    plain = CompositeOptions(scale=(0.4, 0.4), color_match=0, flip=False, avoid_bars=False)
    floor = CompositeOptions(scale=(0.4, 0.4), color_match=0, flip=False, avoid_bars=False, min_contrast=4)
    for sprite, kept_with_floor in ((faint, False), (bright, True)):
        image, boxes, _ = composite(background, sprite, torch.Generator().manual_seed(0), plain)
        assert len(boxes) == 1  # without the floor, every object is pasted and boxed
        image, boxes, kept = composite(background, sprite, torch.Generator().manual_seed(0), floor)
        assert (len(boxes) == 1) == kept_with_floor and len(kept) == len(boxes)
        assert image.ne(background).any() == kept_with_floor  # a left-out object is not drawn either
    with pytest.raises(ValueError, match="min_contrast"):
        CompositeOptions(min_contrast=-1)
