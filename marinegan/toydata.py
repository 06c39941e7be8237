"""Procedural toy marine scenes with exact boxes, for tests, examples, demos and benchmarks.

These are *drawn* pictures (a water gradient with bottle- and bag-like shapes), not photographs:
they stand in for real data where none is available, and say so in every place they are used.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

TOY_CLASSES = ["bottle", "bag"]


def toy_scene(rng: np.random.Generator, size: int = 96, max_objects: int = 3) -> tuple[Image.Image, list, list]:
    """One RGB scene and its objects: boxes ``[x0, y0, x1, y1]`` (pixels) and 0-based class ids."""
    top = np.array([20, 70, 110]) + rng.integers(-15, 15, 3)
    bottom = np.array([5, 35, 60]) + rng.integers(-10, 10, 3)
    t = np.linspace(0, 1, size)[:, None, None]
    water = (top * (1 - t) + bottom * t) + rng.normal(0, 6, (size, size, 3))
    image = Image.fromarray(np.clip(np.broadcast_to(water, (size, size, 3)), 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(image, "RGBA")
    boxes, labels = [], []
    for _ in range(int(rng.integers(1, max_objects + 1))):
        cls = int(rng.integers(0, len(TOY_CLASSES)))
        w, h = (rng.integers(size // 8, size // 3, 2)).tolist()
        if cls == 0:  # bottles are long
            w, h = (w, max(4, w // 2)) if rng.random() < 0.5 else (max(4, h // 2), h)
        x0, y0 = int(rng.integers(0, size - w)), int(rng.integers(0, size - h))
        colour = tuple(int(c) for c in rng.integers(90, 255, 3))
        if cls == 0:
            draw.rounded_rectangle([x0, y0, x0 + w - 1, y0 + h - 1], radius=min(w, h) // 3, fill=(*colour, 235))
        else:
            draw.ellipse([x0, y0, x0 + w - 1, y0 + h - 1], fill=(*colour, 150))
        boxes.append([x0, y0, x0 + w, y0 + h])
        labels.append(cls)
    return image.filter(ImageFilter.GaussianBlur(0.6)), boxes, labels


def make_toy_yolo(
    root: str | Path, n: int = 24, *, size: int = 96, seed: int = 0, split: str | None = None,
    single_class: str | None = None,
) -> Path:
    """Write ``n`` toy scenes as a YOLO dataset (``images/``, ``labels/``, ``data.yaml``) and return ``root``.

    ``single_class="plastic"`` labels every object with that one class instead of bottle/bag.
    """
    root = Path(root)
    rng = np.random.default_rng(seed)
    sub = Path(split) if split else Path()
    (root / "images" / sub).mkdir(parents=True, exist_ok=True)
    (root / "labels" / sub).mkdir(parents=True, exist_ok=True)
    for i in range(n):
        image, boxes, labels = toy_scene(rng, size)
        image.save(root / "images" / sub / f"scene_{i:04d}.png")
        lines = [
            f"{0 if single_class else c} {(b[0] + b[2]) / 2 / size:.6f} {(b[1] + b[3]) / 2 / size:.6f} "
            f"{(b[2] - b[0]) / size:.6f} {(b[3] - b[1]) / size:.6f}"
            for b, c in zip(boxes, labels, strict=True)
        ]
        (root / "labels" / sub / f"scene_{i:04d}.txt").write_text("\n".join(lines) + ("\n" if lines else ""))
    names = [single_class] if single_class else TOY_CLASSES
    (root / "data.yaml").write_text(json.dumps({"names": names}) + "\n")  # JSON is valid YAML
    (root / "SOURCE.txt").write_text("Procedural toy scenes drawn by marinegan.toydata (not photographs).\n")
    return root


def make_toy_coco(root: str | Path, n: int = 24, *, size: int = 96, seed: int = 0) -> Path:
    """Write ``n`` toy scenes as a COCO dataset (``images/`` + ``annotations.json``); return the JSON's path."""
    root = Path(root)
    (root / "images").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    images, annotations = [], []
    for i in range(n):
        image, boxes, labels = toy_scene(rng, size)
        name = f"scene_{i:04d}.png"
        image.save(root / "images" / name)
        images.append({"id": i + 1, "file_name": name, "width": size, "height": size})
        for b, c in zip(boxes, labels, strict=True):
            annotations.append({"id": len(annotations) + 1, "image_id": i + 1, "category_id": c + 1, "iscrowd": 0,
                                "bbox": [b[0], b[1], b[2] - b[0], b[3] - b[1]],
                                "area": (b[2] - b[0]) * (b[3] - b[1])})
    categories = [{"id": i + 1, "name": n, "supercategory": "litter"} for i, n in enumerate(TOY_CLASSES)]
    path = root / "annotations.json"
    path.write_text(json.dumps({"images": images, "annotations": annotations, "categories": categories}))
    return path
