"""Does a generator copy its training images? Each sample next to its nearest training image.

Distances are Euclidean in pixel space after compositing RGBA onto mid-grey and downscaling to
32x32 (as in the GAN literature's nearest-neighbour figures); small distances that recur for many
samples point at memorisation, and the picture lets a reader judge.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw

from marinegan.images import flatten_alpha, grid_image


def _features(images: torch.Tensor, size: int = 32) -> torch.Tensor:
    rgb = flatten_alpha(images).float() / 255
    return F.interpolate(rgb, size=(size, size), mode="area").flatten(1)


def nearest_neighbours(samples: torch.Tensor, training: torch.Tensor,
                       size: int = 32) -> tuple[torch.Tensor, torch.Tensor]:
    """For uint8 ``samples`` ``(N, C, H, W)``: index and distance ``(N,)`` of the closest ``training`` image."""
    a, b = _features(samples, size), _features(training, size)
    dist = torch.cdist(a, b)
    d, idx = dist.min(dim=1)
    return idx, d


def nearest_neighbour_picture(samples: torch.Tensor, training: torch.Tensor, path: str | Path,
                              caption: str = "") -> Path:
    """Write pairs (sample | nearest training image) in rows of 4 pairs, with the distance under each."""
    idx, dist = nearest_neighbours(samples, training)
    pairs = torch.stack([torch.stack([s, training[i]]) for s, i in zip(samples, idx.tolist(), strict=True)])
    tile = grid_image(pairs.flatten(0, 1), nrow=8, padding=2)
    side = samples.shape[-1] + 2
    canvas = Image.new("RGB", (tile.width, tile.height + 14 * (tile.height // side) + 40), "white")
    draw = ImageDraw.Draw(canvas)
    draw.text((4, 4), "pairs: generated sample | nearest training cut-out (pixel L2 at 32x32)", fill="black")
    rows = -(-len(samples) // 4)
    for r in range(rows):
        y = 20 + r * (side + 14)
        canvas.paste(tile.crop((0, r * side, tile.width, (r + 1) * side)), (0, y))
        for c in range(4):
            k = r * 4 + c
            if k < len(samples):
                draw.text((c * 2 * side + 4, y + side), f"d={dist[k]:.2f}", fill="black")
    if caption:
        draw.text((4, canvas.height - 16), caption, fill="black")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    canvas.save(path)
    return path
