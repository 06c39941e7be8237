"""`DetectionDataset`: the (image, target) contract shared by every reader and synthetic set.

An item is ``(image, target)`` in torchvision's detection conventions:

- ``image``: :class:`torchvision.tv_tensors.Image`, uint8, shape ``(3, H, W)``;
- ``target["boxes"]``: :class:`torchvision.tv_tensors.BoundingBoxes`, XYXY pixels, shape ``(K, 4)``;
- ``target["labels"]``: int64 ``(K,)``, indices into ``dataset.classes`` where ``classes[0]`` is
  ``"__background__"`` (as in torchvision's weight metadata), so objects are labelled ``1..C``;
- ``target["image_id"]``: int, and ``target["synthetic"]``: bool.

so torchvision transforms v2 and detection models take it as it is.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError
from torch.utils.data import Dataset
from torchvision import tv_tensors
from torchvision.transforms.v2 import functional as F

from marinegan.data.problems import OnError, ProblemLog
from marinegan.errors import DataError

BACKGROUND = "__background__"
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")
# Annotations that overshoot the image by at most this many pixels are clamped (rounding);
# farther than that, the box is reported as a problem.
BOX_TOLERANCE_PX = 2.0

Target = dict


@dataclass
class Sample:
    """One scanned sample: where its image is and its validated boxes (XYXY pixels) and labels."""

    path: Path
    size: tuple[int, int]  # (H, W)
    boxes: np.ndarray = field(default_factory=lambda: np.zeros((0, 4), np.float32))
    labels: np.ndarray = field(default_factory=lambda: np.zeros((0,), np.int64))
    extras: dict[str, np.ndarray] = field(default_factory=dict)  # reader-specific target keys (VOC: difficult)


def list_images(directory: Path, recursive: bool = True) -> list[Path]:
    """Image files under ``directory`` (sorted, so the order is the same on every machine)."""
    if not directory.is_dir():
        raise DataError(f"image directory {directory} does not exist")
    pattern = "**/*" if recursive else "*"
    return sorted(p for p in directory.glob(pattern) if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file())


def probe_image(path: Path, verify: bool) -> tuple[int, int] | str:
    """Return ``(H, W)`` of an image, or a problem description if it cannot be read."""
    if not path.is_file():
        return f"image {path} is missing"
    try:
        with Image.open(path) as im:
            if verify:
                im.load()  # decodes the whole file: catches truncated and corrupt data
            return im.height, im.width
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        return f"image {path} cannot be read ({type(exc).__name__}: {exc})"


def check_boxes(boxes: np.ndarray, size: tuple[int, int], where: str) -> np.ndarray | str:
    """Clamp boxes that overshoot by rounding; return a problem for boxes outside or empty."""
    h, w = size
    if boxes.size == 0:
        return boxes.reshape(0, 4).astype(np.float32)
    if not np.isfinite(boxes).all():
        return f"{where}: box coordinates are not finite numbers"
    tol = BOX_TOLERANCE_PX
    out = (boxes[:, 0] < -tol) | (boxes[:, 1] < -tol) | (boxes[:, 2] > w + tol) | (boxes[:, 3] > h + tol)
    if out.any():
        i = int(np.argmax(out))
        return f"{where}: box {boxes[i].round(1).tolist()} lies outside the {w}x{h} image"
    boxes = np.clip(boxes, 0, [w, h, w, h]).astype(np.float32)
    empty = (boxes[:, 2] - boxes[:, 0] < 1) | (boxes[:, 3] - boxes[:, 1] < 1)
    if empty.any():
        i = int(np.argmax(empty))
        return f"{where}: box {boxes[i].round(1).tolist()} has no area (under 1 pixel wide or high)"
    return boxes


def to_rgb(im: Image.Image) -> Image.Image:
    """A PIL image as 8-bit RGB. 16-bit and 32-bit integer greyscale (modes ``I;16*``, ``I``) are scaled to 8
    bits by their bit depth (``value / 257`` for 16 bits), not clipped: PIL's own ``convert("RGB")`` clips them
    at 255, so a 16-bit frame would turn white. Float images (mode ``F``) have no fixed range and are refused."""
    if im.mode == "F":
        raise ValueError("a floating-point image (PIL mode F) has no fixed range; save it as 8- or 16-bit")
    if im.mode.startswith("I"):
        array = np.asarray(im).astype(np.int64)
        if array.min() < 0 or array.max() > 65535:
            raise ValueError(f"a {im.mode} image with values outside 0-65535 (16 bits)")
        im = Image.fromarray(np.rint(array / 257).astype(np.uint8), "L")
    return im.convert("RGB")


def load_rgb(path: Path) -> torch.Tensor:
    """Read an image file as uint8 ``(3, H, W)`` (EXIF orientation is not applied, like annotators' tools).

    16-bit greyscale is scaled to 8 bits (:func:`to_rgb`)."""
    try:
        with Image.open(path) as im:
            return F.pil_to_tensor(to_rgb(im))
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise DataError(
            f"image {path} cannot be read ({exc}); pass on_error='skip' when building the dataset"
        ) from None


def make_target(
    boxes: torch.Tensor | np.ndarray, labels: torch.Tensor | np.ndarray, size: tuple[int, int], image_id: int,
    synthetic: bool = False,
) -> Target:
    """Build a target dict in the conventions above."""
    return {
        "boxes": tv_tensors.BoundingBoxes(torch.as_tensor(boxes, dtype=torch.float32).reshape(-1, 4),
                                          format="XYXY", canvas_size=size),
        "labels": torch.as_tensor(labels, dtype=torch.int64).reshape(-1),
        "image_id": int(image_id),
        "synthetic": bool(synthetic),
    }


class DetectionDataset(Dataset):
    """Base of the real-data readers: a list of scanned :class:`Sample` and its class names.

    Subclasses fill ``self.samples`` and ``self.classes`` (``classes[0] == "__background__"``).
    ``transforms`` is called as ``transforms(image, target)`` (torchvision transforms v2 style).
    """

    classes: list[str]
    samples: list[Sample]

    def __init__(self, name: str, on_error: OnError, transforms: Callable | None) -> None:
        self.log = ProblemLog(name, on_error)
        self.transforms = transforms
        self.samples = []

    def __len__(self) -> int:
        return len(self.samples)

    def read_image(self, index: int) -> torch.Tensor:
        """The pixels of sample ``index`` alone: uint8 ``(3, H, W)``, freshly decoded (the caller may write
        into it), without its target and without ``transforms``."""
        return load_rgb(self.samples[index].path)

    def __getitem__(self, index: int) -> tuple[tv_tensors.Image, Target]:
        s = self.samples[index]
        image = tv_tensors.Image(self.read_image(index))
        target = make_target(s.boxes, s.labels, tuple(image.shape[-2:]), index)
        for key, value in s.extras.items():
            target[key] = torch.as_tensor(value)
        if self.transforms is not None:
            image, target = self.transforms(image, target)
        return image, target

    @property
    def num_classes(self) -> int:
        """Number of classes including background: what torchvision detectors take as ``num_classes``."""
        return len(self.classes)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({len(self)} images, classes={self.classes[1:]})"


def with_background(names: Sequence[str]) -> list[str]:
    names = [str(n) for n in names]
    if not names:
        raise DataError("the dataset declares no class names")
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise DataError(f"class names must be unique: {', '.join(map(repr, repeated))} appear(s) more than once in "
                        f"{names}; list each class once")
    if BACKGROUND in names:
        raise DataError(f"{BACKGROUND!r} is reserved for the background (label 0); rename that class")
    return [BACKGROUND, *names]
