"""Export: any ``(image, target)`` dataset written as YOLO folders, COCO JSON, or an ImageFolder tree.

- ``yolo``: ``images/``, ``labels/*.txt`` (``class cx cy w h``, normalised, class = label - 1),
  ``data.yaml`` (``train`` and ``names``, and ``val`` only when given: an exported set is a training set,
  and validating on it would score the detector on its own training images; no ``path``, so the folder
  can move) — ultralytics reads it.
- ``coco``: ``images/`` and ``annotations.json`` (category id = label) — pycocotools reads it.
- ``folder``: ``<class>/<n>.png`` per image, for scene-mode sets — torchvision's ``ImageFolder`` reads it.

Every export writes ``sources.csv``: each file, whether it is synthetic or real, the item's index in
its own source set (the real reader, or the synthetic set) and the file it was read from (a real
image; for a composite, its background frame). The data's terms (:class:`~marinegan.terms.DataTerms`)
go into ``ATTRIBUTION/``. The folder is built in a temporary sibling and renamed when complete: a
failed or interrupted export leaves nothing behind.
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
from torch.utils.data import DataLoader, Dataset, Subset
from tqdm.auto import tqdm

from marinegan.errors import ConfigError
from marinegan.fileio import require_new_folder, staged_dir
from marinegan.images import to_pil
from marinegan.terms import DataTerms

Format = Literal["yolo", "coco", "folder"]


def source_of(dataset: Dataset, index: int) -> tuple[int, str]:
    """Where item ``index`` of ``dataset`` comes from: its index in the source set that holds it, and the file
    it was read from (``""`` when none: a generated scene).

    A mix (:class:`~marinegan.mix.MixedDataset`) and a ``Subset`` are followed to the set they draw from;
    a reader names its image file; a composite names its background frame's file.
    """
    dataset, index = _holder(dataset, index)
    samples = getattr(dataset, "samples", None)
    if isinstance(samples, list) and 0 <= index < len(samples) and hasattr(samples[index], "path"):
        return index, str(samples[index].path)
    return index, ""


def _holder(dataset: Dataset, index: int) -> tuple[Dataset, int]:
    """The set that holds item ``index`` of ``dataset`` (through mixes and Subsets), and its index there."""
    from marinegan.mix import MixedDataset

    while True:
        if isinstance(dataset, MixedDataset):
            synthetic, index = dataset.sources[index]
            dataset = dataset.synthetic if synthetic else dataset.real
        elif isinstance(dataset, Subset):
            index, dataset = int(dataset.indices[index]), dataset.dataset
        else:
            return dataset, index


def _background_file(dataset: Dataset, index: int, target: dict) -> str:
    """The background frame's file of a composite (``""`` for anything else)."""
    backgrounds = getattr(_holder(dataset, index)[0], "backgrounds", None)
    if backgrounds is None or "background_index" not in target:
        return ""
    return source_of(backgrounds, int(target["background_index"]))[1]


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
    terms: DataTerms | None = None,
    attribution: Iterable[str | Path] = (),
    description: str = "",
    val: str | None = None,
    num_workers: int = 0,
    progress: bool = True,
) -> Path:
    """Write ``dataset`` to ``out`` in ``format`` and return ``out``.

    Args:
        dataset: items ``(image uint8 (3, H, W), target)`` with ``boxes``/``labels`` (and ``synthetic``).
        classes: class names with ``classes[0] == "__background__"``; defaults to ``dataset.classes``.
        image_format: ``png`` (lossless, default) or ``jpg``.
        terms: the real data's terms (:func:`~marinegan.terms.find_data_terms`), written to ``out/ATTRIBUTION/``.
        attribution: more files copied into ``out/ATTRIBUTION/``.
        description: a line written to ``out/README.txt`` (e.g. the generator and seed).
        val: YOLO: the ``val:`` entry of ``data.yaml`` (your real validation images); left out when None.
        num_workers: DataLoader workers reading the dataset.

    Every check runs before anything is written, and the folder appears only when complete.
    """
    if format not in ("yolo", "coco", "folder"):
        raise ConfigError(f"format={format!r} must be 'yolo', 'coco' or 'folder'")
    if image_format not in ("png", "jpg"):
        raise ConfigError(f"image_format={image_format!r} must be 'png' or 'jpg'")
    classes = list(classes if classes is not None else getattr(dataset, "classes", []))
    if len(classes) < 2:
        raise ConfigError("export needs class names (classes[0] == '__background__'); pass classes=")
    if format == "folder" and getattr(dataset, "mode", "scene") != "scene":
        raise ConfigError("folder export is for scene-mode sets (one class per image, target['image_label']); "
                          "use format='yolo' or 'coco' for boxes")
    out = Path(out)
    require_new_folder(out)
    files = [Path(f) for f in attribution]
    for f in files:
        if not f.is_file():
            raise ConfigError(f"attribution file {f} does not exist")
    with staged_dir(out) as tmp:
        _write(dataset, tmp, format, classes, image_format, val, num_workers, progress)
        if terms:
            terms.write(tmp)
        if files:
            (tmp / "ATTRIBUTION").mkdir(exist_ok=True)
            for f in files:
                shutil.copy2(f, tmp / "ATTRIBUTION" / f.name)
        if description:
            (tmp / "README.txt").write_text(description.rstrip() + "\n")
    return out


def _write(dataset: Dataset, out: Path, format: str, classes: list[str], image_format: str, val: str | None,
           num_workers: int, progress: bool) -> None:
    images_dir = out / "images"
    images_dir.mkdir()
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
        index, file = source_of(dataset, n)
        if synthetic and not file:
            file = _background_file(dataset, n, target)
        rows.append((str(path.relative_to(out)), "synthetic" if synthetic else "real", index, file))
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
        (out / "data.yaml").write_text(yaml.safe_dump({"train": "images", **({"val": val} if val else {}),
                                                       "names": names}, sort_keys=False))
    else:
        (out / "annotations.json").write_text(json.dumps(coco))
    with open(out / "sources.csv", "w", newline="") as f:
        csv.writer(f).writerows([("file", "origin", "source_index", "source_file"), *rows])
