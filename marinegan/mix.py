"""Mixing: real and synthetic samples in one dataset at a chosen ratio, and a detection collate."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
from torch.utils.data import Dataset
from torchvision.transforms.v2 import functional as F

from marinegan.errors import ConfigError


class MixedDataset(Dataset):
    """Real and synthetic samples interleaved in a fixed, seeded order.

    ``sources[k] = (is_synthetic, index)`` says where item ``k`` comes from; each item's target
    carries ``target["synthetic"]``, ``target["image_id"] = k`` (unique within the mix and stable, as
    COCO-style evaluation needs) and the source's own id as ``target["source_image_id"]``.
    Within each source, indices increase along the mix, so a
    sequential pass reads a lazy synthetic set block by block.
    """

    def __init__(self, real: Dataset, synthetic: Dataset | None, sources: list[tuple[bool, int]],
                 classes: list[str] | None) -> None:
        self.real, self.synthetic, self.sources, self.classes = real, synthetic, sources, classes

    def __len__(self) -> int:
        return len(self.sources)

    def __getitem__(self, index: int) -> tuple[Any, dict]:
        is_synthetic, j = self.sources[index]
        image, target = (self.synthetic if is_synthetic else self.real)[j]
        if isinstance(target, dict):
            target = {**target, "synthetic": is_synthetic, "image_id": index,
                      "source_image_id": target.get("image_id", j)}
        return image, target

    def counts(self) -> dict[str, int]:
        """Numbers of real and synthetic items, and the total."""
        n_syn = sum(s for s, _ in self.sources)
        return {"real": len(self.sources) - n_syn, "synthetic": n_syn, "total": len(self.sources)}

    @property
    def ratio(self) -> float:
        """The achieved fraction of synthetic items."""
        c = self.counts()
        return c["synthetic"] / c["total"]

    def __repr__(self) -> str:
        c = self.counts()
        return f"MixedDataset(real={c['real']}, synthetic={c['synthetic']}, ratio={self.ratio:.3f})"


def mix_counts(n_real_available: int, ratio: float, size: int | None) -> tuple[int, int]:
    """How many real and synthetic items a mix holds (see :func:`mix_datasets`)."""
    if isinstance(ratio, bool) or not isinstance(ratio, (int, float)) or math.isnan(ratio) or not 0 <= ratio <= 1:
        raise ConfigError(f"ratio={ratio!r} must be a number in [0, 1]: the fraction of synthetic samples")
    if size is None:
        if ratio == 1:
            raise ConfigError("ratio=1 (synthetic only) needs size= (the number of samples), since no real "
                              "sample is kept to scale from")
        n_real = n_real_available
        n_syn = round(ratio * n_real / (1 - ratio))
        return n_real, n_syn
    if not isinstance(size, int) or size < 1:
        raise ConfigError(f"size={size!r} must be a positive integer")
    n_syn = round(ratio * size)
    n_real = size - n_syn
    if n_real > n_real_available:
        raise ConfigError(f"size={size} at ratio={ratio} needs {n_real} real samples but the real set has "
                          f"{n_real_available}; lower size or raise the ratio")
    return n_real, n_syn


def mix_datasets(
    real: Dataset, synthetic: Dataset | None, ratio: float, *, size: int | None = None, seed: int = 0
) -> MixedDataset:
    """Mix real and synthetic samples so that synthetic ones make up ``ratio`` of the result.

    Args:
        real: the real dataset.
        synthetic: the synthetic one (e.g. :class:`~marinegan.SyntheticPlasticDataset`); may be None when ratio=0.
        ratio: fraction of synthetic samples in the result, in [0, 1].
        size: None (default): every real sample is kept once and ``round(ratio * n_real / (1 - ratio))``
            synthetic ones are added; ``ratio=0`` gives the real set unchanged. An integer fixes the total:
            ``round(ratio * size)`` synthetic and the rest real, a seeded subset of the real set.
        seed: fixes which real samples a ``size`` keeps and where synthetic items sit in the order.

    The first ``n`` synthetic samples are used (they are independent draws). Raises
    :class:`~marinegan.ConfigError` for a ratio outside [0, 1], empty sets, a synthetic set shorter than
    needed, or class lists that differ.
    """
    if (real is None or len(real) == 0) and ratio != 1:
        raise ConfigError("the real dataset is empty; a mix needs real samples unless ratio=1")
    n_real_available = 0 if real is None else len(real)
    n_real, n_syn = mix_counts(n_real_available, ratio, size)
    if n_syn > 0:
        if synthetic is None or len(synthetic) == 0:
            raise ConfigError(f"ratio={ratio} needs {n_syn} synthetic samples but the synthetic dataset is empty")
        if n_syn > len(synthetic):
            raise ConfigError(f"ratio={ratio} needs {n_syn} synthetic samples but the synthetic dataset has only "
                              f"{len(synthetic)}; build it with length>={n_syn}")
    classes = _common_classes(real, synthetic if n_syn else None)
    gen = torch.Generator().manual_seed(seed)
    if n_real < n_real_available:
        real_idx = sorted(torch.randperm(n_real_available, generator=gen)[:n_real].tolist())
    else:
        real_idx = list(range(n_real))
    is_syn = torch.zeros(n_real + n_syn, dtype=torch.bool)
    is_syn[torch.randperm(n_real + n_syn, generator=gen)[:n_syn]] = True
    real_iter, syn_iter = iter(real_idx), iter(range(n_syn))
    sources = [(True, next(syn_iter)) if s else (False, next(real_iter)) for s in is_syn.tolist()]
    return MixedDataset(real, synthetic, sources, classes)


def _common_classes(real: Dataset | None, synthetic: Dataset | None) -> list[str] | None:
    a, b = getattr(real, "classes", None), getattr(synthetic, "classes", None)
    if a is not None and b is not None and list(a) != list(b):
        raise ConfigError(
            f"the real classes {list(a)[1:]} and the synthetic classes {list(b)[1:]} differ; build the synthetic "
            "set with classes=real.classes and label='<class of the generated objects>'"
        )
    found = a if a is not None else b
    return list(found) if found is not None else None


def detection_collate(batch: Sequence[tuple[torch.Tensor, dict]]) -> tuple[list[torch.Tensor], list[dict]]:
    """Collate ``(image, target)`` pairs for torchvision detection models.

    Returns a list of float images in ``[0, 1]`` (what ``fasterrcnn_*``, ``retinanet_*``, ``ssd*`` take)
    and the list of targets, unchanged: images of different sizes are fine.
    """
    images = [F.to_dtype(torch.as_tensor(img), torch.float32, scale=True) for img, _ in batch]
    return images, [t for _, t in batch]
