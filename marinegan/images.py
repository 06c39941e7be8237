"""Image helpers: tensors in [-1, 1] to uint8, grids to PNG, boxes drawn on samples."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
from PIL import Image
from torchvision.utils import draw_bounding_boxes, make_grid


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """``(…, C, H, W)`` floats in ``[-1, 1]`` to uint8 in ``[0, 255]`` (same shape)."""
    return ((images.detach().float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)


def to_pil(image: torch.Tensor) -> Image.Image:
    """One ``(C, H, W)`` image (uint8, or float in ``[-1, 1]``) to a PIL image (L, RGB or RGBA)."""
    if image.dtype != torch.uint8:
        image = to_uint8(image)
    array = image.cpu().permute(1, 2, 0).numpy()
    mode = {1: "L", 3: "RGB", 4: "RGBA"}[array.shape[2]]
    return Image.fromarray(array[:, :, 0] if mode == "L" else array, mode)


def flatten_alpha(batch: torch.Tensor, background: int = 128) -> torch.Tensor:
    """uint8 ``(N, 4, H, W)`` RGBA onto a plain grey ``background``: uint8 ``(N, 3, H, W)``; RGB passes through."""
    if batch.shape[1] != 4:
        return batch
    rgb, alpha = batch[:, :3].float(), batch[:, 3:].float() / 255
    return (rgb * alpha + background * (1 - alpha)).round().to(torch.uint8)


def grid_image(images: torch.Tensor | Sequence[torch.Tensor], nrow: int = 8, padding: int = 2) -> Image.Image:
    """Tile images ``(N, C, H, W)`` (uint8 or float in ``[-1, 1]``) into one PIL image."""
    batch = torch.stack(list(images)) if not isinstance(images, torch.Tensor) else images
    if batch.dtype != torch.uint8:
        batch = to_uint8(batch)
    return to_pil(make_grid(flatten_alpha(batch), nrow=nrow, padding=padding, pad_value=255))


def save_grid(images: torch.Tensor | Sequence[torch.Tensor], path: str | Path, nrow: int = 8) -> Path:
    """Write a PNG grid of ``images`` and return its path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    grid_image(images, nrow=nrow).save(path)
    return path


def draw_target(image: torch.Tensor, target: dict, class_names: Sequence[str] | None = None) -> torch.Tensor:
    """Return ``image`` (uint8 ``(3, H, W)``) with the target's boxes and class names drawn."""
    img = image if image.dtype == torch.uint8 else to_uint8(image)
    boxes = target.get("boxes")
    if boxes is None or len(boxes) == 0:
        return img
    labels = target["labels"].tolist()
    names = [class_names[i] if class_names and 0 <= i < len(class_names) else str(i) for i in labels]
    colour = "magenta" if bool(target.get("synthetic", False)) else "yellow"
    return draw_bounding_boxes(img[:3], torch.as_tensor(boxes).float(), labels=names, colors=colour, width=2)
