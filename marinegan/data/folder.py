"""`ImageFolderDataset`: a plain folder of images without boxes, as the seed DCGAN article used."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tqdm.auto import tqdm

from marinegan.data.base import DetectionDataset, Sample, list_images, probe_image, with_background
from marinegan.data.problems import OnError


class ImageFolderDataset(DetectionDataset):
    """Every image under ``root`` (recursively), each with an empty target (no boxes).

    ``classes`` is ``["__background__", class_name]`` so the set mixes with detection sets.
    """

    def __init__(
        self,
        root: str | Path,
        *,
        class_name: str = "plastic",
        on_error: OnError = "raise",
        verify: bool = True,
        transforms: Callable | None = None,
    ) -> None:
        self.root = Path(root)
        super().__init__(f"image folder {self.root}", on_error, transforms)
        self.classes = with_background([class_name])
        files = list_images(self.root)
        for path in tqdm(files, desc="scanning images", disable=len(files) < 500, leave=False):
            size = probe_image(path, verify)
            if isinstance(size, str):
                self.log.report(size)
                continue
            self.samples.append(Sample(path, size))
        self.log.summary(len(self.samples))
