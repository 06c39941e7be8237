"""`SyntheticPlasticDataset`: a pretrained generator as a reproducible ``torch.utils.data.Dataset``.

How generation is organised:

- Item ``i`` is a pure function of ``(seed, i)``: its latents, its object count, its background and
  its placement come from per-index random streams (:mod:`marinegan.synth.seeding`), so any access
  order, any ``num_workers`` and any ``batch_size`` give the same images (bit for bit on one device;
  equal to float rounding between CPU and CUDA, whose kernels differ).
- The generator runs once per **block** of ``batch_size`` consecutive indices, batched; the block's
  outputs (small sprites, uint8) are kept in an LRU cache of ``cache_blocks`` blocks, so memory is
  bounded. Pasting onto a background (composite mode) is per-item CPU work in ``__getitem__`` for a
  set that is not materialised.
- Sequential access generates each block once. Shuffled access over a lazy set would regenerate
  blocks: use ``materialize=True`` for shuffled training; a warning says so when it happens.
- ``materialize=True`` does the expensive work once, up front, with a progress bar: every block is
  generated and, in composite mode, every item is composited once. Each item keeps only the pixels its
  objects changed (one crop per pasted object) and its target, so a later read costs reading the
  background plus writing a few small crops back: a synthetic item costs about what a real one does,
  epoch after epoch. The stored items equal live compositing bit for bit. Backgrounds that do not read
  the same pixels twice (random transforms) are detected by a fingerprint; such items are composited
  live, with a warning.
- CUDA is used in the process that builds the set (``device="auto"``). Inside DataLoader worker
  processes CUDA is never initialised: workers run a CPU copy of the generator. For CUDA speed
  use ``num_workers=0`` or ``materialize=True`` (workers then only read the materialised tensors).
"""

from __future__ import annotations

import copy
import warnings
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Literal

import numpy as np
import torch
from torch.utils.data import Dataset, get_worker_info
from torchvision import tv_tensors
from tqdm.auto import tqdm

from marinegan.data.base import BACKGROUND, make_target
from marinegan.device import resolve_device
from marinegan.errors import ConfigError
from marinegan.images import to_uint8
from marinegan.models.dcgan import Generator
from marinegan.synth.composite import CompositeOptions, apply_patches, changed_patches, channels_last, paste_objects
from marinegan.synth.placement import BoxSizes
from marinegan.synth.seeding import index_generator
from marinegan.synth.stored import StoredComposites, StoredItem, pixel_fingerprint, read_pixels

Mode = Literal["composite", "scene"]
_LATENT, _PLACEMENT = 0, 1
OBJECT_CLASS = "plastic"  # the class marinegan's generators make (suggested when label= is needed)


def resolve_label(classes: Sequence[str], label: int | str | None) -> int:
    """The class index of pasted objects: a name, an index, or None when ``classes`` has one object class."""
    if label is None:
        if len(classes) != 2:
            raise ConfigError(
                f"the classes are {list(classes[1:])}: say which class the generated objects are, "
                f"e.g. label={OBJECT_CLASS if OBJECT_CLASS in classes else classes[1]!r}"
            )
        return 1
    if isinstance(label, str):
        if label not in classes[1:]:
            raise ConfigError(f"label {label!r} is not one of the classes {list(classes[1:])}")
        return list(classes).index(label)
    if not 1 <= label < len(classes):
        raise ConfigError(f"label={label} must index an object class: 1..{len(classes) - 1}")
    return int(label)


class SyntheticPlasticDataset(Dataset):
    """Synthetic marine-plastic samples ``(image, target)`` in the readers' conventions.

    Args:
        generator: a :class:`~marinegan.Generator`, or anything :func:`~marinegan.load_generator`
            accepts (``"default"``, a local directory, a Hub id ``"org/name"``).
        length: number of samples.
        mode: ``"composite"`` (default): 1 to ``max_objects`` generated objects pasted onto images
            from ``backgrounds``, with exact boxes; ``"scene"``: whole generated images, no boxes,
            the scene's class in ``target["image_label"]`` (``labels`` stays empty so the detection
            contract ``len(labels) == len(boxes)`` holds).
        seed: the seed; the same seed gives the same samples.
        device: where the generator runs in the main process (``"auto"``: CUDA if present).
        batch_size: indices per generated block (one forward pass each).
        backgrounds: composite mode: a dataset of ``(image, target)`` (e.g. real frames); its own boxes
            are kept when ``keep_background_boxes`` (real debris in a frame stays labelled).
        classes: class names, ``classes[0] == "__background__"``; defaults to the backgrounds' classes,
            else ``["__background__", "plastic"]``.
        label: class of the generated objects, an index into ``classes`` or a name. Required when
            ``classes`` has more than one object class.
        min_objects, max_objects: objects per composite image.
        options: placement (:class:`~marinegan.synth.composite.CompositeOptions`).
        cache_blocks: blocks kept in the LRU cache (lazy mode).
        materialize: do the work up front (progress bar) and keep it: every block is generated and, in
            composite mode, every item composited once (only its changed pixels are kept), so later
            reads cost about what reading a background does. Recommended for shuffled training.
        progress: show the progress bar of ``materialize`` (it is never shown for a single block).
        transforms: called as ``transforms(image, target)``.
        revision: Hub revision when ``generator`` is a repo id.
        truncation: draw each latent value within ``±truncation`` standard deviations (BigGAN's truncation
            trick, :meth:`~marinegan.Generator.sample_latent`): more typical objects, less variety. ``None``
            (default): untruncated.
    """

    def __init__(
        self,
        generator: Generator | str,
        length: int,
        *,
        mode: Mode = "composite",
        seed: int = 0,
        device: str | torch.device = "auto",
        batch_size: int = 256,
        backgrounds: Dataset | None = None,
        classes: Sequence[str] | None = None,
        label: int | str | None = None,
        min_objects: int = 1,
        max_objects: int = 3,
        options: CompositeOptions | None = None,
        keep_background_boxes: bool = True,
        cache_blocks: int = 4,
        materialize: bool = False,
        transforms: Callable | None = None,
        revision: str | None = None,
        progress: bool = True,
        truncation: float | None = None,
    ) -> None:
        from marinegan.hub import load_generator
        from marinegan.models.dcgan import check_truncation

        check_truncation(truncation)
        self.truncation = truncation

        g = load_generator(generator, device="cpu", revision=revision) if not isinstance(generator, Generator) \
            else generator
        self.config = g.config
        # A CPU copy serves worker processes; the device copy serves the main process.
        self._cpu_generator = copy.deepcopy(g).cpu().eval()
        self.device = resolve_device(device)
        self._device_generator: Generator | None = None
        if mode == "scene" and g.config.channels != 3:
            raise ConfigError(f"mode='scene' needs an RGB generator; this one has {g.config.channels} channels "
                              "(an RGBA object generator belongs in mode='composite')")
        self._setup(length, mode, seed, batch_size, backgrounds, classes, label, min_objects, max_objects, options,
                    keep_background_boxes, cache_blocks, transforms, progress)
        if materialize:
            self.materialize()

    def _setup(self, length: int, mode: str, seed: int, batch_size: int, backgrounds: Dataset | None,
               classes: Sequence[str] | None, label: int | str | None, min_objects: int, max_objects: int,
               options: CompositeOptions | None, keep_background_boxes: bool, cache_blocks: int,
               transforms: Callable | None, progress: bool) -> None:
        """Validate and store what every synthetic set shares (GAN sprites or real cut-outs alike)."""
        if not isinstance(length, int) or length < 1:
            raise ConfigError(f"length={length!r} must be a positive integer")
        if batch_size < 1 or cache_blocks < 1:
            raise ConfigError("batch_size and cache_blocks must be at least 1")
        if mode not in ("composite", "scene"):
            raise ConfigError(f"mode={mode!r} must be 'composite' or 'scene'")
        if not 1 <= min_objects <= max_objects:
            raise ConfigError(f"need 1 <= min_objects <= max_objects, got {min_objects} and {max_objects}")
        if mode == "composite" and (backgrounds is None or len(backgrounds) == 0):
            raise ConfigError("mode='composite' needs backgrounds= (a non-empty dataset of frames); "
                              "or use mode='scene' for whole generated images")
        self.length, self.mode, self.seed, self.batch_size = length, mode, seed, batch_size
        self.backgrounds, self.transforms = backgrounds, transforms
        self.min_objects, self.max_objects = min_objects, max_objects
        self.options = options or CompositeOptions()
        self.keep_background_boxes = keep_background_boxes
        self.cache_blocks = cache_blocks
        self.classes = self._resolve_classes(classes)
        self.label = resolve_label(self.classes, label)
        self.sizes = BoxSizes.from_dataset(backgrounds, self.label) \
            if mode == "composite" and self.options.scale == "data" else None
        bg_classes = getattr(backgrounds, "classes", None)
        keeps_boxes = mode == "composite" and keep_background_boxes and bg_classes is not None
        if keeps_boxes and list(bg_classes) != self.classes:
            raise ConfigError(
                f"the backgrounds' classes {list(bg_classes)[1:]} differ from classes={self.classes[1:]}, so their "
                "boxes cannot be kept; pass the backgrounds' classes, or keep_background_boxes=False"
            )
        self._cache: OrderedDict[int, list[torch.Tensor]] = OrderedDict()
        self._generated_blocks: set[int] = set()
        self._stored: StoredComposites | None = None
        self._warned_thrash = self._warned_changed = False
        self.progress = progress
        self.materialized = False

    # ---- classes -----------------------------------------------------------------------------
    def _resolve_classes(self, classes: Sequence[str] | None) -> list[str]:
        if classes is None:
            classes = getattr(self.backgrounds, "classes", None) if self.mode == "composite" else None
        classes = list(classes) if classes is not None else [BACKGROUND, "plastic"]
        if len(classes) < 2 or classes[0] != BACKGROUND:
            raise ConfigError(f"classes must start with {BACKGROUND!r} and name at least one class, got {classes}")
        if len(set(classes)) != len(classes):
            raise ConfigError(f"class names must be unique, got {classes}; list each class once")
        return classes

    # ---- generation --------------------------------------------------------------------------
    def __len__(self) -> int:
        return self.length

    @property
    def num_blocks(self) -> int:
        return -(-self.length // self.batch_size)

    def _objects(self, index: int) -> tuple[int, torch.Generator]:
        """How many objects item ``index`` holds, and its object stream (first draw: the count)."""
        g = index_generator(self.seed, index, _LATENT)
        n = int(torch.randint(self.min_objects, self.max_objects + 1, (1,), generator=g)) \
            if self.mode == "composite" else 1
        return n, g

    def latents(self, index: int) -> torch.Tensor:
        """The latents of item ``index``: ``(n_objects, nz)``; a pure function of ``(seed, index)``."""
        n, g = self._objects(index)
        return self._cpu_generator.sample_latent(n, g, self.truncation)

    def _generator_here(self) -> Generator:
        if get_worker_info() is not None or self.device.type == "cpu":
            return self._cpu_generator
        if self._device_generator is None:
            self._device_generator = copy.deepcopy(self._cpu_generator).to(self.device).eval()
        return self._device_generator

    @torch.inference_mode()
    def _generate_block(self, block: int) -> list[torch.Tensor]:
        start, stop = block * self.batch_size, min((block + 1) * self.batch_size, self.length)
        z = [self.latents(i) for i in range(start, stop)]
        counts = [len(t) for t in z]
        g = self._generator_here()
        flat = torch.cat(z)
        out = torch.cat([
            to_uint8(g(flat[j : j + self.batch_size].to(g.device, non_blocking=True))).cpu()
            for j in range(0, len(flat), self.batch_size)
        ])
        return list(torch.split(out, counts))

    def _sprites(self, index: int) -> torch.Tensor:
        block = index // self.batch_size
        if block in self._cache:
            self._cache.move_to_end(block)
        else:
            if block in self._generated_blocks and not self._warned_thrash and not self.materialized:
                self._warned_thrash = True
                warnings.warn(
                    "SyntheticPlasticDataset is regenerating an evicted block: random (shuffled) access to a lazy "
                    "set repeats generator work. Use materialize=True for shuffled training, or a larger "
                    "cache_blocks.",
                    stacklevel=3,
                )
            self._cache[block] = self._generate_block(block)
            self._generated_blocks.add(block)
            if not self.materialized:
                while len(self._cache) > self.cache_blocks:
                    self._cache.popitem(last=False)
        return self._cache[block][index - block * self.batch_size]

    def materialize(self) -> SyntheticPlasticDataset:
        """Do the work now, with a progress bar, and keep it; returns ``self``.

        Scene mode keeps every generated block. Composite mode generates each block, composites its
        items once and keeps only their changed pixels and targets (:meth:`stored_nbytes`), then drops
        the block's sprites; reading an item re-reads its background and writes those pixels back.
        """
        self.materialized = True  # from here on, _sprites keeps every block it generates
        if self.mode == "scene":
            for block in tqdm(range(self.num_blocks), desc="generating synthetic samples", leave=False,
                              disable=not self.progress or self.num_blocks < 2):
                self._sprites(block * self.batch_size)
            return self
        if self._stored is not None:
            return self
        items = []
        for index in tqdm(range(self.length), desc="generating and compositing synthetic samples", leave=False,
                          disable=not self.progress or self.length < 2):
            items.append(self._store(index))
            if (index + 1) % self.batch_size == 0 or index + 1 == self.length:
                self._cache.pop(index // self.batch_size, None)  # stored items need no sprites (a live
        self._stored = StoredComposites.build(items)               # fallback regenerates its block)
        return self

    def stored_nbytes(self) -> int:
        """Bytes a materialised set holds: stored composites, plus sprites (or cut-outs) of blocks kept."""
        sprites = sum(t.nbytes for block in self._cache.values() for t in block)
        return sprites + (self._stored.nbytes if self._stored is not None else 0)

    def _store(self, index: int) -> StoredItem:
        bg_index, before, after, boxes, labels, regions = self._compose(index)
        return StoredItem(bg_index, pixel_fingerprint(before), boxes, labels,
                          changed_patches(before.permute(1, 2, 0).numpy(), after, regions))

    def __getitem__(self, index: int) -> tuple[tv_tensors.Image, dict]:
        if not -self.length <= index < self.length:
            raise IndexError(f"index {index} out of range for {self.length} samples")
        index %= self.length
        if self.mode == "scene":
            image = self._sprites(index)[0]
            target = make_target(torch.zeros(0, 4), torch.zeros(0), tuple(image.shape[-2:]), index, synthetic=True)
            target["image_label"] = self.label
        elif self._stored is not None:
            image, target = self._restore(index)
        else:
            image, target = self._composite(index)
        image = tv_tensors.Image(image)
        if self.transforms is not None:
            image, target = self.transforms(image, target)
        return image, target

    @staticmethod
    def _checked(background: torch.Tensor) -> torch.Tensor:
        background = torch.as_tensor(background)
        if background.dtype != torch.uint8 or background.dim() != 3:
            raise ConfigError("backgrounds must yield uint8 images (3, H, W), as marinegan's readers do")
        return background[:3]

    def _background(self, index: int) -> tuple[torch.Tensor, dict]:
        background, target = self.backgrounds[index]
        return self._checked(background), target

    def _compose(self, index: int) -> tuple[int, torch.Tensor, np.ndarray, torch.Tensor, torch.Tensor, list]:
        """Composite item ``index`` live: ``(background index, background (3, H, W), image (H, W, 3), boxes,
        labels, regions)``, the image in channels-last uint8 memory."""
        rng = index_generator(self.seed, index, _PLACEMENT)
        bg_index = int(torch.randint(len(self.backgrounds), (1,), generator=rng))
        background, bg_target = self._background(bg_index)
        kept_boxes, kept_labels = torch.zeros(0, 4), torch.zeros(0, dtype=torch.int64)
        if self.keep_background_boxes and isinstance(bg_target, dict) and len(bg_target.get("boxes", [])):
            kept_boxes = torch.as_tensor(bg_target["boxes"]).as_subclass(torch.Tensor).float().reshape(-1, 4)
            kept_labels = torch.as_tensor(bg_target["labels"], dtype=torch.int64)
        ignored = bg_target.get("ignored_boxes") if isinstance(bg_target, dict) else None
        out = channels_last(background)
        boxes, _, regions = paste_objects(out, self._sprites(index), rng, self.options, occupied=kept_boxes,
                                          ignored=ignored, sizes=self.sizes)
        labels = torch.cat([kept_labels, torch.full((len(boxes),), self.label, dtype=torch.int64)])
        return bg_index, background, out, torch.cat([kept_boxes, boxes]), labels, regions

    def _composite(self, index: int) -> tuple[torch.Tensor, dict]:
        bg_index, _, out, boxes, labels, _ = self._compose(index)
        return self._item(index, bg_index, out, boxes, labels)

    def _restore(self, index: int) -> tuple[torch.Tensor, dict]:
        """A materialised item: its background read again, its stored pixels written back."""
        stored = self._stored[index]
        pixels, writable = read_pixels(self.backgrounds, stored.background_index)
        background = self._checked(pixels)
        if pixel_fingerprint(background) != stored.fingerprint:
            if not self._warned_changed:
                self._warned_changed = True
                warnings.warn(
                    f"background {stored.background_index} reads different pixels than when this set was "
                    "materialised (random transforms on the backgrounds?): such items are composited live, which "
                    "is slower. Apply augmentations to the synthetic or mixed set instead of the backgrounds.",
                    stacklevel=3,
                )
            return self._composite(index)
        hwc = background.permute(1, 2, 0)
        out = hwc.numpy() if writable and hwc.is_contiguous() else channels_last(background)  # else: never write
        out = apply_patches(out, stored.patches)                                               # into the input
        return self._item(index, stored.background_index, out, stored.boxes, stored.labels)

    def _item(self, index: int, bg_index: int, out: np.ndarray, boxes: torch.Tensor,
              labels: torch.Tensor) -> tuple[torch.Tensor, dict]:
        image = torch.from_numpy(out).permute(2, 0, 1)
        target = make_target(boxes, labels, tuple(image.shape[-2:]), index, synthetic=True)
        target["background_index"] = bg_index
        return image, target

    # ---- pickling for DataLoader workers (spawn) -------------------------------------------------
    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_device_generator"] = None  # never ship CUDA modules to a worker
        return state

    def __repr__(self) -> str:
        return (f"SyntheticPlasticDataset(length={self.length}, mode={self.mode!r}, seed={self.seed}, "
                f"device={self.device}, image_size={self.config.image_size}, channels={self.config.channels}"
                + ("" if self.truncation is None else f", truncation={self.truncation:g}") + ")")


class CopyPasteDataset(SyntheticPlasticDataset):
    """Real object cut-outs pasted onto backgrounds: Simple Copy-Paste (Ghiasi et al. 2021), the GAN's baseline.

    Everything but the sprites is :class:`SyntheticPlasticDataset`'s composite mode: the same seeding
    per index, object counts, backgrounds, placement, blending and colour match (same ``seed``, same
    background and object count per item), so the two differ only in where the objects come from.
    Each object is a cut-out drawn uniformly (seeded per index) from ``cutouts``.

    Args:
        cutouts: a :class:`~marinegan.data.crops.CropDataset` (``object_crops(train, alpha="grabcut",
            label="plastic")``) or a uint8 tensor ``(N, 4, S, S)`` of RGBA cut-outs (3 channels get the
            elliptical mask). Cut them from the *training* images only.
        length, backgrounds, seed, batch_size, classes, label, min_objects, max_objects, options,
            keep_background_boxes, cache_blocks, materialize, transforms, progress: as for
            :class:`SyntheticPlasticDataset` (composite mode).
    """

    def __init__(
        self,
        cutouts: Dataset | torch.Tensor,
        length: int,
        *,
        backgrounds: Dataset,
        seed: int = 0,
        batch_size: int = 256,
        classes: Sequence[str] | None = None,
        label: int | str | None = None,
        min_objects: int = 1,
        max_objects: int = 3,
        options: CompositeOptions | None = None,
        keep_background_boxes: bool = True,
        cache_blocks: int = 4,
        materialize: bool = False,
        transforms: Callable | None = None,
        progress: bool = True,
    ) -> None:
        images = getattr(cutouts, "images", cutouts)
        if not isinstance(images, torch.Tensor) or images.dtype != torch.uint8 or images.dim() != 4 \
                or images.shape[1] not in (3, 4) or len(images) == 0:
            raise ConfigError("cutouts must be object_crops(...) or a non-empty uint8 tensor (N, 4, S, S) of RGBA "
                              "cut-outs")
        self.cutouts = images
        self.device = torch.device("cpu")
        self._setup(length, "composite", seed, batch_size, backgrounds, classes, label, min_objects, max_objects,
                    options, keep_background_boxes, cache_blocks, transforms, progress)
        if materialize:
            self.materialize()

    def _generate_block(self, block: int) -> list[torch.Tensor]:
        start, stop = block * self.batch_size, min((block + 1) * self.batch_size, self.length)
        out = []
        for i in range(start, stop):
            n, g = self._objects(i)
            out.append(self.cutouts[torch.randint(len(self.cutouts), (n,), generator=g)])
        return out

    def __repr__(self) -> str:
        return (f"CopyPasteDataset(length={self.length}, seed={self.seed}, cutouts={len(self.cutouts)} of "
                f"{tuple(self.cutouts.shape[1:])})")
