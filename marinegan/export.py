"""Export: any ``(image, target)`` dataset written as YOLO folders, COCO JSON, or an ImageFolder tree.

- ``yolo``: ``images/``, ``labels/*.txt`` (``class cx cy w h``, normalised, class = label - 1),
  ``data.yaml`` (``train``/``val``/``names``; no ``path`` so the folder can move) — ultralytics reads it.
- ``coco``: ``images/`` and ``annotations.json`` (category id = label) — pycocotools reads it.
- ``folder``: ``<class>/<n>.png`` per image, for scene-mode sets — torchvision's ``ImageFolder`` reads it.

Every export writes ``sources.csv`` (file, synthetic or real, and the source index) and copies the
attribution files it is given (``SOURCES.md``, licences) into ``ATTRIBUTION/``.
"""

from __future__ import annotations

import csv
import json
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import Literal

import torch
import yaml
from torch.utils.data import DataLoader, Dataset
from tqdm.auto import tqdm

from marinegan.errors import ConfigError
from marinegan.images import to_pil

Format = Literal["yolo", "coco", "folder"]
ATTRIBUTION_NAMES = ("SOURCES.md", "SOURCE.txt", "LICENSE", "LICENSE.txt", "LICENCE", "ATTRIBUTION.md")


def attribution_files(root: str | Path | None) -> list[Path]:
    """The attribution and licence files found in a dataset folder (to carry into anything derived from it)."""
    if root is None:
        return []
    root = Path(root)
    root = root if root.is_dir() else root.parent
    return [root / n for n in ATTRIBUTION_NAMES if (root / n).is_file()]


def _items(dataset: Dataset, num_workers: int) -> Iterable[tuple[torch.Tensor, dict]]:
    if num_workers == 0:
        return (dataset[i] for i in range(len(dataset)))
    return DataLoader(dataset, batch_size=None, shuffle=False, num_workers=num_workers)


def export_dataset(
    dataset: Dataset,
    out: str | Path,
    format: Format = "yolo",
    *,
    classes: list[str] | None = None,
    image_format: Literal["png", "jpg"] = "png",
    attribution: Iterable[str | Path] = (),
    description: str = "",
    num_workers: int = 0,
    progress: bool = True,
) -> Path:
    """Write ``dataset`` to ``out`` in ``format`` and return ``out``.

    Args:
        dataset: items ``(image uint8 (3, H, W), target)`` with ``boxes``/``labels`` (and ``synthetic``).
        classes: class names with ``classes[0] == "__background__"``; defaults to ``dataset.classes``.
        image_format: ``png`` (lossless, default) or ``jpg``.
        attribution: files copied into ``out/ATTRIBUTION/`` (origin and licence of real images).
        description: a line written to ``out/README.txt`` (e.g. the generator and seed).
        num_workers: DataLoader workers reading the dataset.
    """
    if format not in ("yolo", "coco", "folder"):
        raise ConfigError(f"format={format!r} must be 'yolo', 'coco' or 'folder'")
    classes = list(classes if classes is not None else getattr(dataset, "classes", []))
    if len(classes) < 2:
        raise ConfigError("export needs class names (classes[0] == '__background__'); pass classes=")
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise ConfigError(f"{out} exists and is not empty; choose a new folder so nothing is overwritten")
    images_dir = out / "images"
    images_dir.mkdir(parents=True, exist_ok=True)
    if format == "yolo":
        (out / "labels").mkdir()
    coco: dict = {"images": [], "annotations": [],
                  "categories": [{"id": i, "name": n, "supercategory": "litter"} for i, n in enumerate(classes)
                                 if i > 0]}
    rows = []
    for n, (image, target) in enumerate(tqdm(_items(dataset, num_workers), total=len(dataset),
                                             desc=f"exporting {format}", disable=not progress, leave=False)):
        synthetic = bool(target.get("synthetic", False))
        stem = f"{n:06d}_{'syn' if synthetic else 'real'}"
        h, w = image.shape[-2:]
        boxes = torch.as_tensor(target.get("boxes", torch.zeros(0, 4))).float().reshape(-1, 4)
        labels = torch.as_tensor(target.get("labels", torch.zeros(0)), dtype=torch.int64).reshape(-1)
        if format == "folder":
            if "image_label" not in target:
                raise ConfigError("folder export is for scene-mode sets (one class per image, "
                                  "target['image_label']); use format='yolo' or 'coco' for boxes")
            class_dir = out / classes[int(target["image_label"])]
            class_dir.mkdir(exist_ok=True)
            path = class_dir / f"{stem}.{image_format}"
        else:
            path = images_dir / f"{stem}.{image_format}"
        to_pil(torch.as_tensor(image)).save(path)
        rows.append((str(path.relative_to(out)), "synthetic" if synthetic else "real", target.get("image_id", n)))
        if format == "yolo":
            cxcy = (boxes[:, :2] + boxes[:, 2:]) / 2
            wh = boxes[:, 2:] - boxes[:, :2]
            norm = torch.cat([cxcy, wh], dim=1) / torch.tensor([w, h, w, h])
            lines = [f"{int(c) - 1} " + " ".join(f"{v:.6f}" for v in b.tolist()) for c, b in zip(labels, norm,
                                                                                                  strict=True)]
            (out / "labels" / f"{stem}.txt").write_text("".join(line + "\n" for line in lines))
        elif format == "coco":
            coco["images"].append({"id": n + 1, "file_name": path.name, "width": int(w), "height": int(h),
                                   "synthetic": synthetic})
            for b, c in zip(boxes.tolist(), labels.tolist(), strict=True):
                bw, bh = b[2] - b[0], b[3] - b[1]
                coco["annotations"].append({"id": len(coco["annotations"]) + 1, "image_id": n + 1,
                                            "category_id": int(c), "bbox": [b[0], b[1], bw, bh],
                                            "area": bw * bh, "iscrowd": 0})
    if format == "folder":
        images_dir.rmdir()
    elif format == "yolo":
        names = {i - 1: name for i, name in enumerate(classes) if i > 0}
        (out / "data.yaml").write_text(yaml.safe_dump({"train": "images", "val": "images", "names": names},
                                                      sort_keys=False))
    else:
        (out / "annotations.json").write_text(json.dumps(coco))
    with open(out / "sources.csv", "w", newline="") as f:
        csv.writer(f).writerows([("file", "origin", "source_index"), *rows])
    files = list(attribution)
    if files:
        (out / "ATTRIBUTION").mkdir()
        for f in files:
            shutil.copy2(f, out / "ATTRIBUTION" / Path(f).name)
    if description:
        (out / "README.txt").write_text(description.rstrip() + "\n")
    return out
