"""SyntheticPlasticDataset: reproducible from (seed, index), batched, bounded, exact boxes."""

from __future__ import annotations

import copy

import pytest
import torch
from torch.utils.data import DataLoader

from marinegan import (
    CompositeOptions,
    ConfigError,
    DCGANConfig,
    Generator,
    SyntheticPlasticDataset,
    YoloDataset,
    detection_collate,
)
from marinegan.toydata import make_toy_yolo


@pytest.fixture(scope="module")
def backgrounds(tmp_path_factory):
    return YoloDataset(make_toy_yolo(tmp_path_factory.mktemp("bg") / "bg", n=6, size=96, seed=0))


@pytest.fixture(scope="module")
def rgba_generator():
    torch.manual_seed(0)
    g = Generator(DCGANConfig(image_size=32, channels=4, ngf=8, nz=16))
    with torch.no_grad():  # make the alpha channel vary across latents so boxes differ
        g.main[-2].weight[:, 3].mul_(20)
    return g.eval()


@pytest.fixture(scope="module")
def rgb_generator():
    torch.manual_seed(1)
    return Generator(DCGANConfig(image_size=32, channels=3, ngf=8, nz=16)).eval()


def composite_set(g, bg, **kw):
    return SyntheticPlasticDataset(g, kw.pop("length", 12), backgrounds=bg, label="bag", device="cpu", **kw)


def assert_same_items(a, b):
    assert torch.equal(a[0], b[0])
    torch.testing.assert_close(a[1]["boxes"].as_subclass(torch.Tensor), b[1]["boxes"].as_subclass(torch.Tensor))
    assert torch.equal(a[1]["labels"], b[1]["labels"])


def test_items_are_a_function_of_seed_and_index_only(rgba_generator, backgrounds):
    ds = composite_set(rgba_generator, backgrounds, batch_size=4, length=12)
    forward = [ds[i] for i in range(12)]
    fresh = composite_set(rgba_generator, backgrounds, batch_size=4, length=12)
    backward = {i: fresh[i] for i in reversed(range(12))}
    longer = composite_set(rgba_generator, backgrounds, batch_size=4, length=40)
    for i in range(12):
        assert_same_items(forward[i], backward[i])
        assert_same_items(forward[i], longer[i])
    other_seed = composite_set(rgba_generator, backgrounds, batch_size=4, length=12, seed=1)
    assert not torch.equal(forward[0][0], other_seed[0][0])


def test_truncated_sets_draw_each_items_objects_within_the_threshold(rgba_generator, backgrounds):
    """SyntheticPlasticDataset(truncation=t): item i's latents lie within ±t and keep the untruncated draw's values
    inside it; the item count, background and placement stream stay the item's own (same seed, same objects count),
    and the composites are reproducible."""
    plain = composite_set(rgba_generator, backgrounds, length=8)
    tight = composite_set(rgba_generator, backgrounds, length=8, truncation=0.5)
    changed = 0
    for i in range(8):
        z, zt = plain.latents(i), tight.latents(i)
        assert zt.shape == z.shape and zt.abs().max() <= 0.5
        assert torch.equal(zt[z.abs() <= 0.5], z[z.abs() <= 0.5])
        changed += not torch.equal(tight[i][0], plain[i][0])
        assert_same_items(tight[i], composite_set(rgba_generator, backgrounds, length=8, truncation=0.5)[i])
    assert changed >= 4, "truncated latents make other objects in most items"
    assert "truncation=0.5" in repr(tight)


def test_batch_size_changes_nothing_but_float_rounding(rgb_generator):
    a = SyntheticPlasticDataset(rgb_generator, 10, mode="scene", batch_size=3, device="cpu")
    b = SyntheticPlasticDataset(rgb_generator, 10, mode="scene", batch_size=10, device="cpu")
    for i in range(10):
        diff = (a[i][0].int() - b[i][0].int()).abs().max().item()
        assert diff <= 1, "uint8 images may differ by one step of rounding at most"


@pytest.mark.parametrize("materialize", [False, True])
def test_same_samples_with_two_dataloader_workers(rgba_generator, backgrounds, materialize):
    ds = composite_set(rgba_generator, backgrounds, batch_size=4, length=10)
    direct = [ds[i] for i in range(10)]
    loader = DataLoader(composite_set(rgba_generator, backgrounds, batch_size=4, length=10, materialize=materialize,
                                      progress=False), batch_size=3, num_workers=2, collate_fn=list)
    via_workers = [item for batch in loader for item in batch]
    assert len(via_workers) == 10
    for a, b in zip(direct, via_workers, strict=True):
        assert_same_items(a, b)


def test_generator_runs_once_per_block_and_the_cache_is_bounded(rgb_generator):
    calls = []
    handle = rgb_generator.register_forward_hook(lambda _m, i, _o: calls.append(len(i[0])))
    try:
        ds = SyntheticPlasticDataset(rgb_generator, 20, mode="scene", batch_size=8, cache_blocks=2, device="cpu")
        for i in range(20):
            ds[i]
    finally:
        handle.remove()
    assert calls == [8, 8, 4], "one batched forward pass per block of indices"
    assert len(ds._cache) <= 2


def test_random_access_to_a_lazy_set_warns_and_materialize_does_not(rgb_generator):
    ds = SyntheticPlasticDataset(rgb_generator, 12, mode="scene", batch_size=2, cache_blocks=1, device="cpu")
    with pytest.warns(UserWarning, match="materialize=True"):
        for i in [0, 4, 0, 8, 2]:
            ds[i]
    m = SyntheticPlasticDataset(rgb_generator, 12, mode="scene", batch_size=2, cache_blocks=1, device="cpu",
                                materialize=True)
    assert len(m._cache) == 6
    assert torch.equal(m[5][0], ds[5][0])


LOOKS = {"blur_match": True, "haze_match": True, "noise_match": True}


@pytest.mark.parametrize("blend, looks", [("alpha", {}), ("hard", {}), ("gaussian", {}), ("poisson", {}),
                                          ("alpha", LOOKS), ("poisson", LOOKS)])
def test_materialised_items_equal_live_compositing_bit_for_bit(rgba_generator, backgrounds, blend, looks):
    options = CompositeOptions(blend=blend, color_match=0.5, max_overlap=0.6, scale=(0.3, 0.7), **looks)
    live = composite_set(rgba_generator, backgrounds, length=10, batch_size=4, options=options)
    stored = composite_set(rgba_generator, backgrounds, length=10, batch_size=4, options=options, materialize=True,
                           progress=False)
    assert stored._stored is not None and len(stored._stored) == 10 and not stored._cache, "sprites dropped"
    assert 0 < stored.stored_nbytes() < 10 * 96 * 96 * 3, "only changed pixels are kept, not whole frames"
    for i in reversed(range(10)):
        a, b = live[i], stored[i]
        assert_same_items(a, b)
        assert a[1]["background_index"] == b[1]["background_index"] and a[1]["image_id"] == b[1]["image_id"] == i
        assert type(a[0]) is type(b[0]) and a[0].shape == b[0].shape


def test_editing_a_read_item_in_place_changes_nothing_stored(rgba_generator, backgrounds):
    ds = composite_set(rgba_generator, backgrounds, length=4, materialize=True, progress=False)
    first = copy.deepcopy(ds[2])  # a snapshot that shares no memory with the set
    image, target = ds[2]
    image.zero_()
    target["boxes"].mul_(0.5)
    target["labels"].fill_(7)
    assert_same_items(ds[2], first)


def test_materialised_set_notices_backgrounds_that_read_differently(rgba_generator, tmp_path):
    """Random transforms on the backgrounds would make stored pixels wrong: detected, warned, composited live."""
    from torchvision.transforms import v2

    root = make_toy_yolo(tmp_path / "bg", n=4, size=80, seed=3)
    plain = YoloDataset(root)
    ds = composite_set(rgba_generator, plain, length=6, batch_size=4, materialize=True, progress=False)
    before = [ds[i] for i in range(6)]
    plain.transforms = v2.RandomHorizontalFlip(p=1.0)  # from now on every background reads mirrored
    with pytest.warns(UserWarning, match="reads different pixels than when this set was materialised"):
        after = [ds[i] for i in range(6)]
    mirrored_live = composite_set(rgba_generator, YoloDataset(root, transforms=v2.RandomHorizontalFlip(p=1.0)),
                                  length=6, batch_size=4)
    for i in range(6):
        assert_same_items(after[i], mirrored_live[i])
        assert not torch.equal(after[i][0], before[i][0])


def test_backgrounds_that_override_reading_are_read_their_own_way(rgba_generator, backgrounds):
    """A Subset subclass (or reader subclass) with its own __getitem__ is read through it, not around it."""
    import warnings

    from torch.utils.data import Subset

    class Inverted(Subset):
        def __getitem__(self, i):
            image, target = super().__getitem__(i)
            return 255 - image, target

        def __getitems__(self, indices):  # recent PyTorch asks Subset subclasses for both
            return [self[i] for i in indices]

    inverted = Inverted(backgrounds, range(len(backgrounds)))
    inverted.classes = backgrounds.classes
    live = composite_set(rgba_generator, inverted, length=6)
    stored = composite_set(rgba_generator, inverted, length=6, materialize=True, progress=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "reads different pixels" fallback: the stored items are used
        for i in range(6):
            assert_same_items(stored[i], live[i])


def test_composite_boxes_are_exact_and_inside_the_image(rgba_generator, backgrounds):
    ds = composite_set(rgba_generator, backgrounds, length=16, keep_background_boxes=False,
                       options=CompositeOptions(blend="hard", max_overlap=0.0), max_objects=3)
    n_boxes = 0
    for i in range(len(ds)):
        image, target = ds[i]
        background = backgrounds[target["background_index"]][0]
        boxes = target["boxes"].as_subclass(torch.Tensor)
        h, w = image.shape[-2:]
        assert (boxes[:, 0] >= 0).all() and (boxes[:, 1] >= 0).all()
        assert (boxes[:, 2] <= w).all() and (boxes[:, 3] <= h).all()
        assert (target["labels"] == ds.classes.index("bag")).all()
        changed = (image.int() - background.int()).abs().sum(0) > 0
        inside = torch.zeros_like(changed)
        for x0, y0, x1, y1 in boxes.long().tolist():
            inside[y0:y1, x0:x1] = True
            # tight: every edge row and column of the box holds pasted pixels
            assert changed[y0:y1, x0].any() and changed[y0:y1, x1 - 1].any()
            assert changed[y0, x0:x1].any() and changed[y1 - 1, x0:x1].any()
        assert not (changed & ~inside).any(), "pixels changed outside every box"
        n_boxes += len(boxes)
    assert n_boxes >= len(ds)


def test_background_boxes_are_kept(rgba_generator, backgrounds):
    ds = composite_set(rgba_generator, backgrounds, length=4)
    image, target = ds[1]  # (item 0's one object is a speck under min_visible_area on these 96 px toy frames)
    bg_target = backgrounds[target["background_index"]][1]
    k = len(bg_target["boxes"])
    assert len(target["boxes"]) > k
    torch.testing.assert_close(target["boxes"][:k].as_subclass(torch.Tensor),
                               bg_target["boxes"].as_subclass(torch.Tensor))


def test_scene_mode_targets(rgb_generator):
    image, target = SyntheticPlasticDataset(rgb_generator, 3, mode="scene", device="cpu")[2]
    assert image.shape == (3, 32, 32) and image.dtype == torch.uint8
    assert target["boxes"].shape == (0, 4) and len(target["labels"]) == 0
    assert target["image_label"] == 1 and target["synthetic"] is True


def test_bad_configuration_errors(rgba_generator, rgb_generator, backgrounds):
    with pytest.raises(ConfigError, match="needs backgrounds="):
        SyntheticPlasticDataset(rgba_generator, 4)
    with pytest.raises(ConfigError, match="say which class"):
        SyntheticPlasticDataset(rgba_generator, 4, backgrounds=backgrounds)
    with pytest.raises(ConfigError, match="not one of the classes"):
        SyntheticPlasticDataset(rgba_generator, 4, backgrounds=backgrounds, label="tyre")
    with pytest.raises(ConfigError, match="RGB generator"):
        SyntheticPlasticDataset(rgba_generator, 4, mode="scene")
    with pytest.raises(ConfigError, match="length=0"):
        SyntheticPlasticDataset(rgb_generator, 0, mode="scene")
    with pytest.raises(IndexError):
        SyntheticPlasticDataset(rgb_generator, 3, mode="scene")[3]


def test_loads_from_a_directory_and_the_hub(rgb_generator, tmp_path, hub_server):
    rgb_generator.save_pretrained(tmp_path / "g")
    hub_server.hub.commit_dir("ocean/scenes", tmp_path / "g")
    a = SyntheticPlasticDataset(rgb_generator, 4, mode="scene", device="cpu")
    b = SyntheticPlasticDataset(str(tmp_path / "g"), 4, mode="scene", device="cpu")
    c = SyntheticPlasticDataset("ocean/scenes", 4, mode="scene", device="cpu")
    assert torch.equal(a[3][0], b[3][0]) and torch.equal(a[3][0], c[3][0])


def test_a_torchvision_detector_trains_on_synthetic_batches(rgba_generator, backgrounds):
    from torchvision.models.detection import fasterrcnn_mobilenet_v3_large_320_fpn

    ds = composite_set(rgba_generator, backgrounds, length=4)
    images, targets = detection_collate([ds[i] for i in range(4)])
    model = fasterrcnn_mobilenet_v3_large_320_fpn(weights=None, weights_backbone=None, num_classes=len(ds.classes))
    model.train()
    losses = model(images, targets)
    total = sum(losses.values())
    assert torch.isfinite(total)
    total.backward()


def solid_cutouts(colours: list[tuple[int, int, int]], size: int = 24) -> torch.Tensor:
    """Opaque discs of one colour each: a pasted object's colour says which cut-out it is."""
    yy, xx = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    disc = (((yy - size / 2 + 0.5) ** 2 + (xx - size / 2 + 0.5) ** 2) < (size / 2.5) ** 2).to(torch.uint8) * 255
    return torch.stack([torch.cat([torch.tensor(c, dtype=torch.uint8)[:, None, None].expand(3, size, size),
                                   disc[None]]) for c in colours])


def test_copy_paste_shares_backgrounds_counts_and_seeding_with_the_gan_set(rgba_generator, backgrounds):
    from marinegan import CopyPasteDataset

    cutouts = solid_cutouts([(255, 0, 0), (0, 255, 0)])
    options = CompositeOptions(color_match=0.0, max_overlap=1.0, flip=False)
    cp = CopyPasteDataset(cutouts, 12, backgrounds=backgrounds, label="bag", options=options, seed=4)
    gan = composite_set(rgba_generator, backgrounds, seed=4, options=options)
    for i in range(12):
        image, target = cp[i]
        assert target["background_index"] == gan[i][1]["background_index"]
        n_bg = len(backgrounds[target["background_index"]][1]["boxes"])
        n_objects, _ = cp._objects(i)
        assert len(target["boxes"]) - n_bg == n_objects == gan._objects(i)[0]
        for x0, y0, x1, y1 in target["boxes"][n_bg:].long().tolist():  # each pasted object is one of the cut-outs
            centre = image[:, (y0 + y1) // 2, (x0 + x1) // 2].tolist()
            assert centre in ([255, 0, 0], [0, 255, 0]), centre
    loader = DataLoader(cp, batch_size=4, num_workers=2, collate_fn=list)
    for k, item in enumerate(x for batch in loader for x in batch):
        assert_same_items(item, cp[k])
    assert "CopyPasteDataset(length=12" in repr(cp)


def test_copy_paste_refuses_what_is_not_cutouts(backgrounds):
    from marinegan import CopyPasteDataset

    with pytest.raises(ConfigError, match="cutouts must be object_crops"):
        CopyPasteDataset(torch.zeros(0, 4, 8, 8, dtype=torch.uint8), 4, backgrounds=backgrounds, label="bag")
    with pytest.raises(ConfigError, match="needs backgrounds="):
        CopyPasteDataset(solid_cutouts([(1, 2, 3)]), 4, backgrounds=None, label="bag")
