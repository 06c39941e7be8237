"""The frames the object examples paste on or cut from: a VOC folder's train split (Trash-ICRA19's plastic, with its
overlays and other classes ignored), or procedural toy scenes when no folder is given."""

from __future__ import annotations

import tempfile
from pathlib import Path

from torch.utils.data import Dataset

from marinegan import VocDataset, YoloDataset
from marinegan.toydata import make_toy_yolo


def train_frames(data: str | None, toy_frames: int = 12) -> Dataset:
    """``data``'s train split with the class ``plastic``, or ``toy_frames`` toy scenes (160 px) without ``data``."""
    if data:
        return VocDataset(data, "train", classes=["plastic"], ignore=["timestamp", "bio", "rov"], on_error="skip")
    return YoloDataset(make_toy_yolo(Path(tempfile.mkdtemp()) / "toy", n=toy_frames, size=160, single_class="plastic"))
