"""`VocDataset`: Pascal VOC XML annotations (Trash-ICRA19 and many debris sets ship in it).

Two layouts are understood:

- **flat**: ``<name>.jpg`` beside ``<name>.xml`` in one folder; splits are sub-folders
  (``root/train``, ``root/val``), as Trash-ICRA19 is distributed;
- **VOCdevkit**: ``Annotations/*.xml``, ``JPEGImages/*.jpg``, ``ImageSets/Main/<split>.txt``.

Boxes: VOC writes 1-based inclusive pixel corners; they become 0-based XYXY with an exclusive end
(``xmin - 1, ymin - 1, xmax, ymax``), as in detectron2's VOC reader, so a box to the image's edge
ends at the image's width.
"""

from __future__ import annotations

import warnings
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from marinegan.data.base import IMAGE_EXTENSIONS, DetectionDataset, Sample, check_boxes, probe_image, with_background
from marinegan.data.problems import DataWarning, OnError
from marinegan.errors import DataError


@dataclass
class VocObject:
    name: str
    box: tuple[float, float, float, float]
    difficult: bool
    truncated: bool


@dataclass
class VocRecord:
    xml: Path
    image: Path
    size: tuple[int, int] | None  # (H, W) from <size>, None when absent or zero
    objects: list[VocObject]


def _flag(obj: ET.Element, tag: str) -> bool:
    text = (obj.findtext(tag) or "0").strip()
    return text not in ("", "0", "false", "False")


def parse_voc_xml(path: Path, image_dir: Path) -> VocRecord | str:
    """Parse one annotation file; returns a problem description when it cannot be used."""
    try:
        root = ET.parse(path).getroot()
    except (ET.ParseError, OSError) as exc:
        return f"{path}: not a readable Pascal VOC XML file ({exc})"
    size = None
    w, h = root.findtext("size/width"), root.findtext("size/height")
    if w is not None and h is not None:
        try:
            wi, hi = int(float(w)), int(float(h))
        except ValueError:
            return f"{path}: <size> holds {w!r} x {h!r}, not numbers"
        size = (hi, wi) if wi > 0 and hi > 0 else None
    filename = (root.findtext("filename") or "").strip()
    image = image_dir / filename if filename else None
    if image is None or not image.is_file():  # files are often renamed after labelling: try the XML's stem
        candidates = (image_dir / (path.stem + e) for ext in IMAGE_EXTENSIONS for e in (ext, ext.upper()))
        image = next((c for c in candidates if c.is_file()), image or image_dir / (path.stem + ".jpg"))
    objects = []
    for n, obj in enumerate(root.iter("object"), 1):
        name = (obj.findtext("name") or "").strip()
        bb = obj.find("bndbox")
        if not name or bb is None:
            return f"{path}: object {n} has no <name> or no <bndbox>"
        try:
            x0, y0, x1, y1 = (float(bb.findtext(k) or "nan") for k in ("xmin", "ymin", "xmax", "ymax"))
        except ValueError:
            return f"{path}: object {n} ({name}) has a <bndbox> that is not numbers"
        objects.append(VocObject(name, (x0 - 1, y0 - 1, x1, y1), _flag(obj, "difficult"), _flag(obj, "truncated")))
    return VocRecord(path, image, size, objects)


def find_splits(root: Path) -> list[str]:
    """The splits a VOC folder offers: ``ImageSets/Main/*.txt`` or sub-folders holding XML files."""
    main = root / "ImageSets" / "Main"
    if main.is_dir():
        return sorted(p.stem for p in main.glob("*.txt") if "_" not in p.stem)
    if root.is_dir():
        return sorted(p.name for p in root.iterdir() if p.is_dir() and any(p.glob("*.xml")))
    return []


def is_voc(root: Path) -> bool:
    """Whether ``root`` looks like a Pascal VOC set (either layout, possibly split into sub-folders)."""
    root = Path(root)
    if not root.is_dir():
        return False
    if (root / "Annotations").is_dir():
        return True
    return any(root.glob("*.xml")) or bool(find_splits(root))


class VocDataset(DetectionDataset):
    """A Pascal VOC detection set, read into torchvision's conventions (see :mod:`marinegan.data.base`).

    Args:
        root: the folder (flat or VOCdevkit layout, see the module docstring).
        split: ``"train"``, ``"val"``, ...: ``ImageSets/Main/<split>.txt`` or the sub-folder ``root/<split>``;
            None reads every XML directly in ``root`` (or every file in ``Annotations/``).
        classes: object classes to keep, in label order (``["plastic", "bio", "rov"]``); None keeps every
            name found, sorted.
        class_map: aliases applied to names first (``{"platstic": "plastic"}``).
        ignore: names whose boxes are dropped silently (burned-in ``"timestamp"`` overlays, for instance).
            Their boxes stay available as ``target["ignored_boxes"]`` so crops can keep clear of them.
        on_error: ``"raise"`` on the first problem, or ``"skip"`` (a broken file skips its image; a box with
            an unknown name is dropped, warned once per name and counted).
        verify: fully decode every image while scanning (catches truncated files).
        transforms: called as ``transforms(image, target)``.

    Targets also hold ``difficult`` and ``truncated`` (bool ``(K,)``) and ``ignored_boxes`` (float ``(M, 4)``).
    """

    def __init__(
        self,
        root: str | Path,
        split: str | None = None,
        *,
        classes: Sequence[str] | None = None,
        class_map: Mapping[str, str] | None = None,
        ignore: Iterable[str] = (),
        on_error: OnError = "raise",
        verify: bool = True,
        transforms: Callable | None = None,
    ) -> None:
        self.root = Path(root)
        self.split = split
        super().__init__(f"VOC dataset {self.root}" + (f" (split {split})" if split else ""), on_error, transforms)
        if not self.root.is_dir():
            raise DataError(f"VOC dataset folder {self.root} does not exist")
        self.class_map = dict(class_map or {})
        self.ignore = {str(n) for n in ignore}
        xml_files, image_dir = self._annotation_files(split)
        records = []
        for path in tqdm(xml_files, desc=f"reading {self.root.name} annotations", disable=len(xml_files) < 500,
                         leave=False):
            rec = parse_voc_xml(path, image_dir)
            if isinstance(rec, str):
                self.log.report(rec)
                continue
            records.append(rec)
        names = sorted({self._name(o.name) for r in records for o in r.objects} - self.ignore)
        if classes is None:
            if not names:
                raise DataError(f"{self.root}: no object names found in the annotations; pass classes=[...]")
            classes = names
        overlap = self.ignore & set(classes)
        if overlap:
            raise DataError(f"{sorted(overlap)} are both in classes and in ignore; keep each name in one of them")
        self.classes = with_background(classes)
        label_of = {name: i for i, name in enumerate(self.classes) if i > 0}
        self.dropped: Counter[str] = Counter()

        for rec in tqdm(records, desc=f"scanning {self.root.name} images", disable=len(records) < 500, leave=False):
            sample = self._sample(rec, label_of, verify)
            if sample is not None:
                self.samples.append(sample)
        if self.dropped:
            warnings.warn(f"{self.name}: dropped boxes with names outside classes: {dict(self.dropped)}",
                          DataWarning, stacklevel=2)
        self.log.summary(len(self.samples))

    @property
    def name(self) -> str:
        return self.log.name

    def _name(self, raw: str) -> str:
        return self.class_map.get(raw, raw)

    def _annotation_files(self, split: str | None) -> tuple[list[Path], Path]:
        if (self.root / "Annotations").is_dir():  # VOCdevkit
            ann, images = self.root / "Annotations", self.root / "JPEGImages"
            if not images.is_dir():
                raise DataError(f"{self.root}: has Annotations/ but no JPEGImages/ beside it")
            if split is None:
                return sorted(ann.glob("*.xml")), images
            listing = self.root / "ImageSets" / "Main" / f"{split}.txt"
            if not listing.is_file():
                raise DataError(f"{listing} does not exist; splits here: {find_splits(self.root) or 'none'}")
            ids = [line.split()[0] for line in listing.read_text(encoding="utf-8").splitlines() if line.strip()]
            return [ann / f"{i}.xml" for i in ids], images
        folder = self.root / split if split is not None else self.root
        if not folder.is_dir():
            raise DataError(f"{folder} does not exist; splits here: {find_splits(self.root) or 'none'}")
        files = sorted(folder.glob("*.xml"))
        if not files:
            inner = find_splits(folder)
            raise DataError(f"{folder} holds no Pascal VOC .xml files" + (f"; it has splits {inner}: pass one"
                                                                          if inner else ""))
        return files, folder

    def _sample(self, rec: VocRecord, label_of: dict[str, int], verify: bool) -> Sample | None:
        if not rec.xml.is_file():
            self.log.report(f"annotation file {rec.xml} is missing")
            return None
        size = probe_image(rec.image, verify)
        if isinstance(size, str):
            self.log.report(size + f" (named by {rec.xml.name})")
            return None
        if rec.size is not None and rec.size != size:
            self.log.report(f"{rec.xml}: <size> says {rec.size[1]}x{rec.size[0]} but the image {rec.image.name} "
                            f"is {size[1]}x{size[0]}; fix the XML's <size>")
            return None
        boxes, labels, difficult, truncated, ignored = [], [], [], [], []
        for obj in rec.objects:
            name = self._name(obj.name)
            if name in self.ignore:
                ignored.append(obj.box)
                continue
            if name not in label_of:
                if self.log.on_error == "raise":
                    self.log.report(
                        f"{rec.xml}: object name {obj.name!r} is not one of the classes {self.classes[1:]}; add it to "
                        f"classes=..., drop it with ignore=..., or skip such boxes with on_error='skip'")
                self.dropped[name] += 1
                continue
            boxes.append(obj.box)
            labels.append(label_of[name])
            difficult.append(obj.difficult)
            truncated.append(obj.truncated)
        checked = check_boxes(np.asarray(boxes, np.float32).reshape(-1, 4), size, str(rec.xml))
        if isinstance(checked, str):
            self.log.report(checked)
            return None
        ign = np.clip(np.asarray(ignored, np.float32).reshape(-1, 4), 0, [size[1], size[0]] * 2).astype(np.float32)
        extras = {"difficult": np.asarray(difficult, bool), "truncated": np.asarray(truncated, bool),
                  "ignored_boxes": ign}
        return Sample(rec.image, size, checked, np.asarray(labels, np.int64), extras)
