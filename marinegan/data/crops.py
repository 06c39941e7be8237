"""`object_crops`: cut every annotated object out as a square crop, so a GAN learns objects, not scenes.

A box around real debris holds seabed too. With ``alpha="grabcut"`` the 4th channel is a foreground
estimate (OpenCV's GrabCut seeded by the box) instead of the feathered box, so an RGBA generator
learns the object's outline and a composite pastes the object, not a rectangle of seabed.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Literal

import numpy as np
import torch
from torch.utils.data import Dataset
from torchvision.transforms.v2 import functional as F
from tqdm.auto import tqdm

from marinegan.errors import ConfigError, DataError

AlphaMode = Literal["none", "box", "grabcut"]
# GrabCut needs some pixels to model; below this (crop side in source pixels) the feathered box is used.
GRABCUT_MIN_SIDE = 24
# A GrabCut mask covering less than this fraction of the box found nothing usable (feathered box instead).
GRABCUT_MIN_FILL = 0.08


class CropDataset(Dataset):
    """Object crops held in memory: ``images`` uint8 ``(N, C, size, size)`` (C=4 with alpha), ``labels`` ``(N,)``.

    Items are ``(image, label)`` with the image as uint8 ``(C, size, size)``. ``stats`` counts what
    happened to the boxes (``cropped``, ``too_small``, ``overlaps_ignored``, ``grabcut``,
    ``grabcut_fallback``). From :func:`object_crops`, ``boxes`` float ``(N, 4)`` is each crop's labelled box
    (XYXY, in the crop's pixels), and ``fill`` float ``(N, 2)`` the share of that box, in width and height,
    that the crop's alpha >= 0.5 spans (RGBA crops; NaN where unknown).
    """

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, classes: list[str],
                 stats: dict[str, int] | None = None, fill: torch.Tensor | None = None,
                 boxes: torch.Tensor | None = None) -> None:
        self.images, self.labels, self.classes = images, labels, classes
        self.stats = dict(stats or {})
        self.fill = fill if fill is not None else torch.full((len(images), 2), math.nan)
        self.boxes = boxes if boxes is not None else torch.full((len(images), 4), math.nan)

    def box_grow(self) -> float:
        """The :class:`~marinegan.CompositeOptions` ``box_grow`` that gives these cut-outs, pasted with boxes tight
        around their alpha, the boxes their labels had: 1 / the median of :attr:`fill` (both sides together).
        Trash-ICRA19's GrabCut plastic cut-outs: about 1.33 (their alpha spans 0.75 of the labelled box).
        Kept to ``box_grow``'s range [1, 3]: labels tighter than their objects give 1 (boxes are never shrunk)."""
        from marinegan.synth.composite import BOX_GROW_RANGE  # not at the top: marinegan.synth imports marinegan.data

        known = self.fill[~self.fill.isnan().any(1)]
        if not len(known):
            raise ConfigError("no crop knows its box's fill: make the crops with object_crops(..., alpha='grabcut')")
        return float((1 / known.flatten().median()).clamp(*BOX_GROW_RANGE))

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


def grabcut_alpha(crop: torch.Tensor, inner: tuple[float, float, float, float], iterations: int = 4,
                  exclude: torch.Tensor | None = None) -> torch.Tensor | None:
    """GrabCut foreground of ``crop`` uint8 ``(3, h, w)`` seeded by the box ``inner`` (crop pixels).

    ``exclude`` (bool ``(h, w)``) marks pixels that are background for certain (a burned-in overlay):
    GrabCut then starts from a mask instead of the rectangle alone. Returns a uint8 ``(h, w)`` alpha
    with softened edges, zero outside the box, or None when the crop is too small or GrabCut finds
    (almost) nothing. Deterministic: OpenCV's RNG is seeded per call.
    """
    import cv2  # opencv-python-headless, a base dependency

    _, h, w = crop.shape
    if min(h, w) < GRABCUT_MIN_SIDE:
        return None
    x0, y0, x1, y1 = (int(round(v)) for v in inner)
    x0, y0 = max(1, x0), max(1, y0)
    x1, y1 = min(w - 1, x1), min(h - 1, y1)
    if x1 - x0 < 4 or y1 - y0 < 4:
        return None
    image = np.ascontiguousarray(crop.permute(1, 2, 0).numpy()[:, :, ::-1])  # OpenCV wants BGR
    mask = np.zeros((h, w), np.uint8)
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    cv2.setRNGSeed(0)
    try:
        if exclude is None:
            cv2.grabCut(image, mask, (x0, y0, x1 - x0, y1 - y0), bgd, fgd, iterations, cv2.GC_INIT_WITH_RECT)
        else:
            mask[y0:y1, x0:x1] = cv2.GC_PR_FGD
            mask[exclude.numpy()] = cv2.GC_BGD
            if not (mask == cv2.GC_PR_FGD).any():
                return None
            cv2.grabCut(image, mask, None, bgd, fgd, iterations, cv2.GC_INIT_WITH_MASK)
    except cv2.error:
        return None
    fg = ((mask == cv2.GC_FGD) | (mask == cv2.GC_PR_FGD)).astype(np.uint8)
    if fg.sum() < GRABCUT_MIN_FILL * (x1 - x0) * (y1 - y0):
        return None
    # keep the largest connected component: stray seabed specks are not the object
    n, labels, stats, _ = cv2.connectedComponentsWithStats(fg, connectivity=8)
    if n > 2:
        largest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
        fg = (labels == largest).astype(np.uint8)
    k = max(3, (min(x1 - x0, y1 - y0) // 12) | 1)
    soft = cv2.GaussianBlur(fg.astype(np.float32), (k, k), 0)
    return torch.from_numpy(np.clip(soft * 255, 0, 255).round().astype(np.uint8))


def _overlay_mask(size: int, square: tuple[int, int, int], boxes: torch.Tensor) -> torch.Tensor:
    """``(size, size)`` bool: where ``boxes`` (image pixels) fall inside the crop square ``(left, top, side)``."""
    left, top, side = square
    mask = torch.zeros(size, size, dtype=torch.bool)
    scale = size / side
    for x0, y0, x1, y1 in torch.as_tensor(boxes, dtype=torch.float32).reshape(-1, 4).tolist():
        c0, r0 = max(0, math.floor((x0 - left) * scale)), max(0, math.floor((y0 - top) * scale))
        c1, r1 = min(size, math.ceil((x1 - left) * scale)), min(size, math.ceil((y1 - top) * scale))
        if c1 > c0 and r1 > r0:
            mask[r0:r1, c0:c1] = True
    return mask


def _overlaps(square: tuple[float, float, float, float], boxes: torch.Tensor) -> bool:
    if boxes is None or len(boxes) == 0:
        return False
    b = torch.as_tensor(boxes, dtype=torch.float32).reshape(-1, 4)
    x0, y0, x1, y1 = square
    iw = (torch.minimum(b[:, 2], torch.tensor(x1)) - torch.maximum(b[:, 0], torch.tensor(x0))).clamp(min=0)
    ih = (torch.minimum(b[:, 3], torch.tensor(y1)) - torch.maximum(b[:, 1], torch.tensor(y0))).clamp(min=0)
    return bool((iw * ih > 0).any())


def _alpha_mode(alpha: bool | str) -> AlphaMode:
    if alpha is True:
        return "box"
    if alpha is False:
        return "none"
    if alpha not in ("none", "box", "grabcut"):
        raise ConfigError(f"alpha={alpha!r} must be 'none', 'box' (feathered box) or 'grabcut'")
    return alpha  # type: ignore[return-value]


def object_crops(
    dataset: Dataset,
    size: int = 64,
    *,
    pad: float = 0.1,
    alpha: bool | AlphaMode = False,
    min_side: int = 8,
    label: int | str | None = None,
    avoid_ignored: bool = True,
    overlays: Literal["skip", "mask"] = "skip",
    progress: bool = True,
) -> CropDataset:
    """Square crops of every box in a detection dataset, resized to ``size`` x ``size``.

    Args:
        dataset: any dataset of ``(image, target)`` with ``target["boxes"]`` XYXY (e.g. :class:`VocDataset`).
        size: output side in pixels.
        pad: context added around the box, as a fraction of its long side on each side.
        alpha: ``False``/``"none"``: RGB crops; ``True``/``"box"``: a 4th channel, opaque on the box and
            feathered to transparent on the padding; ``"grabcut"``: a 4th channel from GrabCut seeded by
            the box (crops too small, or where GrabCut finds nothing, fall back to the feathered box and
            are counted in ``stats["grabcut_fallback"]``).
        min_side: boxes smaller than this (pixels, short side) are skipped (too little to learn from).
        label: crop only this class (an index into ``dataset.classes`` or a name); None crops every class.
        avoid_ignored: keep ``target["ignored_boxes"]`` (burned-in overlays such as timestamps, which would
            otherwise leak into the crops) out of the crops, as ``overlays`` says; False ignores them.
        overlays: ``"skip"``: a crop whose square overlaps an ignored box is skipped (counted in
            ``stats["overlaps_ignored"]``); ``"mask"`` (RGBA crops): it is kept, with alpha 0 wherever an
            ignored box falls (``stats["overlay_masked"]``), so the object stays and the overlay is cut out.
            In Trash-ICRA19, 698 of the 1,209 plastic boxes touch a ``timestamp`` box. A crop that keeps
            less than ``GRABCUT_MIN_FILL`` of its box visible is still skipped.

    Crops reaching past the image border are padded with edge pixels (and alpha 0 there).
    """
    mode = _alpha_mode(alpha)
    if overlays not in ("skip", "mask"):
        raise ConfigError(f"overlays={overlays!r} must be 'skip' or 'mask'")
    if overlays == "mask" and mode == "none":
        raise ConfigError("overlays='mask' needs RGBA crops (alpha='box' or 'grabcut') to cut the overlay out")
    classes = list(getattr(dataset, "classes", []))
    if isinstance(label, str):
        if label not in classes[1:]:
            raise ConfigError(f"label {label!r} is not one of the classes {classes[1:]}")
        label = classes.index(label)
    images, labels, fill, boxes = [], [], [], []
    stats: Counter[str] = Counter()
    for i in tqdm(range(len(dataset)), desc="cropping objects", disable=not progress, leave=False):
        image, target = dataset[i]
        image = torch.as_tensor(image)
        _, h, w = image.shape
        ignored = target.get("ignored_boxes") if avoid_ignored else None
        for box, lab in zip(target["boxes"].tolist(), target["labels"].tolist(), strict=True):
            if label is not None and lab != label:
                continue
            x0, y0, x1, y1 = box
            if min(x1 - x0, y1 - y0) < min_side:
                stats["too_small"] += 1
                continue
            side = max(x1 - x0, y1 - y0) * (1 + 2 * pad)
            cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
            left, top = math.floor(cx - side / 2), math.floor(cy - side / 2)
            side_px = max(1, math.ceil(side))
            covered = None
            if _overlaps((left, top, left + side_px, top + side_px), ignored):
                if overlays == "skip":
                    stats["overlaps_ignored"] += 1
                    continue
                covered = _overlay_mask(size, (left, top, side_px), ignored)
            padding = [max(0, -left), max(0, -top), max(0, left + side_px - w), max(0, top + side_px - h)]
            src = F.pad(image, padding, padding_mode="edge") if any(padding) else image
            crop = src[:, top + padding[1]: top + padding[1] + side_px, left + padding[0]: left + padding[0] + side_px]
            inner_px = (x0 - left, y0 - top, x1 - left, y1 - top)
            exclude = _overlay_mask(side_px, (left, top, side_px), ignored) if covered is not None else None
            cut = grabcut_alpha(crop, inner_px, exclude=exclude) if mode == "grabcut" else None
            if mode == "grabcut":
                stats["grabcut" if cut is not None else "grabcut_fallback"] += 1
            crop = F.resize(crop, [size, size], antialias=True)
            scale = size / side_px
            inner = tuple(v * scale for v in inner_px)  # the labelled box in the crop's pixels
            if mode != "none":
                a = F.resize(cut[None], [size, size], antialias=True)[0] if cut is not None else box_alpha(size, inner)
                if covered is not None:
                    a = a.masked_fill(covered, 0)
                    box_px = [round(v * scale) for v in inner_px]
                    inside = covered[max(0, box_px[1]):box_px[3], max(0, box_px[0]):box_px[2]]
                    if inside.numel() == 0 or (~inside).float().mean() < GRABCUT_MIN_FILL:
                        stats["overlaps_ignored"] += 1  # the overlay covers (almost) the whole object
                        continue
                    stats["overlay_masked"] += 1
                crop = torch.cat([crop, a[None]])
                fill.append(_fill(a, inner))
            else:
                fill.append((math.nan, math.nan))
            images.append(crop)
            boxes.append(inner)
            labels.append(lab)
            stats["cropped"] += 1
    if not images:
        raise DataError(f"no object of at least {min_side} pixels was found to crop"
                        f"{' with label ' + str(label) if label is not None else ''}; check the boxes or lower "
                        "min_side")
    return CropDataset(torch.stack(images), torch.as_tensor(labels), classes, dict(stats),
                       torch.tensor(fill, dtype=torch.float32), torch.tensor(boxes, dtype=torch.float32))


def _fill(alpha: torch.Tensor, box: tuple[float, float, float, float]) -> tuple[float, float]:
    """The share of ``box`` (x0, y0, x1, y1 in ``alpha``'s pixels) that ``alpha`` >= 0.5 spans, in width and height."""
    import cv2

    _, _, w, h = cv2.boundingRect((alpha.numpy() >= 128).astype(np.uint8))
    bw, bh = box[2] - box[0], box[3] - box[1]
    return (w / bw, h / bh) if w and bw > 0 and bh > 0 else (math.nan, math.nan)
