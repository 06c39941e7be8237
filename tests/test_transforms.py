"""PasteObjects (issue 17, lever 1): fresh objects every epoch, inside any detection pipeline, reproducible from
(seed, epoch, image_id) on any number of workers."""

from __future__ import annotations

import pytest
import torch
from torch.utils.data import DataLoader, Subset, get_worker_info
from torchvision import tv_tensors
from torchvision.transforms import v2

from marinegan import DCGANConfig, Generator, YoloDataset, detection_collate, mix_datasets
from marinegan.errors import ConfigError
from marinegan.evaluate.detection import build_detector, train_detector
from marinegan.toydata import make_toy_yolo
from marinegan.transforms import PastedDataset, PasteObjects, SpriteBank, set_epoch


@pytest.fixture(scope="module")
def generator():
    torch.manual_seed(0)
    g = Generator(DCGANConfig(image_size=32, channels=4, ngf=8, nz=16))
    with torch.no_grad():
        g.main[-2].weight[:, 3].mul_(20)  # alphas that vary, so objects are visible
    return g.eval()


@pytest.fixture(scope="module")
def frames(tmp_path_factory):
    return YoloDataset(make_toy_yolo(tmp_path_factory.mktemp("f") / "f", n=8, size=160, seed=0))


def paste(generator, **kw) -> PasteObjects:
    return PasteObjects(SpriteBank(generator, size=64), label=1, **{"p": 1.0, "seed": 0, **kw})


def test_objects_are_pasted_with_their_boxes_and_the_input_is_untouched(generator, frames):
    image, target = frames[3]
    before = image.clone()
    target["difficult"] = torch.zeros(len(target["boxes"]), dtype=torch.bool)
    out, new = paste(generator, min_objects=3)(image, target)
    k, n = len(target["boxes"]), new["pasted"]
    assert n >= 1 and len(new["boxes"]) == k + n and new["labels"][k:].eq(1).all()
    assert torch.equal(new["boxes"][:k], target["boxes"]) and len(new["difficult"]) == k + n
    assert isinstance(out, tv_tensors.Image) and isinstance(new["boxes"], tv_tensors.BoundingBoxes)
    assert torch.equal(image, before) and not torch.equal(out, image)
    changed = (out != image).any(0).nonzero()
    lo, hi = changed.min(0).values.flip(0), changed.max(0).values.flip(0)
    boxes = new["boxes"][k:]
    assert (lo >= boxes[:, :2].min(0).values - 40).all() and (hi <= boxes[:, 2:].max(0).values + 40).all()


def test_draws_depend_on_seed_epoch_and_image_id_only(generator, frames):
    t = paste(generator)
    a = t(*frames[2])
    assert torch.equal(a[0], paste(generator)(*frames[2])[0])  # a new transform, same draws
    t.set_epoch(1)
    b = t(*frames[2])
    assert not torch.equal(a[0], b[0])  # a new epoch: a new bank and new placements
    assert torch.equal(paste(generator, seed=0).bank.sprites(1), t.bank.sprites(1))
    assert not torch.equal(t.bank.sprites(0), t.bank.sprites(1))
    skipped = PasteObjects(SpriteBank(generator, size=8), label=1, p=0.0)(*frames[2])
    assert skipped[1]["pasted"] == 0 and torch.equal(skipped[0], frames[2][0])


def test_in_a_torchvision_pipeline_and_the_same_on_0_or_2_workers(generator, tmp_path):
    root = make_toy_yolo(tmp_path / "d", n=8, size=96, seed=1)
    pipeline = v2.Compose([paste(generator, p=0.7), v2.RandomHorizontalFlip(p=1.0)])
    ds = YoloDataset(root, transforms=pipeline)
    set_epoch(ds, 2)
    assert pipeline.transforms[0].epoch == 2

    def batches(workers: int) -> list:
        loader = DataLoader(ds, batch_size=4, num_workers=workers, collate_fn=detection_collate)
        return [(torch.stack(i), [t["boxes"].clone() for t in ts]) for i, ts in loader]

    one, two = batches(0), batches(2)
    for (ia, ba), (ib, bb) in zip(one, two, strict=True):
        assert torch.equal(ia, ib) and all(torch.equal(x, y) for x, y in zip(ba, bb, strict=True))
    image, target = ds[0]
    raw_image, raw_target = YoloDataset(root)[0]
    flipped = raw_target["boxes"][:, [2, 1, 0, 3]] * torch.tensor([-1, 1, -1, 1]) + torch.tensor([96, 0, 96, 0])
    assert torch.allclose(target["boxes"][: len(raw_target["boxes"])].as_subclass(torch.Tensor), flipped)


class _RefusesToRunInWorkers(Generator):
    """A generator that fails inside a DataLoader worker: there, the bank must come from the main process."""

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        if get_worker_info() is not None:
            raise RuntimeError("a DataLoader worker ran the generator")
        return super().forward(z)


def test_set_epoch_makes_the_bank_once_in_the_main_process_for_every_worker(generator, tmp_path):
    guarded = _RefusesToRunInWorkers(generator.config)
    guarded.load_state_dict(generator.state_dict())
    bank = SpriteBank(guarded.eval(), size=16, device="cpu")
    ds = YoloDataset(make_toy_yolo(tmp_path / "d", n=8, size=96, seed=1),
                     transforms=PasteObjects(bank, label=1, p=1.0, seed=0))
    for epoch in (1, 2):  # each epoch's bank is new, and made before the workers start
        set_epoch(ds, epoch)
        loader = DataLoader(ds, batch_size=4, num_workers=2, collate_fn=detection_collate)
        assert sum(t["pasted"] for _, ts in loader for t in ts) >= 8
        assert torch.equal(bank.sprites(epoch), SpriteBank(generator, size=16, device="cpu").sprites(epoch))


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_a_cuda_bank_without_cuda_is_refused_with_one_line(generator):
    with pytest.raises(ConfigError, match="CUDA is not available"):
        SpriteBank(generator, size=4, device="cuda")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_a_bank_made_on_cuda_matches_the_cpu_one_to_rounding(generator):
    cpu = SpriteBank(generator, size=64, seed=5, device="cpu").sprites(3).int()
    cuda = SpriteBank(generator, size=64, seed=5, device="cuda").sprites(3)
    assert cuda.device.type == "cpu" and cuda.dtype == torch.uint8
    assert (cuda.int() - cpu).abs().max() <= 2


def test_refuses_float_images_and_a_missing_image_id(generator, frames):
    image, target = frames[0]
    with pytest.raises(ConfigError, match="before ToDtype"):
        paste(generator)(image.float() / 255, target)
    with pytest.raises(ConfigError, match="image_id"):
        paste(generator)(image, {k: v for k, v in target.items() if k != "image_id"})
    with pytest.raises(ConfigError, match="probability"):
        PasteObjects(SpriteBank(generator, size=4), label=1, p=1.5)


def test_train_detector_gives_every_epoch_new_objects(generator, frames):
    t = paste(generator)
    fresh = PastedDataset(frames, 6, t, seed=0)
    mixed = mix_datasets(Subset(frames, range(6)), fresh, 0.5, seed=0)
    mixed.real.classes = frames.classes
    first = [fresh[i][0].clone() for i in range(3)]
    model = build_detector("fasterrcnn_mobilenet_v3_large_320_fpn", len(frames.classes), min_size=64)
    train_detector(model, mixed, steps=7, batch_size=4, device="cpu", progress=False)  # 12 items: 3 epochs
    assert t.epoch == 2
    assert any(not torch.equal(a, fresh[i][0]) for i, a in enumerate(first))
    assert all(fresh[i][1]["synthetic"] for i in range(3))


def test_distractors_are_pasted_without_boxes_and_leave_the_objects_where_they_were(generator, frames):
    """Cut, Paste and Learn's distractors: other objects in the frame, no box for them, the objects' draws kept."""
    torch.manual_seed(1)
    others = torch.zeros(5, 4, 32, 32, dtype=torch.uint8)
    others[:, :3] = torch.randint(0, 256, (5, 3, 1, 1), dtype=torch.uint8)  # flat colours, opaque in the middle
    others[:, 3, 6:26, 6:26] = 255
    image, target = frames[5]
    plain_image, plain = paste(generator)(image, target)
    t = paste(generator, distractors=others, max_distractors=3)
    out, new = t(image, target)
    assert 1 <= new["distractors"] <= 3 and "distractors" not in plain
    assert torch.equal(new["boxes"], plain["boxes"]) and torch.equal(new["labels"], plain["labels"])
    assert not torch.equal(out, plain_image)  # the distractors show where no object covers them
    assert torch.equal(t(image, target)[0], out)  # seeded by (seed, epoch, image_id): the same again
    assert "distractors=1-3 of SpriteBank(5 cut-outs)" in repr(t)
    with pytest.raises(ConfigError, match="max_distractors"):
        paste(generator, distractors=others, max_distractors=0)


def test_a_bank_can_hold_real_cutouts_beside_each_epochs_generated_objects(generator, frames):
    """SpriteBank(generator, cutouts=...): every epoch's bank is the cut-outs, unchanged, then the same new objects a
    bank without them makes, and PasteObjects pastes from it. A bank of cut-outs given cut-outs, or cut-outs of another
    shape, are refused."""
    real = torch.zeros(6, 4, 32, 32, dtype=torch.uint8)
    real[:, 1] = 200
    real[:, 3, 8:24, 8:24] = 255
    both, alone = SpriteBank(generator, size=6, cutouts=real), SpriteBank(generator, size=6)
    for epoch in (0, 1):
        bank = both.sprites(epoch)
        assert torch.equal(bank[:6], real) and torch.equal(bank[6:], alone.sprites(epoch))
    assert not torch.equal(both.sprites(0)[6:], both.sprites(1)[6:]), "new generated objects every epoch"
    assert repr(both) == "SpriteBank(6 generated per epoch, beside 6 cut-outs)"
    t = PasteObjects(both, label=1, p=1.0, seed=0)
    pasted = [t(*frames[i])[1] for i in range(len(frames))]
    assert sum(target["pasted"] for target in pasted) >= len(frames), "objects pasted from the joint bank"
    with pytest.raises(ConfigError, match="a bank of cut-outs takes them as its source"):
        SpriteBank(real, cutouts=real)
    with pytest.raises(ConfigError, match=r"generator's shape \(C, S, S\) = \(4, 32, 32\)"):
        SpriteBank(generator, cutouts=torch.zeros(3, 4, 64, 64, dtype=torch.uint8))


def test_a_truncated_bank_draws_more_alike_objects_reproducibly(generator):
    """SpriteBank(generator, truncation=t): each epoch's objects come from latents within ±t, reproducible from
    (seed, epoch), less varied than an untruncated bank's (the trained default generator's objects); a bank of
    cut-outs has no latents to truncate."""
    from marinegan import load_generator

    default = load_generator("default", device="cpu")
    loose, tight = SpriteBank(default, size=256, device="cpu"), SpriteBank(default, size=256, truncation=0.5,
                                                                           device="cpu")
    assert torch.equal(tight.sprites(0), SpriteBank(default, size=256, truncation=0.5, device="cpu").sprites(0))
    assert not torch.equal(tight.sprites(0), tight.sprites(1)), "new objects every epoch"
    spread = {name: bank.sprites(0).float().std(0).mean() for name, bank in (("loose", loose), ("tight", tight))}
    assert spread["tight"] < 0.8 * spread["loose"], spread
    assert repr(tight) == "SpriteBank(256 generated per epoch, latents within ±0.5)"
    with pytest.raises(ConfigError, match="cut-outs have none"):
        SpriteBank(torch.zeros(3, 4, 32, 32, dtype=torch.uint8), truncation=1.0)
    with pytest.raises(ConfigError, match="positive number"):
        SpriteBank(generator, truncation=-1.0)


def test_a_128px_resize_generator_trains_and_feeds_pasteobjects(frames, tmp_path):
    """Issue 17's sharper-objects lever at toy size: a 128 px RGBA generator with resize upsampling trains, saves and
    loads back, and 128 px objects go through the same SpriteBank and PasteObjects as the 64 px default's."""
    from marinegan.train import TrainConfig, train_gan

    config = DCGANConfig(image_size=128, channels=4, nz=8, ngf=4, ndf=4, upsample="resize")
    objects = [torch.randint(0, 256, (4, 128, 128), dtype=torch.uint8) for _ in range(8)]
    train_gan(objects, TrainConfig(model=config, steps=2, batch_size=4), tmp_path / "g128", device="cpu",
              progress=False)
    trained = Generator.from_pretrained(tmp_path / "g128" / "generator")
    assert trained.config == config
    assert SpriteBank(trained, size=6, device="cpu").sprites(0).shape == (6, 4, 128, 128)
    # two steps on noise leave every alpha at 0.5: paste a fresh one's objects, with alphas that vary (as above)
    torch.manual_seed(0)
    fresh = Generator(config)
    with torch.no_grad():
        fresh.main[-2].weight[3].mul_(20)  # the last convolution's alpha filter
    paste = PasteObjects(SpriteBank(fresh, size=6, device="cpu"), label=1, p=1.0, seed=0)
    results = [(image, *paste(image, target)) for image, target in (frames[i] for i in range(len(frames)))]
    assert sum(new["pasted"] for _, _, new in results) >= 1
    assert all(torch.equal(out, image) == (new["pasted"] == 0) for image, out, new in results)
