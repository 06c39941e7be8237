"""DiffAugment (Zhao et al. 2020): differentiable colour, translation and cutout for GANs on small data.

The same random augmentation family is applied to real and fake images before the discriminator,
so D cannot overfit the few real images while G still receives gradients. Randomness comes from
an explicit ``torch.Generator`` so that training is reproducible and resumable.
Input and output: ``(N, C, H, W)`` in ``[-1, 1]``; an alpha channel (C=4) is moved, never recoloured.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F  # noqa: N812


def _rand(shape: tuple[int, ...], x: torch.Tensor, g: torch.Generator | None) -> torch.Tensor:
    return torch.rand(shape, generator=g, device=x.device, dtype=x.dtype)


def color(x: torch.Tensor, g: torch.Generator | None = None) -> torch.Tensor:
    """Random brightness, saturation and contrast per image (RGB channels only)."""
    rgb, rest = x[:, :3], x[:, 3:]
    n = x.shape[0]
    rgb = rgb + (_rand((n, 1, 1, 1), x, g) - 0.5)
    mean = rgb.mean(dim=1, keepdim=True)
    rgb = (rgb - mean) * (_rand((n, 1, 1, 1), x, g) * 2) + mean
    mean = rgb.mean(dim=[1, 2, 3], keepdim=True)
    rgb = (rgb - mean) * (_rand((n, 1, 1, 1), x, g) + 0.5) + mean
    return torch.cat([rgb, rest], dim=1)


def translation(x: torch.Tensor, g: torch.Generator | None = None, ratio: float = 0.125) -> torch.Tensor:
    """Shift each image by up to ``ratio`` of its size, filling with zeros (the colour 0 in [-1, 1])."""
    n, _, h, w = x.shape
    sx, sy = int(h * ratio + 0.5), int(w * ratio + 0.5)
    tx = (_rand((n, 1, 1), x, g) * (2 * sx + 1)).long() - sx
    ty = (_rand((n, 1, 1), x, g) * (2 * sy + 1)).long() - sy
    gb, gx, gy = torch.meshgrid(torch.arange(n, device=x.device), torch.arange(h, device=x.device),
                                torch.arange(w, device=x.device), indexing="ij")
    gx = torch.clamp(gx + tx + 1, 0, h + 1)
    gy = torch.clamp(gy + ty + 1, 0, w + 1)
    padded = F.pad(x, [1, 1, 1, 1, 0, 0, 0, 0])
    return padded.permute(0, 2, 3, 1).contiguous()[gb, gx, gy].permute(0, 3, 1, 2)


def cutout(x: torch.Tensor, g: torch.Generator | None = None, ratio: float = 0.5) -> torch.Tensor:
    """Zero a random square of ``ratio`` of the image side in each image."""
    n, _, h, w = x.shape
    ch, cw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    ox = (_rand((n, 1, 1), x, g) * (h + (1 - ch % 2))).long()
    oy = (_rand((n, 1, 1), x, g) * (w + (1 - cw % 2))).long()
    gb, gx, gy = torch.meshgrid(torch.arange(n, device=x.device), torch.arange(ch, device=x.device),
                                torch.arange(cw, device=x.device), indexing="ij")
    gx = torch.clamp(gx + ox - ch // 2, 0, h - 1)
    gy = torch.clamp(gy + oy - cw // 2, 0, w - 1)
    mask = torch.ones(n, h, w, dtype=x.dtype, device=x.device)
    mask[gb, gx, gy] = 0
    return x * mask.unsqueeze(1)


OPS = {"color": color, "translation": translation, "cutout": cutout}


def diff_augment(x: torch.Tensor, ops: list[str], g: torch.Generator | None = None) -> torch.Tensor:
    """Apply the named ops in order; ``ops=[]`` returns ``x`` unchanged."""
    for op in ops:
        x = OPS[op](x, g)
    return x.contiguous()
