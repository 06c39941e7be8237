"""What the object examples share: the frames they paste on or cut from (a VOC folder's train split, Trash-ICRA19's
plastic with its overlays and other classes ignored, or procedural toy scenes when no folder is given), and the 4:3
tiles their pictures are made of."""

from __future__ import annotations

import tempfile
from pathlib import Path

import torch
from torch.utils.data import Dataset

from marinegan import VocDataset, YoloDataset
from marinegan.toydata import make_toy_yolo


def train_frames(data: str | None, toy_frames: int = 12) -> Dataset:
    """``data``'s train split with the class ``plastic``, or ``toy_frames`` toy scenes (160 px) without ``data``."""
    if data:
        return VocDataset(data, "train", classes=["plastic"], ignore=["timestamp", "bio", "rov"], on_error="skip")
    return YoloDataset(make_toy_yolo(Path(tempfile.mkdtemp()) / "toy", n=toy_frames, size=160, single_class="plastic"))


def fit_tile(image: torch.Tensor, height: int) -> torch.Tensor:
    """``image`` uint8 (3, h, w) resized to ``height`` rows and padded or cropped to a 4:3 tile."""
    h, w = image.shape[-2:]
    width = max(1, round(w * height / h))
    tile = torch.nn.functional.interpolate(image[None].float(), size=(height, width), mode="bilinear",
                                           align_corners=False)[0].round().clamp(0, 255).to(torch.uint8)
    out = torch.zeros(3, height, height * 4 // 3, dtype=torch.uint8)
    out[:, :, : min(width, out.shape[-1])] = tile[:, :, : out.shape[-1]]
    return out
