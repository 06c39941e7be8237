"""`PasteObjects`: fresh objects pasted into every training sample, as a torchvision-v2-style transform.

A materialised synthetic set (:class:`~marinegan.SyntheticPlasticDataset`) holds a fixed set of
composites that a detector sees again every epoch. What a generator has that a few hundred cut-outs
lack is an unlimited supply of new objects; Simple Copy-Paste (Ghiasi et al. 2021) pastes new random
objects into every batch. ``PasteObjects`` does that inside any detection pipeline::

    paste = PasteObjects(SpriteBank("default"), label=1, p=0.5, seed=0)
    real = VocDataset(root, "train", classes=["plastic"], transforms=v2.Compose([paste, v2.RandomHorizontalFlip()]))
    for epoch in range(epochs):
        set_epoch(real, epoch)            # a new bank of generated objects, new placements
        for images, targets in DataLoader(real, ...): ...

Item ``(image, target)`` with ``target["image_id"] == i`` at epoch ``e`` gets pastes that depend on
``(seed, e, i)`` alone, so runs are the same on any number of DataLoader workers. Objects come from a
:class:`SpriteBank`: a generator's bank is ``size`` objects generated afresh for each epoch (a sample
then costs a composite, not a forward pass), cut-outs are a fixed bank. Pasting uses the library's
one compositor (:func:`~marinegan.synth.composite.paste_objects`) with the same
:class:`~marinegan.CompositeOptions` as the synthetic sets: placement off black bars and overlays,
bounded cover of real boxes, blending, colour match.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence

import numpy as np
import torch
from torch.utils.data import Dataset, Subset, get_worker_info
from torchvision import tv_tensors

from marinegan.device import resolve_device
from marinegan.errors import ConfigError
from marinegan.images import to_uint8
from marinegan.synth.composite import CompositeOptions, channels_last, paste_objects
from marinegan.synth.placement import BoxSizes
from marinegan.synth.realism import realism_scores
from marinegan.synth.seeding import index_generator, index_seed

_BANK, _PASTE, _DISTRACT = 11, 12, 13  # random streams, apart from the synthetic sets' own
PASTE_OPTIONS = CompositeOptions(scale=(0.2, 0.7), box_grow=1.33)
"""PasteObjects' default compositing, the best recipe of docs/results.md (its ten-seed test): objects of 0.2-0.7 of
the frame's short side, each box grown 1.33 times about its centre to be as loose as Trash-ICRA19's labels (what
``object_crops(real, 64, alpha="grabcut").box_grow()`` measures there; measure your own labels, or set 1 for boxes
tight around the object). Materialised composites showed no gain at either scale, so ``CompositeOptions`` and the
synthetic sets keep 0.15-0.45 and tight boxes."""
KEEP_REALISTIC = 0.75
"""The realism filter's default share when a judge is given: the recipe of docs/results.md."""


class SpriteBank:
    """The objects a :class:`PasteObjects` draws from.

    Args:
        source: a generator (``"default"``, a folder, a Hub id or a :class:`~marinegan.Generator`): ``size``
            new objects per epoch; or cut-outs (``object_crops(...)`` or a uint8 tensor ``(N, C, S, S)``),
            the same bank every epoch.
        size: objects generated per epoch (generators only; the default generator makes about 670 a second
            on one CPU thread, so a bank costs about 1.5 s of CPU per epoch).
        seed: seeds the generated banks: epoch ``e``'s bank depends on ``(seed, e)`` alone.
        keep: a realism filter (generators only): generate ``ceil(size / keep)`` objects per epoch and keep
            the ``size`` that ``judge`` rates most real (:func:`~marinegan.synth.realism.realism_scores`).
            1 keeps every object. Default: :data:`KEEP_REALISTIC` (0.75) when a generator has a ``judge``, else 1.
        judge: real cut-outs (``object_crops(..., alpha="grabcut")``, the recipe's judge) or the generator's
            :class:`~marinegan.Discriminator`; needed when ``keep < 1``.
        device: where the main process generates banks: ``"auto"`` (CUDA when present), ``"cpu"``, ``"cuda"``.
        cutouts: real cut-outs (generators only; ``object_crops(...)`` or uint8 ``(M, C, S, S)`` of the generator's
            shape) put beside every epoch's generated objects: the bank is the ``M`` cut-outs then the ``size`` new
            objects, so with ``size = M`` a paste draws a real or a generated object with even odds.
        truncation: generators only: latents drawn within ``±truncation`` standard deviations (BigGAN's
            truncation trick, :meth:`~marinegan.Generator.sample_latent`); ``None`` (default): untruncated.

    Where a bank is made: :meth:`PasteObjects.set_epoch` (called by :func:`set_epoch` before each epoch's
    DataLoader iterator) makes the epoch's bank at once, in the main process and on ``device``; DataLoader
    workers then use that bank (forked workers inherit it, spawned ones receive it pickled) instead of each
    generating its own. A bank that is needed but not made yet is generated where it is needed (on the CPU
    inside a worker). A bank made on CUDA differs from a CPU one by the rounding of the forward pass.
    """

    def __init__(self, source: object, size: int = 1024, seed: int = 0, batch_size: int = 256, *,
                 keep: float | None = None, judge: object = None, device: str | torch.device = "auto",
                 cutouts: object = None, truncation: float | None = None) -> None:
        from marinegan.models.dcgan import Generator, check_truncation

        images = getattr(source, "images", source)
        if keep is None:
            keep = KEEP_REALISTIC if judge is not None and not isinstance(images, torch.Tensor) else 1.0
        if size < 1 or batch_size < 1:
            raise ConfigError(f"size={size} and batch_size={batch_size} must be at least 1")
        if not 0 < keep <= 1:
            raise ConfigError(f"keep={keep} must be a share in (0, 1]: the most realistic fraction of objects kept")
        if keep < 1 and judge is None:
            raise ConfigError("keep < 1 needs judge=: real cut-outs (object_crops(...)) or the generator's "
                              "Discriminator")
        self.size, self.seed, self.batch_size, self.keep, self.judge = size, seed, batch_size, keep, judge
        if isinstance(images, torch.Tensor):
            if images.dtype != torch.uint8 or images.dim() != 4 or images.shape[1] not in (3, 4) or not len(images):
                raise ConfigError("cut-outs must be object_crops(...) or a non-empty uint8 tensor (N, 4, S, S)")
            if keep < 1:
                raise ConfigError("keep= filters generated objects; cut-outs are real objects already")
            if truncation is not None:
                raise ConfigError("truncation= shapes a generator's latents; cut-outs have none: leave it out")
            self.generator, self.fixed = None, images
        else:
            from marinegan.hub import load_generator

            g = source if isinstance(source, Generator) else load_generator(source, device="cpu")
            self.generator, self.fixed = g.cpu().eval(), None
            _check_judge(judge, g)
        check_truncation(truncation)
        self.truncation = truncation
        self.cutouts = None if cutouts is None else getattr(cutouts, "images", cutouts)
        if self.cutouts is not None:
            if self.generator is None:
                raise ConfigError("cutouts= adds real objects to a generator's bank; a bank of cut-outs takes them "
                                  "as its source")
            c = self.generator.config
            shape = (c.channels, c.image_size, c.image_size)
            if not isinstance(self.cutouts, torch.Tensor) or self.cutouts.dtype != torch.uint8 \
                    or tuple(self.cutouts.shape[1:]) != shape or not len(self.cutouts):
                raise ConfigError(f"cutouts= must be object_crops(...) or a non-empty uint8 tensor (M, C, S, S) of "
                                  f"the generator's shape (C, S, S) = {shape}")
        self.device = resolve_device(device)
        self._cached: tuple[int, torch.Tensor] | None = None
        self._on_device: torch.nn.Module | None = None  # the generator's copy on `device` (main process only)

    @torch.inference_mode()
    def sprites(self, epoch: int) -> torch.Tensor:
        """The bank of ``epoch``: uint8 ``(N, C, S, S)``, made once per process and epoch."""
        if self.fixed is not None:
            return self.fixed
        if self._cached is None or self._cached[0] != epoch:
            g = torch.Generator().manual_seed(index_seed(self.seed, epoch, _BANK))
            n = math.ceil(self.size / self.keep - 1e-9)
            z = self.generator.sample_latent(n, g, self.truncation)
            net = self._generator_here()
            dev = next(net.parameters()).device
            out = torch.cat([to_uint8(net(z[i : i + self.batch_size].to(dev))).cpu()
                             for i in range(0, n, self.batch_size)])
            if n > self.size:  # the realism filter: the best `size`, in their generated order
                out = out[realism_scores(out, self.judge).topk(self.size).indices.sort().values]
            if self.cutouts is not None:
                out = torch.cat([self.cutouts, out])
            self._cached = (epoch, out)
        return self._cached[1]

    def _generator_here(self) -> torch.nn.Module:
        """The generator on ``device`` in the main process; on the CPU in a DataLoader worker (a forked worker
        must not touch CUDA). The device copy takes the generator's current weights each time, so a generator
        that trains on between epochs is never used stale."""
        if self.device.type == "cpu" or get_worker_info() is not None:
            return self.generator
        if self._on_device is None:
            self._on_device = copy.deepcopy(self.generator).to(self.device)
        else:
            self._on_device.load_state_dict(self.generator.state_dict())
        return self._on_device

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_on_device": None}  # a pickled bank (spawned workers) keeps the epoch's objects

    def __repr__(self) -> str:
        what = f"{len(self.fixed)} cut-outs" if self.fixed is not None else f"{self.size} generated per epoch" + (
            f", latents within ±{self.truncation:g}" if self.truncation is not None else "") + (
            f", the most realistic {self.keep:g}" if self.keep < 1 else "") + (
            f", beside {len(self.cutouts)} cut-outs" if self.cutouts is not None else "")
        return f"SpriteBank({what})"


def _check_judge(judge: object, generator: torch.nn.Module) -> None:
    """A Discriminator judge must take ``generator``'s objects: refused when the bank is made, not epochs later."""
    from marinegan.models.dcgan import Discriminator

    if isinstance(judge, Discriminator):
        want = (generator.config.channels, generator.config.image_size)
        have = (judge.config.channels, judge.config.image_size)
        if want != have:
            raise ConfigError(f"the judge takes {have[0]}-channel {have[1]} px images but the generator makes "
                              f"{want[0]}-channel {want[1]} px objects: use the discriminator trained with it")


class PasteObjects(torch.nn.Module):
    """Paste 1 to ``max_objects`` objects from ``bank`` into ``(image, target)`` with probability ``p``.

    Args:
        bank: a :class:`SpriteBank` (or anything it accepts: a generator name, cut-outs).
        label: the pasted objects' class index (``classes.index("plastic")``).
        p: probability that a sample gets objects at all.
        min_objects, max_objects: objects per pasted sample (fewer when there is no room).
        options: placement and blending (:class:`~marinegan.CompositeOptions`); default :data:`PASTE_OPTIONS`
            (``scale=(0.2, 0.7), box_grow=1.33``); ``scale="data"`` needs ``sizes``.
        sizes: :class:`~marinegan.synth.placement.BoxSizes` of the real boxes (``BoxSizes.from_dataset``).
        seed: with the epoch (:meth:`set_epoch`) and ``target["image_id"]``, fixes every draw.
        distractors: objects that are not of class ``label`` (a :class:`SpriteBank`, or what it accepts: e.g.
            ``object_crops(real, 64, alpha="grabcut", label="bio")``), pasted *without* boxes, as Cut, Paste and
            Learn (Dwibedi et al. 2017) does: a pasted look alone then does not mean ``label`` to a detector.
        max_distractors: with ``distractors``, each pasted sample gets 1 to this many of them, placed first (off
            the real boxes, as objects are) from a random stream of their own, so the objects' placements are
            the ones they get without distractors (unless ``options.min_contrast`` drops an object over a
            distractor) and an object may be pasted over a distractor.

    Inputs: ``image`` uint8 ``(3, H, W)`` (put this before ``ToDtype``) and a target with ``boxes``
    (XYXY), ``labels`` and ``image_id``; ``ignored_boxes`` are kept clear of. Returns the image with the
    objects pasted and the target with their boxes and labels appended (per-box keys such as
    ``difficult`` get 0 for them), ``pasted`` (how many) and, with ``distractors``, ``distractors`` (how many were
    placed). Nothing is written into the input.
    """

    def __init__(self, bank: SpriteBank | object, label: int, *, p: float = 0.5, min_objects: int = 1,
                 max_objects: int = 3, options: CompositeOptions | None = None, sizes: BoxSizes | None = None,
                 seed: int = 0, distractors: SpriteBank | object | None = None, max_distractors: int = 2) -> None:
        super().__init__()
        if not 0 <= p <= 1:
            raise ConfigError(f"p={p} must be a probability in [0, 1]")
        if not 1 <= min_objects <= max_objects:
            raise ConfigError(f"need 1 <= min_objects <= max_objects, got {min_objects} and {max_objects}")
        if isinstance(label, bool) or not isinstance(label, int) or label < 1:
            raise ConfigError(f"label={label!r} must be an object class index (1 or more; 0 is the background)")
        self.options = options or PASTE_OPTIONS
        if self.options.scale == "data" and sizes is None:
            raise ConfigError("options.scale='data' needs sizes=BoxSizes.from_dataset(real, label)")
        if isinstance(max_distractors, bool) or not isinstance(max_distractors, int) or max_distractors < 1:
            raise ConfigError(f"max_distractors={max_distractors!r} must be a whole number of 1 or more")
        self.bank = bank if isinstance(bank, SpriteBank) else SpriteBank(bank, seed=seed)
        self.distractors = distractors if distractors is None or isinstance(distractors, SpriteBank) else \
            SpriteBank(distractors, seed=seed)
        self.max_distractors = max_distractors
        self.label, self.p, self.min_objects, self.max_objects = label, p, min_objects, max_objects
        self.sizes, self.seed, self.epoch = sizes, seed, 0

    def set_epoch(self, epoch: int) -> None:
        """Start epoch ``epoch``: a new bank (generators) and new placements. Call it before each epoch's
        DataLoader iterator is made (workers copy the transform then; ``persistent_workers`` would keep the
        old epoch). A generator's bank for the epoch is made here, once, for every worker."""
        self.epoch = int(epoch)
        self.bank.sprites(self.epoch)
        if self.distractors is not None:
            self.distractors.sprites(self.epoch)

    def forward(self, image: torch.Tensor, target: dict) -> tuple[torch.Tensor, dict]:
        if torch.as_tensor(image).dtype != torch.uint8 or image.dim() != 3:
            raise ConfigError("PasteObjects takes uint8 images (3, H, W): put it before ToDtype/Normalize")
        if "image_id" not in target:
            raise ConfigError("PasteObjects seeds each sample by target['image_id'], which this target lacks")
        rng = index_generator(index_seed(self.seed, self.epoch, _PASTE), int(target["image_id"]), _PASTE)
        if torch.rand(1, generator=rng).item() >= self.p:
            return image, {**target, "pasted": 0}
        n = int(torch.randint(self.min_objects, self.max_objects + 1, (1,), generator=rng))
        bank = self.bank.sprites(self.epoch)
        sprites = bank[torch.randint(len(bank), (n,), generator=rng)]
        old = torch.as_tensor(target["boxes"]).as_subclass(torch.Tensor).float().reshape(-1, 4)
        out = channels_last(torch.as_tensor(image).as_subclass(torch.Tensor))
        extra = {}
        if self.distractors is not None:
            extra["distractors"] = self._distract(out, old, target)
        boxes, _, _ = paste_objects(out, sprites, rng, self.options, occupied=old,
                                    ignored=target.get("ignored_boxes"), sizes=self.sizes)
        pasted = torch.from_numpy(out).permute(2, 0, 1)
        return (tv_tensors.Image(pasted) if isinstance(image, tv_tensors.Image) else pasted,
                {**_extended(target, old, boxes, self.label, tuple(pasted.shape[-2:])), **extra})

    def _distract(self, out: np.ndarray, old: torch.Tensor, target: dict) -> int:
        """Paste 1 to ``max_distractors`` distractors into ``out`` (channels-last, in place), boxes dropped; how many
        were placed. Their draws come from their own stream, so the objects' draws stay as without them."""
        rng = index_generator(index_seed(self.seed, self.epoch, _DISTRACT), int(target["image_id"]), _DISTRACT)
        bank = self.distractors.sprites(self.epoch)
        m = int(torch.randint(1, self.max_distractors + 1, (1,), generator=rng))
        sprites = bank[torch.randint(len(bank), (m,), generator=rng)]
        placed, _, _ = paste_objects(out, sprites, rng, self.options, occupied=old,
                                     ignored=target.get("ignored_boxes"), sizes=self.sizes)
        return len(placed)

    def __repr__(self) -> str:
        distract = "" if self.distractors is None else f", distractors=1-{self.max_distractors} of {self.distractors!r}"
        return (f"PasteObjects({self.bank!r}, label={self.label}, p={self.p}, objects={self.min_objects}-"
                f"{self.max_objects}{distract}, seed={self.seed}, epoch={self.epoch})")


def _extended(target: dict, old: torch.Tensor, new: torch.Tensor, label: int, size: tuple[int, int]) -> dict:
    """``target`` with ``new`` boxes of class ``label`` appended; other per-box tensors padded with zeros."""
    k = len(old)
    out = dict(target)
    for key, value in target.items():
        if key in ("boxes", "labels", "ignored_boxes") or not isinstance(value, torch.Tensor):
            continue
        if value.dim() >= 1 and value.shape[0] == k:
            out[key] = torch.cat([value, value.new_zeros((len(new), *value.shape[1:]))])
    out["boxes"] = tv_tensors.BoundingBoxes(torch.cat([old, new]), format="XYXY", canvas_size=size)
    out["labels"] = torch.cat([torch.as_tensor(target["labels"], dtype=torch.int64).reshape(-1),
                               torch.full((len(new),), label, dtype=torch.int64)])
    out["pasted"] = len(new)
    return out


class PastedDataset(Dataset):
    """``length`` samples, each a frame of ``backgrounds`` (drawn by ``(seed, i)``) through ``paste``.

    The synthetic arm of fresh objects: with ``paste.p == 1`` every item is a composite, and each epoch
    (:meth:`set_epoch`) brings new objects and placements, where a materialised synthetic set repeats its
    composites. ``target["synthetic"]`` is True and ``target["image_id"]`` is ``i``.
    """

    def __init__(self, backgrounds: Dataset, length: int, paste: PasteObjects, seed: int = 0,
                 classes: Sequence[str] | None = None) -> None:
        if not isinstance(length, int) or length < 1 or len(backgrounds) == 0:
            raise ConfigError(f"length={length!r} must be a positive integer, over a non-empty set of backgrounds")
        self.backgrounds, self.length, self.paste, self.seed = backgrounds, length, paste, seed
        self.classes = list(classes if classes is not None else getattr(backgrounds, "classes", []))

    def __len__(self) -> int:
        return self.length

    def set_epoch(self, epoch: int) -> None:
        self.paste.set_epoch(epoch)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, dict]:
        if not 0 <= index < self.length:
            raise IndexError(f"index {index} out of range for {self.length} samples")
        j = int(torch.randint(len(self.backgrounds), (1,), generator=index_generator(self.seed, index, _BANK)))
        image, target = self.backgrounds[j]
        image, target = self.paste(image, {**target, "image_id": index, "background_index": j})
        return image, {**target, "synthetic": True}


def set_epoch(dataset: object, epoch: int) -> None:
    """Tell every :class:`PasteObjects` inside ``dataset`` (its ``transforms``, a mix's parts, a ``Subset``'s
    set, a ``v2.Compose``) that epoch ``epoch`` starts. :func:`~marinegan.evaluate.train_detector` calls it."""
    seen: set[int] = set()
    stack = [dataset]
    while stack:
        obj = stack.pop()
        if obj is None or id(obj) in seen:
            continue
        seen.add(id(obj))
        if isinstance(obj, PasteObjects | PastedDataset):
            obj.set_epoch(epoch)
            continue
        if isinstance(obj, Subset):
            stack.append(obj.dataset)
        for name in ("transforms", "transform", "real", "synthetic", "backgrounds"):
            stack.append(getattr(obj, name, None))
        inner = getattr(obj, "transforms", None)
        if isinstance(inner, list | tuple):
            stack.extend(inner)
