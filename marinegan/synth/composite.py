"""Pasting generated object sprites onto background images, with exact boxes.

Shapes: background uint8 ``(3, H, W)``; sprites uint8 ``(K, C, S, S)`` with C=4 (RGBA) or 3
(an elliptical soft mask then stands in for alpha). Boxes are XYXY pixels of the pasted object's
visible part (alpha >= 0.5), so they are tight and never leave the image.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torchvision.transforms.v2 import functional as F

ALPHA_THRESHOLD = 0.5


@dataclass(frozen=True)
class CompositeOptions:
    """How objects are placed.

    Args:
        scale: range of the sprite's side as a fraction of the background's short side.
        max_overlap: largest IoU allowed between a new object's box and an earlier one
            (placement is retried; an object that cannot be placed is left out, never hidden).
        blend: ``"alpha"`` (soft edges) or ``"hard"`` (alpha thresholded at 0.5).
        flip: mirror sprites left-right at random.
    """

    scale: tuple[float, float] = (0.15, 0.45)
    max_overlap: float = 0.3
    blend: str = "alpha"
    flip: bool = True

    def __post_init__(self) -> None:
        lo, hi = self.scale
        if not 0 < lo <= hi <= 1:
            raise ValueError(f"scale={self.scale} must satisfy 0 < min <= max <= 1 (fractions of the short side)")
        if not 0 <= self.max_overlap <= 1:
            raise ValueError(f"max_overlap={self.max_overlap} must be in [0, 1]")
        if self.blend not in ("alpha", "hard"):
            raise ValueError(f"blend={self.blend!r} must be 'alpha' or 'hard'")


def ellipse_alpha(size: int) -> torch.Tensor:
    """A soft elliptical mask ``(size, size)`` in [0, 1] for sprites without an alpha channel."""
    r = (torch.arange(size) + 0.5) / size * 2 - 1
    d = torch.sqrt(r[None, :] ** 2 + r[:, None] ** 2)
    return torch.clamp((1.0 - d) / 0.15, 0, 1)


def _iou(box: torch.Tensor, others: torch.Tensor) -> torch.Tensor:
    """IoU of one box ``(4,)`` with each of ``others`` ``(M, 4)``, M >= 1."""
    lt = torch.maximum(box[:2], others[:, :2])
    rb = torch.minimum(box[2:], others[:, 2:])
    inter = (rb - lt).clamp(min=0).prod(dim=1)
    area = lambda b: (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])  # noqa: E731
    return inter / (area(box) + area(others) - inter)


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
    """
    out = background.float()
    _, h, w = out.shape
    short = min(h, w)
    boxes: list[torch.Tensor] = []
    kept: list[int] = []
    taken = list(occupied.float()) if occupied is not None else []
    lo, hi = options.scale
    for k, sprite in enumerate(sprites):
        u = torch.rand(2, generator=rng)
        side = max(4, int(round((lo + (hi - lo) * u[0].item()) * short)))
        if options.flip and u[1] < 0.5:
            sprite = sprite.flip(-1)
        s = F.resize(sprite.float(), [side, side], antialias=True)
        rgb = s[:3]
        alpha = s[3] / 255 if s.shape[0] == 4 else ellipse_alpha(side)
        if options.blend == "hard":
            alpha = (alpha >= ALPHA_THRESHOLD).float()
        visible = alpha >= ALPHA_THRESHOLD
        cols, rows = visible.any(0).nonzero().flatten(), visible.any(1).nonzero().flatten()
        if len(cols) == 0:
            continue
        local = torch.tensor([cols[0], rows[0], cols[-1] + 1, rows[-1] + 1], dtype=torch.float32)
        for _ in range(10):
            xy = torch.rand(2, generator=rng)
            x0, y0 = int(xy[0] * (w - side + 1)), int(xy[1] * (h - side + 1))
            box = local + torch.tensor([x0, y0, x0, y0], dtype=torch.float32)
            if not taken or _iou(box, torch.stack(taken)).max() <= options.max_overlap:
                break
        else:
            continue
        region = out[:, y0 : y0 + side, x0 : x0 + side]
        out[:, y0 : y0 + side, x0 : x0 + side] = alpha * rgb + (1 - alpha) * region
        boxes.append(box)
        taken.append(box)
        kept.append(k)
    image = out.round().clamp(0, 255).to(torch.uint8)
    box_tensor = torch.stack(boxes) if boxes else torch.zeros(0, 4)
    return image, box_tensor, torch.tensor(kept, dtype=torch.long)
