"""The main job, end to end and offline: default generator -> synthetic set -> mix -> a picture and counts."""

from __future__ import annotations

import time
from pathlib import Path

import torch
from PIL import Image, ImageDraw
from torch.utils.data import Subset

from marinegan.data import DetectionDataset, open_dataset
from marinegan.hub import load_generator
from marinegan.images import draw_target, grid_image
from marinegan.mix import mix_counts, mix_datasets
from marinegan.synth import SyntheticPlasticDataset
from marinegan.toydata import make_toy_yolo


def run_demo(
    out: str | Path = "demo",
    *,
    model: str = "default",
    real: str | Path | DetectionDataset | None = None,
    ratio: float = 0.3,
    seed: int = 0,
    label: str | None = None,
    device: str = "auto",
    max_real: int = 60,
) -> dict:
    """Generate, mix and draw; returns counts and timings (seconds) and writes ``out/demo_grid.png``.

    Without ``real``, a small set of procedural toy scenes (``marinegan.toydata``, not photographs)
    stands in for the real sample, and the picture says so. ``real`` may be a path or an opened dataset
    (up to ``max_real`` of its images are used, evenly spaced). Nothing is written before the real
    data and the generator have loaded.
    """
    out = Path(out)
    timings: dict[str, float] = {}
    if isinstance(real, (str, Path)):
        t = time.perf_counter()
        real = open_dataset(real)
        timings["read real sample"] = time.perf_counter() - t
    if real is not None:
        source = f"{getattr(real, 'root', 'real dataset')}" + (f" ({real.split})" if getattr(real, "split", None)
                                                                else "")
        real_ds = real if len(real) <= max_real else _evenly_spaced(real, max_real)
    t = time.perf_counter()
    g = load_generator(model, device=device)
    timings["load generator"] = time.perf_counter() - t
    out.mkdir(parents=True, exist_ok=True)
    if real is None:
        t = time.perf_counter()
        real_path = out / "real_sample"
        if not (real_path / "data.yaml").is_file():
            make_toy_yolo(real_path, n=40, size=128, seed=seed, single_class="plastic")
        source = "procedural toy scenes (no real photographs given: pass --real PATH)"
        real_ds = open_dataset(real_path)
        timings["make toy sample"] = time.perf_counter() - t

    t = time.perf_counter()
    n_syn = max(1, mix_counts(len(real_ds), ratio, None)[1])
    synthetic = SyntheticPlasticDataset(g, n_syn, backgrounds=real_ds, label=label, seed=seed, device=device,
                                        materialize=True, progress=False)
    timings["generate and composite synthetic"] = time.perf_counter() - t

    t = time.perf_counter()
    mixed = mix_datasets(real_ds, synthetic, ratio, seed=seed)
    items = [mixed[i] for i in range(len(mixed))]
    timings["mix and read all"] = time.perf_counter() - t

    t = time.perf_counter()
    real_items = [it for it in items if not it[1]["synthetic"]][:8]
    syn_items = [it for it in items if it[1]["synthetic"]][:8]
    rows = []
    for title, chosen in ((f"real: {source}", real_items), (f"synthetic: generator {model!r}, seed {seed}",
                                                              syn_items)):
        tiles = [draw_target(img, tgt, mixed.classes) for img, tgt in chosen]
        h, w = max(t.shape[-2] for t in tiles), max(t.shape[-1] for t in tiles)
        tiles = [torch.nn.functional.pad(t, (0, w - t.shape[-1], 0, h - t.shape[-2]), value=255) for t in tiles]
        grid = grid_image(torch.stack(tiles), nrow=8 if w <= 256 else 4)
        canvas = Image.new("RGB", (grid.width, grid.height + 20), "white")
        canvas.paste(grid, (0, 20))
        ImageDraw.Draw(canvas).text((4, 4), title, fill="black")
        rows.append(canvas)
    picture = Image.new("RGB", (max(r.width for r in rows), sum(r.height for r in rows)), "white")
    y = 0
    for r in rows:
        picture.paste(r, (0, y))
        y += r.height
    grid_path = out / "demo_grid.png"
    picture.save(grid_path)
    timings["draw grid"] = time.perf_counter() - t
    return {"counts": mixed.counts(), "ratio": mixed.ratio, "timings": timings, "grid": grid_path,
            "device": str(g.device), "real_source": source}


def _evenly_spaced(dataset: DetectionDataset, n: int) -> Subset:
    """``n`` items spread over ``dataset`` (frames of one video sit together), keeping its ``classes``."""
    step = len(dataset) / n
    subset = Subset(dataset, [int(i * step) for i in range(n)])
    subset.classes = dataset.classes
    return subset
