"""Data in: readers for real marine-debris sets (YOLO, COCO, plain folders) and object crops."""

from __future__ import annotations

from pathlib import Path

from marinegan.data.base import BACKGROUND, DetectionDataset, make_target
from marinegan.data.coco import CocoDataset
from marinegan.data.crops import CropDataset, object_crops
from marinegan.data.folder import ImageFolderDataset
from marinegan.data.problems import DataWarning, OnError
from marinegan.data.yolo import YoloDataset
from marinegan.errors import DataError


def open_dataset(path: str | Path, split: str | None = None, *, on_error: OnError = "raise") -> DetectionDataset:
    """Open a dataset by looking at what ``path`` holds.

    - a ``.json`` file (or a folder with ``annotations.json``): COCO, images beside the JSON
      (or in its ``images/`` folder);
    - a folder with ``data.yaml``, ``dataset.yaml`` or ``classes.txt``: YOLO;
    - any other folder of images: a plain image folder (no boxes).
    """
    p = Path(path)
    if p.is_dir() and (p / "annotations.json").is_file():
        p = p / "annotations.json"
    if p.suffix.lower() == ".json":
        images = p.parent / "images" if (p.parent / "images").is_dir() else p.parent
        return CocoDataset(images, p, on_error=on_error)
    if not p.exists():
        raise DataError(f"dataset {p} does not exist")
    if any((p / n).is_file() for n in ("data.yaml", "dataset.yaml", "classes.txt")):
        return YoloDataset(p, split, on_error=on_error)
    return ImageFolderDataset(p, on_error=on_error)


__all__ = [
    "BACKGROUND",
    "CocoDataset",
    "CropDataset",
    "DataError",
    "DataWarning",
    "DetectionDataset",
    "ImageFolderDataset",
    "YoloDataset",
    "make_target",
    "object_crops",
    "open_dataset",
]
