"""Materialised composites: what compositing changed in each item, kept in a few flat arrays.

A materialised :class:`~marinegan.SyntheticPlasticDataset` composites every item once. Per item it
keeps the background's index, a fingerprint of the background's pixels, the boxes and labels, and the
changed pixels (one crop per pasted object, :func:`~marinegan.synth.composite.changed_patches`).
Reading the item again decodes the background and writes the crops back.

Everything lives in a handful of flat arrays (all crops in one uint8 buffer, with offset tables)
rather than in Python objects per item, so DataLoader workers share it cheaply: no per-item objects
whose reference counts would copy memory into every forked worker, one buffer to pickle for spawned
ones.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import Dataset, Subset

from marinegan.data.base import DetectionDataset
from marinegan.synth.composite import Patch


def pixel_fingerprint(image: torch.Tensor) -> int:
    """A cheap checksum of a uint8 ``(C, H, W)`` image: its shape and a sparse grid of its pixels.

    Enough to tell that a dataset returned different pixels for the same index (a random flip, crop or
    colour jitter changes the grid), in a few microseconds for a 480x360 frame.
    """
    grid = np.ascontiguousarray(image.numpy()[:, ::17, ::17])
    return zlib.crc32(grid.tobytes(), zlib.crc32(np.asarray(image.shape, np.int64).tobytes()))


def read_pixels(dataset: Dataset, index: int) -> tuple[torch.Tensor, bool]:
    """The image of ``dataset[index]`` without its target, and whether that memory is the caller's to write.

    A marinegan reader without transforms (or a plain ``Subset`` of one) decodes the file alone, into fresh
    memory; any other dataset, including a subclass with its own ``__getitem__``, is indexed as usual and
    its image must be copied before writing.
    """
    source, i = dataset, index
    while type(source) is Subset:
        source, i = source.dataset, source.indices[i]
    if isinstance(source, DetectionDataset) and source.transforms is None \
            and type(source).__getitem__ is DetectionDataset.__getitem__:
        return source.read_image(i), True
    return dataset[index][0], False


@dataclass(frozen=True)
class StoredItem:
    """One item as composited: its background, the background's fingerprint, its target and changed pixels."""

    background_index: int
    fingerprint: int
    boxes: torch.Tensor  # float32 (K, 4): the background's kept boxes, then the pasted objects'
    labels: torch.Tensor  # int64 (K,)
    patches: list[Patch]  # (y, x, uint8 (h, w, 3)), written back in any order


@dataclass(frozen=True)
class StoredComposites:
    """Every item of a materialised composite set, in flat arrays (see the module docstring).

    Item ``i``'s boxes are ``boxes[box_start[i]:box_start[i + 1]]``; its crops are the rows
    ``patch_start[i]:patch_start[i + 1]`` of ``patches``, each ``(offset, y, x, h, w)`` with its pixels
    at ``pixels[offset : offset + h * w * 3]`` (channels-last).
    """

    background_index: np.ndarray  # int64 (N,)
    fingerprint: np.ndarray  # int64 (N,)
    box_start: np.ndarray  # int64 (N + 1,)
    boxes: torch.Tensor  # float32 (B, 4)
    labels: torch.Tensor  # int64 (B,)
    patch_start: np.ndarray  # int64 (N + 1,)
    patches: np.ndarray  # int64 (P, 5)
    pixels: np.ndarray  # uint8 (total,)

    @classmethod
    def build(cls, items: Sequence[StoredItem]) -> StoredComposites:
        crops = [p for item in items for _, _, p in item.patches]
        sizes = np.array([p.size for p in crops], np.int64)
        offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64) if crops else np.zeros(0, np.int64)
        where = np.array([(y, x, *p.shape[:2]) for item in items for y, x, p in item.patches], np.int64)
        return cls(
            background_index=np.array([item.background_index for item in items], np.int64),
            fingerprint=np.array([item.fingerprint for item in items], np.int64),
            box_start=np.concatenate([[0], np.cumsum([len(item.boxes) for item in items])]).astype(np.int64),
            boxes=torch.cat([item.boxes.reshape(-1, 4) for item in items]).float(),
            labels=torch.cat([item.labels.reshape(-1) for item in items]).long(),
            patch_start=np.concatenate([[0], np.cumsum([len(item.patches) for item in items])]).astype(np.int64),
            patches=np.column_stack([offsets, where.reshape(-1, 4)]),
            pixels=np.concatenate([p.reshape(-1) for p in crops]) if crops else np.zeros(0, np.uint8),
        )

    def __len__(self) -> int:
        return len(self.background_index)

    def __getitem__(self, i: int) -> StoredItem:
        """Item ``i``; its boxes and labels are copies (a caller editing a target in place changes nothing
        stored), its crops read-only views of the shared buffer."""
        crops = []
        for offset, y, x, h, w in self.patches[self.patch_start[i] : self.patch_start[i + 1]].tolist():
            crop = self.pixels[offset : offset + h * w * 3].reshape(h, w, 3)
            crop.flags.writeable = False
            crops.append((y, x, crop))
        b0, b1 = int(self.box_start[i]), int(self.box_start[i + 1])
        return StoredItem(int(self.background_index[i]), int(self.fingerprint[i]), self.boxes[b0:b1].clone(),
                          self.labels[b0:b1].clone(), crops)

    @property
    def nbytes(self) -> int:
        arrays = (self.background_index, self.fingerprint, self.box_start, self.patch_start, self.patches,
                  self.pixels)
        return sum(a.nbytes for a in arrays) + self.boxes.nbytes + self.labels.nbytes
