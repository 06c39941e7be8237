"""Pasting generated object sprites onto background images, with exact boxes.

Shapes: background uint8 ``(3, H, W)``; sprites uint8 ``(K, C, S, S)`` with C=4 (RGBA) or 3
(an elliptical soft mask then stands in for alpha). Boxes are XYXY pixels of the pasted object's
visible part (final alpha >= 0.5, after any blending of the mask), so they are tight and never
leave the image.

The work is done on the pasted region only: the background stays uint8, each sprite is resized
once in uint8 (torchvision's antialiased kernel), and only the ``side x side`` region under it is
blended in float. Output is a pure function of the inputs and ``rng``'s state (bit for bit on one
device).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torchvision.transforms.v2 import functional as F

ALPHA_THRESHOLD = 0.5
BLEND_MODES = ("alpha", "hard", "gaussian", "poisson")


@dataclass(frozen=True)
class CompositeOptions:
    """How objects are placed and blended.

    Args:
        scale: range of the sprite's side as a fraction of the background's short side.
        max_overlap: largest IoU allowed between a new object's box and an earlier one
            (placement is retried; an object that cannot be placed is left out, never hidden).
        blend: ``"alpha"`` (the sprite's soft alpha), ``"hard"`` (alpha thresholded at 0.5),
            ``"gaussian"`` (alpha edges softened by a Gaussian blur, as in Cut, Paste and Learn,
            Dwibedi et al. 2017) or ``"poisson"`` (gradient-domain blending through OpenCV's
            ``seamlessClone`` over the alpha >= 0.5 mask; the slowest).
        color_match: strength in ``[0, 1]`` of a colour match of the sprite to its surroundings: each
            channel is scaled by ``(surround mean / sprite mean) ** color_match`` (deep-sea frames carry
            strong, frame-specific colour casts). 0 turns it off.
        flip: mirror sprites left-right at random.
    """

    scale: tuple[float, float] = (0.15, 0.45)
    max_overlap: float = 0.3
    blend: str = "alpha"
    color_match: float = 0.5
    flip: bool = True

    def __post_init__(self) -> None:
        lo, hi = self.scale
        if not 0 < lo <= hi <= 1:
            raise ValueError(f"scale={self.scale} must satisfy 0 < min <= max <= 1 (fractions of the short side)")
        if not 0 <= self.max_overlap <= 1:
            raise ValueError(f"max_overlap={self.max_overlap} must be in [0, 1]")
        if self.blend not in BLEND_MODES:
            raise ValueError(f"blend={self.blend!r} must be one of {BLEND_MODES}")
        if not 0 <= self.color_match <= 1:
            raise ValueError(f"color_match={self.color_match} must be in [0, 1] (0 = off)")


def ellipse_alpha(size: int) -> torch.Tensor:
    """A soft elliptical mask ``(size, size)`` in [0, 1] for sprites without an alpha channel."""
    r = (torch.arange(size) + 0.5) / size * 2 - 1
    d = torch.sqrt(r[None, :] ** 2 + r[:, None] ** 2)
    return torch.clamp((1.0 - d) / 0.15, 0, 1)


def iou(box: torch.Tensor, others: torch.Tensor) -> torch.Tensor:
    """IoU of one box ``(4,)`` with each of ``others`` ``(M, 4)``, M >= 1."""
    lt = torch.maximum(box[:2], others[:, :2])
    rb = torch.minimum(box[2:], others[:, 2:])
    inter = (rb - lt).clamp(min=0).prod(dim=1)
    area = lambda b: (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])  # noqa: E731
    return inter / (area(box) + area(others) - inter)


def sprite_alpha(sprite: torch.Tensor, blend: str) -> torch.Tensor:
    """The final alpha ``(S, S)`` in [0, 1] of a resized uint8 sprite ``(C, S, S)`` under ``blend``."""
    side = sprite.shape[-1]
    alpha = sprite[3].float() / 255 if sprite.shape[0] == 4 else ellipse_alpha(side)
    if blend in ("hard", "poisson"):
        return (alpha >= ALPHA_THRESHOLD).float()
    if blend == "gaussian":
        k = max(3, (side // 12) | 1)
        return F.gaussian_blur(alpha[None], [k, k])[0]
    return alpha


def color_matched(rgb: torch.Tensor, region: torch.Tensor, alpha: torch.Tensor, strength: float) -> torch.Tensor:
    """Scale ``rgb`` float ``(3, S, S)`` per channel towards the colour of ``region`` where ``alpha`` < 0.5."""
    if strength == 0:
        return rgb
    inside = alpha >= ALPHA_THRESHOLD
    outside = ~inside
    if not outside.any() or not inside.any():
        return rgb
    surround = region[:, outside].mean(dim=1)
    own = rgb[:, inside].mean(dim=1)
    gain = ((surround + 8) / (own + 8)).clamp(0.5, 2.0) ** strength
    return rgb * gain[:, None, None]


def _poisson(out: torch.Tensor, rgb: torch.Tensor, mask: torch.Tensor, x0: int, y0: int) -> torch.Tensor | None:
    """Seamless-clone ``rgb`` (float ``(3, S, S)``) into ``out`` (uint8) at ``(x0, y0)`` over ``mask``.

    Returns the new region uint8 ``(3, S, S)``, or None when OpenCV cannot clone here (the mask
    touches the image border); the caller then alpha-blends.
    """
    import cv2
    import numpy as np

    side = rgb.shape[-1]
    _, h, w = out.shape
    rows, cols = mask.any(1).nonzero().flatten(), mask.any(0).nonzero().flatten()
    bx0, by0, bx1, by1 = int(cols[0]) + x0, int(rows[0]) + y0, int(cols[-1]) + 1 + x0, int(rows[-1]) + 1 + y0
    if bx0 < 1 or by0 < 1 or bx1 > w - 1 or by1 > h - 1:
        return None
    dst = np.ascontiguousarray(out.permute(1, 2, 0).numpy())
    src = dst.copy()
    src[y0 : y0 + side, x0 : x0 + side] = rgb.round().clamp(0, 255).to(torch.uint8).permute(1, 2, 0).numpy()
    full = np.zeros((h, w), np.uint8)
    full[y0 : y0 + side, x0 : x0 + side] = mask.numpy().astype(np.uint8) * 255
    bw, bh = bx1 - bx0, by1 - by0
    center = (bx0 + bw // 2, by0 + bh // 2)  # OpenCV centres the mask's bounding box here: identity placement
    try:
        cloned = cv2.seamlessClone(src, dst, full, center, cv2.NORMAL_CLONE)
    except cv2.error:
        return None
    return torch.from_numpy(cloned[y0 : y0 + side, x0 : x0 + side]).permute(2, 0, 1).contiguous()


def composite(
    background: torch.Tensor,
    sprites: torch.Tensor,
    rng: torch.Generator,
    options: CompositeOptions,
    occupied: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Paste ``sprites`` onto ``background``, keeping clear of the ``occupied`` boxes ``(M, 4)`` too.

    Returns ``(image uint8 (3, H, W), boxes float (K', 4) XYXY, kept long (K',))`` where ``kept``
    indexes the sprites that were placed (an invisible sprite or one without room is left out).
    Random draws per sprite, in order: side and flip (2 uniforms), then up to 10 placements (2 each).
    """
    out = background[:3].clone() if background.dtype == torch.uint8 else background[:3].round().clamp(0, 255).to(
        torch.uint8)
    _, h, w = out.shape
    short = min(h, w)
    boxes: list[torch.Tensor] = []
    kept: list[int] = []
    taken = occupied.float().reshape(-1, 4) if occupied is not None else torch.zeros(0, 4)
    lo, hi = options.scale
    for k, sprite in enumerate(sprites):
        u = torch.rand(2, generator=rng)
        side = max(4, int(round((lo + (hi - lo) * u[0].item()) * short)))
        if options.flip and u[1] < 0.5:
            sprite = sprite.flip(-1)
        s = F.resize(sprite, [side, side], antialias=True)  # uint8 in, uint8 out
        alpha = sprite_alpha(s, options.blend)
        visible = alpha >= ALPHA_THRESHOLD
        cols, rows = visible.any(0).nonzero().flatten(), visible.any(1).nonzero().flatten()
        if len(cols) == 0:
            continue
        local = torch.tensor([cols[0], rows[0], cols[-1] + 1, rows[-1] + 1], dtype=torch.float32)
        for _ in range(10):
            xy = torch.rand(2, generator=rng)
            x0, y0 = int(xy[0] * (w - side + 1)), int(xy[1] * (h - side + 1))
            box = local + torch.tensor([x0, y0, x0, y0], dtype=torch.float32)
            if len(taken) == 0 or iou(box, taken).max() <= options.max_overlap:
                break
        else:
            continue
        region = out[:, y0 : y0 + side, x0 : x0 + side].float()
        rgb = color_matched(s[:3].float(), region, alpha, options.color_match)
        pasted = _poisson(out, rgb, visible, x0, y0) if options.blend == "poisson" else None
        if pasted is None:
            pasted = (alpha * rgb + (1 - alpha) * region).round_().clamp_(0, 255).to(torch.uint8)
        out[:, y0 : y0 + side, x0 : x0 + side] = pasted
        boxes.append(box)
        taken = torch.cat([taken, box[None]])
        kept.append(k)
    box_tensor = torch.stack(boxes) if boxes else torch.zeros(0, 4)
    return out, box_tensor, torch.tensor(kept, dtype=torch.long)
