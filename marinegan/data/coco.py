"""`CocoDataset`: COCO JSON detection sets (TACO, TrashCan)."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from marinegan.data.base import DetectionDataset, Sample, check_boxes, probe_image, with_background
from marinegan.data.problems import OnError
from marinegan.errors import DataError


class CocoDataset(DetectionDataset):
    """A COCO-format detection set: ``images``, ``annotations`` (``bbox`` as XYWH) and ``categories``.

    Category ids are mapped, in ascending id order, to labels ``1..C``; ``classes[label]`` is the
    category name and ``category_ids[label]`` the original id. Images without annotations are kept
    as images with no objects (valid COCO). Unknown ids, boxes outside the image and missing or
    corrupt images are problems (``on_error`` chooses raise or skip).
    """

    def __init__(
        self,
        images_dir: str | Path,
        annotation_file: str | Path,
        *,
        on_error: OnError = "raise",
        verify: bool = True,
        transforms: Callable | None = None,
    ) -> None:
        self.images_dir, self.annotation_file = Path(images_dir), Path(annotation_file)
        super().__init__(f"COCO dataset {self.annotation_file}", on_error, transforms)
        try:
            data = json.loads(self.annotation_file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise DataError(f"COCO annotation file {self.annotation_file} does not exist") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise DataError(f"{self.annotation_file}: not valid JSON ({exc})") from None
        for key in ("images", "annotations", "categories"):
            if not isinstance(data.get(key), list):
                raise DataError(f"{self.annotation_file}: missing the '{key}' list of a COCO detection file")
        cats = sorted(data["categories"], key=lambda c: c["id"])
        self.category_ids = [0] + [int(c["id"]) for c in cats]
        self.classes = with_background([c["name"] for c in cats])
        label_of = {cid: i for i, cid in enumerate(self.category_ids) if i > 0}
        images = {int(im["id"]): im for im in data["images"]}

        per_image: dict[int, list[dict]] = defaultdict(list)
        bad_images: set[int] = set()
        for ann in data["annotations"]:
            image_id = int(ann.get("image_id", -1))
            if image_id not in images:
                self.log.report(f"annotation {ann.get('id')} refers to unknown image_id {image_id}")
                continue
            if ann.get("category_id") not in label_of:
                self.log.report(f"annotation {ann.get('id')} has unknown category_id {ann.get('category_id')}")
                bad_images.add(image_id)
                continue
            bbox = ann.get("bbox")
            if not (isinstance(bbox, list) and len(bbox) == 4):
                self.log.report(f"annotation {ann.get('id')} has no [x, y, w, h] bbox")
                bad_images.add(image_id)
                continue
            per_image[image_id].append(ann)

        for image_id in tqdm(sorted(images), desc="scanning COCO", disable=len(images) < 500, leave=False):
            if image_id in bad_images:
                continue
            info = images[image_id]
            path = self.images_dir / info["file_name"]
            size = probe_image(path, verify)
            if isinstance(size, str):
                self.log.report(size)
                continue
            if (info.get("height"), info.get("width")) not in ((None, None), size):
                self.log.report(f"{path}: annotation says {info.get('width')}x{info.get('height')} but the image "
                                f"is {size[1]}x{size[0]}")
                continue
            anns = per_image.get(image_id, [])
            xywh = np.asarray([a["bbox"] for a in anns], np.float64).reshape(-1, 4)
            xyxy = np.concatenate([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]], axis=1)
            boxes = check_boxes(xyxy, size, f"{self.annotation_file} image {image_id}")
            if isinstance(boxes, str):
                self.log.report(boxes)
                continue
            labels = np.asarray([label_of[a["category_id"]] for a in anns], np.int64)
            self.samples.append(Sample(path, size, boxes, labels))
        self.log.summary(len(self.samples))
