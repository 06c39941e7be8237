"""Data in: readers for real marine-debris sets (YOLO, COCO, Pascal VOC, plain folders) and object crops."""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from marinegan.data.base import BACKGROUND, DetectionDataset, make_target
from marinegan.data.coco import CocoDataset
from marinegan.data.crops import CropDataset, object_crops
from marinegan.data.folder import ImageFolderDataset
from marinegan.data.problems import DataWarning, OnError
from marinegan.data.voc import VocDataset, find_splits, is_voc
from marinegan.data.yolo import YoloDataset, read_yolo_classes
from marinegan.errors import DataError


def default_split(path: str | Path, prefer: str = "train") -> str | None:
    """The split a command uses when none is given, announced with a :class:`DataWarning`; None without splits.

    A dataset with splits must never be read whole by accident (validation images would leak into
    training): ``prefer`` (``"train"``; ``"val"`` for a validation set) is used where the dataset has
    it, else ``"train"``; a dataset with other splits only must be given ``split``.
    """
    p = Path(path)
    splits = dataset_splits(p)
    if not splits:
        return None
    for split in dict.fromkeys((prefer, "train")):
        if split in splits:
            warnings.warn(f"{p} has the splits {splits}: using split '{split}' "
                          "(choose another with split=...)", DataWarning, stacklevel=3)
            return split
    raise DataError(f"{p} holds the splits {splits}; choose one with split=...")


def dataset_splits(path: str | Path) -> list[str]:
    """The splits a YOLO or VOC folder offers (``[]`` for COCO files and plain image folders)."""
    p = Path(path)
    if not p.is_dir():
        return []
    if is_voc(p):
        return find_splits(p)
    if any((p / n).is_file() for n in ("data.yaml", "dataset.yaml", "classes.txt")):
        _, meta = (read_yolo_classes(p) if any((p / n).is_file() for n in ("data.yaml", "dataset.yaml"))
                   else ([], {}))
        listed = [k for k in ("train", "val", "test") if isinstance(meta.get(k), str)]
        folders = sorted(d.name for d in (p / "images").iterdir() if d.is_dir()) if (p / "images").is_dir() else []
        return sorted(set(listed) | set(folders))
    return []


def open_dataset(
    path: str | Path,
    split: str | None = None,
    *,
    on_error: OnError = "raise",
    classes: Sequence[str] | None = None,
    class_map: Mapping[str, str] | None = None,
    ignore: Iterable[str] = (),
) -> DetectionDataset:
    """Open a dataset by looking at what ``path`` holds.

    - a ``.json`` file (or a folder with ``annotations.json``): COCO, images beside the JSON
      (or in its ``images/`` folder);
    - a folder with ``data.yaml``, ``dataset.yaml`` or ``classes.txt``: YOLO;
    - a folder with Pascal VOC ``.xml`` files (flat, split into sub-folders, or VOCdevkit): VOC
      (``classes``, ``class_map`` and ``ignore`` are passed to :class:`VocDataset`);
    - any other folder of images: a plain image folder (no boxes).

    With ``split=None``, a dataset that has a ``train`` split opens that split (a :class:`DataWarning`
    says so), and one with other splits only raises: all splits are never merged silently.
    """
    p = Path(path)
    if p.is_dir() and (p / "annotations.json").is_file():
        p = p / "annotations.json"
    if p.suffix.lower() == ".json":
        images = p.parent / "images" if (p.parent / "images").is_dir() else p.parent
        return CocoDataset(images, p, on_error=on_error)
    if not p.exists():
        raise DataError(f"dataset {p} does not exist")
    if split is None:
        split = default_split(p)
    if is_voc(p):
        return VocDataset(p, split, classes=classes, class_map=class_map, ignore=ignore, on_error=on_error)
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
    "VocDataset",
    "YoloDataset",
    "dataset_splits",
    "default_split",
    "make_target",
    "object_crops",
    "open_dataset",
]
