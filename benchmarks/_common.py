"""Shared helpers for the benchmark scripts: timing, the machine, real frames, a table and JSON rows."""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch

REAL_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "trash-icra19"
TRASH_CLASSES = ["plastic", "bio", "rov"]
TRASH_IGNORED = ["timestamp", "metal", "wood", "paper", "cloth", "rubber", "fishing", "unknown"]


def parser(doc: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=doc)
    p.add_argument("--device", default="auto", help="auto, cpu or cuda")
    p.add_argument("--quick", action="store_true", help="tiny sizes (a smoke run, numbers not meaningful)")
    p.add_argument("--repeat", type=int, default=3, help="timed repetitions (the median is reported)")
    p.add_argument("--json", type=Path, help="also write the rows here as JSON (what, workers, value, unit, ratio)")
    p.add_argument("--toy", action="store_true", help="use procedural toy scenes even where real frames exist")
    return p


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    gpu = torch.cuda.get_device_name() if torch.cuda.is_available() else "no GPU"
    return (f"{cpu}, {os.cpu_count()} CPU threads visible, torch {torch.__version__} "
            f"({torch.get_num_threads()} intra-op threads), {gpu}")


def backgrounds(n: int, *, toy: bool = False, split: str = "train"):
    """``(dataset, description)``: up to ``n`` Trash-ICRA19 frames (480x360 JPEG) where
    ``../shared/data/trash-icra19`` exists, else ``n`` procedural toy scenes (256 px PNG)."""
    from torch.utils.data import Subset

    from marinegan import VocDataset, YoloDataset
    from marinegan.toydata import make_toy_yolo

    if REAL_DATA.is_dir() and not toy:
        ds = VocDataset(REAL_DATA, split, classes=TRASH_CLASSES, ignore=TRASH_IGNORED)
        step = max(1, len(ds) // n)
        sub = Subset(ds, list(range(0, len(ds), step))[:n])
        sub.classes = ds.classes
        return sub, f"{len(sub)} real Trash-ICRA19 {split} frames (JPEG, 480x360 or 480x270)"
    ds = YoloDataset(make_toy_yolo(Path(tempfile.mkdtemp()) / "bg", n=n, size=256, seed=0, single_class="plastic"))
    return ds, f"{len(ds)} procedural toy scenes (PNG, 256x256; real frames not found)"


def interleaved(fns: dict[str, Callable[[], int]], repeat: int, device: torch.device,
                baseline: str) -> dict[str, tuple[float, float]]:
    """Time several candidates round-robin against ``baseline``: ``{name: (items/s, ratio)}``.

    Each function runs once to warm up, then ``repeat`` rounds run every function once, in turn. A
    shared machine's speed drifts over minutes; timing a baseline's repeats and then a candidate's lets
    that drift into the ratio, while a round takes seconds. So ``ratio`` is the median over rounds of
    (candidate items/s / baseline items/s in the same round), and ``items/s`` the median over rounds.
    """
    for fn in fns.values():
        fn()
    rates: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeat):
        for name, fn in fns.items():
            if device.type == "cuda":
                torch.cuda.synchronize()
            t = time.perf_counter()
            n = fn()
            if device.type == "cuda":
                torch.cuda.synchronize()
            rates[name].append(n / (time.perf_counter() - t))
    return {name: (statistics.median(r), statistics.median(a / b for a, b in zip(r, rates[baseline], strict=True)))
            for name, r in rates.items()}


def table(title: str, headers: list[str], rows: list[list]) -> str:
    cells = [headers, *[[f"{c:.3f}" if isinstance(c, float) else str(c) for c in r] for r in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    line = lambda r: "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |"  # noqa: E731
    out = [f"## {title}", "", f"machine: {machine()}", "", line(cells[0]),
           "| " + " | ".join("-" * w for w in widths) + " |", *map(line, cells[1:])]
    return "\n".join(out)


def write_json(path: Path | None, title: str, rows: list[dict]) -> None:
    """Write ``{"title", "machine", "rows": [{what, workers?, value, unit, ratio}, ...]}`` to ``path``."""
    if path is None:
        return
    for row in rows:
        missing = {"what", "value", "unit", "ratio"} - set(row)
        if missing:
            raise ValueError(f"benchmark row {row} lacks {sorted(missing)}")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"title": title, "machine": machine(), "rows": rows}, indent=2))
