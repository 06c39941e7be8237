"""`YoloDataset`: YOLO folders (``images/``, ``labels/*.txt``, ``data.yaml`` or ``classes.txt``), as DeepTrash ships."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import yaml
from tqdm.auto import tqdm

from marinegan.data.base import DetectionDataset, Sample, check_boxes, list_images, probe_image, with_background
from marinegan.data.problems import OnError
from marinegan.errors import DataError


def read_yolo_classes(root: Path) -> tuple[list[str], dict]:
    """Class names from ``data.yaml`` (``names`` list or dict) or ``classes.txt``; also the yaml itself."""
    for name in ("data.yaml", "dataset.yaml"):
        path = root / name
        if path.is_file():
            try:
                data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            except yaml.YAMLError as exc:
                raise DataError(f"{path}: not valid YAML ({exc})") from None
            names = data.get("names")
            if isinstance(names, dict):
                names = [names[k] for k in sorted(names, key=int)]
            if not isinstance(names, list) or not names:
                raise DataError(f"{path}: needs a non-empty 'names' list (or {{id: name}} mapping)")
            return [str(n) for n in names], data
    path = root / "classes.txt"
    if path.is_file():
        names = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        return names, {}
    raise DataError(f"{root}: no data.yaml or classes.txt found; add one listing the class names, one per line")


def labels_dir_for(images_dir: Path) -> Path:
    """YOLO's rule: the labels live where the last ``images`` path component is replaced by ``labels``."""
    parts = list(images_dir.parts)
    for i in range(len(parts) - 1, -1, -1):
        if parts[i] == "images":
            parts[i] = "labels"
            return Path(*parts)
    raise DataError(f"{images_dir}: YOLO image folders must have an 'images' component, with 'labels' beside it")


def parse_yolo_label(
    text: str, num_classes: int, size: tuple[int, int], where: str
) -> tuple[np.ndarray, np.ndarray] | str:
    """Parse ``class cx cy w h`` lines (normalised) into XYXY pixel boxes and 1-based labels."""
    h, w = size
    boxes, labels = [], []
    for n, line in enumerate(text.splitlines(), 1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != 5:
            return f"{where}:{n}: expected 'class cx cy w h', got {line.strip()!r}"
        try:
            cls = int(fields[0])
            cx, cy, bw, bh = (float(v) for v in fields[1:])
        except ValueError:
            return f"{where}:{n}: not numbers: {line.strip()!r}"
        if not 0 <= cls < num_classes:
            return f"{where}:{n}: class {cls} is out of range 0..{num_classes - 1} ({num_classes} classes)"
        boxes.append([(cx - bw / 2) * w, (cy - bh / 2) * h, (cx + bw / 2) * w, (cy + bh / 2) * h])
        labels.append(cls + 1)
    return np.asarray(boxes, np.float32).reshape(-1, 4), np.asarray(labels, np.int64)


class YoloDataset(DetectionDataset):
    """A YOLO-format detection set.

    Layouts understood (``split`` picks ``images/<split>`` when given):

    - ``root/data.yaml`` with ``names`` and ``train:``/``val:`` image folders (relative to ``path:`` or root);
    - ``root/images[/split]`` + ``root/labels[/split]`` + ``root/classes.txt``.

    An **empty** label file means an image with no objects; a **missing** one is a problem.

    Args:
        root: dataset folder.
        split: ``"train"``, ``"val"``, ``"test"`` or None for ``root/images``.
        on_error: ``"raise"`` (default) on the first broken image or label, or ``"skip"`` it with a warning.
        verify: fully decode every image while scanning (catches truncated files).
        transforms: called as ``transforms(image, target)``.
    """

    def __init__(
        self,
        root: str | Path,
        split: str | None = None,
        *,
        on_error: OnError = "raise",
        verify: bool = True,
        transforms: Callable | None = None,
    ) -> None:
        self.root = Path(root)
        super().__init__(f"YOLO dataset {self.root}", on_error, transforms)
        if not self.root.is_dir():
            raise DataError(f"YOLO dataset folder {self.root} does not exist")
        names, meta = read_yolo_classes(self.root)
        self.classes = with_background(names)
        images_dir = self._images_dir(split, meta)
        labels_dir = labels_dir_for(images_dir)
        files = list_images(images_dir)
        for path in tqdm(files, desc=f"scanning {images_dir.name}", disable=len(files) < 500, leave=False):
            size = probe_image(path, verify)
            if isinstance(size, str):
                self.log.report(size)
                continue
            label_path = labels_dir / path.relative_to(images_dir).with_suffix(".txt")
            if not label_path.is_file():
                self.log.report(f"label file {label_path} is missing (an image with no objects needs an empty file)")
                continue
            parsed = parse_yolo_label(label_path.read_text(encoding="utf-8"), len(names), size, str(label_path))
            if isinstance(parsed, str):
                self.log.report(parsed)
                continue
            boxes = check_boxes(parsed[0], size, str(label_path))
            if isinstance(boxes, str):
                self.log.report(boxes)
                continue
            self.samples.append(Sample(path, size, boxes, parsed[1]))
        self.log.summary(len(self.samples))

    def _images_dir(self, split: str | None, meta: dict) -> Path:
        if split is not None and split in meta:
            base = self.root / meta.get("path", ".") if not Path(str(meta.get("path", "."))).is_absolute() \
                else Path(meta["path"])
            entry = meta[split]
            if not isinstance(entry, str):
                raise DataError(f"{self.root}/data.yaml: '{split}' must be one folder path, got {entry!r}")
            candidate = base / entry
            if candidate.is_dir():
                return candidate
            if (self.root / entry).is_dir():
                return self.root / entry
            raise DataError(f"{self.root}/data.yaml: {split} folder {candidate} does not exist")
        images = self.root / "images"
        if split is not None:
            images = images / split
        if not images.is_dir():
            raise DataError(f"{images} does not exist; a YOLO dataset keeps its images in images/[split]/")
        return images
