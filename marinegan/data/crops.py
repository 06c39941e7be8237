"""`object_crops`: cut every annotated object out as a square crop, so a GAN learns objects, not scenes."""

from __future__ import annotations

import math

import torch
from torch.utils.data import Dataset
from torchvision.transforms.v2 import functional as F
from tqdm.auto import tqdm

from marinegan.errors import DataError


class CropDataset(Dataset):
    """Object crops held in memory: ``images`` uint8 ``(N, C, size, size)`` (C=4 with alpha), ``labels`` ``(N,)``.

    Items are ``(image, label)`` with the image as uint8 ``(C, size, size)``.
    """

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, classes: list[str]) -> None:
        self.images, self.labels, self.classes = images, labels, classes

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        return self.images[index], int(self.labels[index])


def box_alpha(size: int, inner: tuple[float, float, float, float], feather: float = 0.15) -> torch.Tensor:
    """A ``(size, size)`` uint8 mask, 255 inside the box ``inner`` (x0, y0, x1, y1 in pixels), fading to 0 outside.

    Boxes carry no outline, so the alpha is the box with feathered edges (``feather`` x the box's short side).
    """
    x0, y0, x1, y1 = inner
    ys, xs = torch.meshgrid(torch.arange(size) + 0.5, torch.arange(size) + 0.5, indexing="ij")
    ramp = max(1.0, feather * min(x1 - x0, y1 - y0))
    dx = torch.minimum(xs - x0, x1 - xs) / ramp
    dy = torch.minimum(ys - y0, y1 - ys) / ramp
    return (torch.clamp(torch.minimum(dx, dy), 0, 1) * 255).round().to(torch.uint8)


def object_crops(
    dataset: Dataset,
    size: int = 64,
    *,
    pad: float = 0.1,
    alpha: bool = False,
    min_side: int = 8,
    progress: bool = True,
) -> CropDataset:
    """Square crops of every box in a detection dataset, resized to ``size`` x ``size``.

    Args:
        dataset: any dataset of ``(image, target)`` with ``target["boxes"]`` XYXY (e.g. :class:`YoloDataset`).
        size: output side in pixels.
        pad: context added around the box, as a fraction of its long side on each side.
        alpha: add a 4th channel, opaque on the box and transparent on the padding, for compositing.
        min_side: boxes smaller than this (pixels, short side) are skipped (too little to learn from).

    Crops reaching past the image border are padded with edge pixels (and alpha 0 there).
    """
    images, labels = [], []
    for i in tqdm(range(len(dataset)), desc="cropping objects", disable=not progress, leave=False):
        image, target = dataset[i]
        image = torch.as_tensor(image)
        _, h, w = image.shape
        for box, label in zip(target["boxes"].tolist(), target["labels"].tolist(), strict=True):
            x0, y0, x1, y1 = box
            if min(x1 - x0, y1 - y0) < min_side:
                continue
            side = max(x1 - x0, y1 - y0) * (1 + 2 * pad)
            cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
            left, top = math.floor(cx - side / 2), math.floor(cy - side / 2)
            side_px = max(1, math.ceil(side))
            padding = [max(0, -left), max(0, -top), max(0, left + side_px - w), max(0, top + side_px - h)]
            src = F.pad(image, padding, padding_mode="edge") if any(padding) else image
            crop = src[:, top + padding[1]: top + padding[1] + side_px, left + padding[0]: left + padding[0] + side_px]
            crop = F.resize(crop, [size, size], antialias=True)
            if alpha:
                scale = size / side_px
                inner = ((x0 - left) * scale, (y0 - top) * scale, (x1 - left) * scale, (y1 - top) * scale)
                crop = torch.cat([crop, box_alpha(size, inner)[None]])
            images.append(crop)
            labels.append(label)
    if not images:
        raise DataError(f"no object of at least {min_side} pixels was found to crop; check the boxes or lower min_side")
    classes = list(getattr(dataset, "classes", []))
    return CropDataset(torch.stack(images), torch.as_tensor(labels), classes)
