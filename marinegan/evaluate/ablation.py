"""`ablate`: does synthetic data help? Train a detector per real/synthetic ratio and seed; mAP on real images.

Each finished run is saved as ``runs/ratio_<r>_seed_<s>.json`` (atomically), so a stopped ablation
resumes without redoing finished runs. The settings are saved in ``ablation.json``; resuming with
other settings is refused, so one table never mixes two recipes. Results: ``results.csv`` (a row
per run), ``results.md`` (mean ± std over seeds per ratio, the real-only row as baseline) and
``ablation.png`` (mAP against ratio, error bars = std over seeds).
"""

from __future__ import annotations

import csv
import json
import statistics
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

import torch
from torch.utils.data import Dataset
from tqdm.auto import tqdm

from marinegan.errors import ConfigError
from marinegan.evaluate.detection import build_detector, evaluate_detector, train_detector
from marinegan.fileio import atomic_write
from marinegan.mix import mix_datasets


@dataclass
class AblationSettings:
    detector: str = "fasterrcnn_mobilenet_v3_large_320_fpn"
    trainer: Literal["torchvision", "ultralytics"] = "torchvision"
    epochs: int = 1
    batch_size: int = 4
    lr: float = 0.01
    size: int | None = None
    pretrained_backbone: bool = False
    ultralytics_model: str = "yolov8n.yaml"
    imgsz: int = 320


@dataclass
class AblationResult:
    out_dir: Path
    runs: list[dict] = field(default_factory=list)
    summary: list[dict] = field(default_factory=list)


def _run_name(ratio: float, seed: int) -> str:
    return f"ratio_{ratio:g}_seed_{seed}"


def ablate(
    real_train: Dataset,
    real_val: Dataset,
    synthetic: Dataset | None,
    ratios: list[float] | tuple[float, ...] = (0, 0.1, 0.25, 0.5),
    seeds: list[int] | tuple[int, ...] = (0, 1, 2),
    *,
    detector: str = "fasterrcnn_mobilenet_v3_large_320_fpn",
    trainer: Literal["torchvision", "ultralytics"] = "torchvision",
    epochs: int = 1,
    batch_size: int = 4,
    lr: float = 0.01,
    size: int | None = None,
    pretrained_backbone: bool = False,
    ultralytics_model: str = "yolov8n.yaml",
    imgsz: int = 320,
    out_dir: str | Path = "ablation",
    device: str | torch.device = "auto",
    progress: bool = True,
) -> AblationResult:
    """Train one detector per (ratio, seed) on ``mix_datasets(real_train, synthetic, ratio, size=size, seed=seed)``
    and evaluate it on ``real_val`` only.

    Args:
        ratios: synthetic fractions; 0 (real only) is always added as the baseline.
        seeds: one run per seed and ratio (the mix, the detector's init and its data order).
        detector: a torchvision detection model name (trainer ``"torchvision"``).
        trainer: ``"torchvision"``, or ``"ultralytics"`` (each mix exported as YOLO and trained with
            ``ultralytics.YOLO(ultralytics_model)``; needs ``pip install ultralytics``).
        size: fixed training-set size per run (see :func:`mix_datasets`); None keeps every real image.
        pretrained_backbone: ImageNet backbone weights from ``$TORCH_HOME`` (torchvision trainer).
    """
    settings = AblationSettings(detector, trainer, epochs, batch_size, lr, size, pretrained_backbone,
                                ultralytics_model, imgsz)
    if trainer not in ("torchvision", "ultralytics"):
        raise ConfigError(f"trainer={trainer!r} must be 'torchvision' or 'ultralytics'")
    if len(real_val) == 0:
        raise ConfigError("the real validation set is empty")
    ratios = sorted({0.0, *map(float, ratios)})
    out = Path(out_dir)
    (out / "runs").mkdir(parents=True, exist_ok=True)
    settings_path = out / "ablation.json"
    if settings_path.exists():
        saved = json.loads(settings_path.read_text())
        if saved != asdict(settings):
            diff = sorted(k for k in saved if saved[k] != asdict(settings).get(k))
            raise ConfigError(f"{out} holds an ablation with other settings ({diff}); use a new out_dir")
    settings_path.write_text(json.dumps(asdict(settings), indent=2))
    classes = list(getattr(real_train, "classes", []))
    if len(classes) < 2:
        raise ConfigError("real_train must have class names (classes[0] == '__background__')")
    if synthetic is not None and hasattr(synthetic, "materialize") and not getattr(synthetic, "materialized", True):
        synthetic.materialize()  # detector training shuffles: generate once, up front

    plan = [(r, s) for r in ratios for s in seeds]
    runs = []
    bar = tqdm(plan, desc="ablation runs", disable=not progress)
    for ratio, seed in bar:
        path = out / "runs" / f"{_run_name(ratio, seed)}.json"
        if path.is_file():
            runs.append(json.loads(path.read_text()))
            continue
        bar.set_postfix(ratio=ratio, seed=seed)
        mix = mix_datasets(real_train, synthetic, ratio, size=size, seed=seed)
        t0 = time.perf_counter()
        if trainer == "torchvision":
            torch.manual_seed(seed)
            model = build_detector(detector, len(classes), pretrained_backbone=pretrained_backbone)
            train_detector(model, mix, epochs=epochs, batch_size=batch_size, lr=lr, seed=seed, device=device,
                           progress=progress)
            scores = evaluate_detector(model, real_val, classes, batch_size=batch_size, device=device,
                                       progress=progress)
        else:
            from marinegan.evaluate.yolo_trainer import train_and_evaluate_yolo

            scores = train_and_evaluate_yolo(mix, real_val, classes, out / "runs" / _run_name(ratio, seed),
                                             out / "val_yolo", settings, seed, device)
        record = {"ratio": ratio, "seed": seed, **mix.counts(), **scores,
                  "seconds": round(time.perf_counter() - t0, 2)}
        atomic_write(path, lambda tmp, rec=record: Path(tmp).write_text(json.dumps(rec, indent=2)))
        runs.append(record)
    summary = summarise(runs)
    write_reports(out, runs, summary, settings)
    return AblationResult(out, runs, summary)


def summarise(runs: list[dict]) -> list[dict]:
    """Mean and standard deviation over seeds for each ratio, and the change against ratio 0."""
    rows = []
    for ratio in sorted({r["ratio"] for r in runs}):
        group = [r for r in runs if r["ratio"] == ratio]
        row = {"ratio": ratio, "runs": len(group)}
        for key in ("map", "map_50"):
            values = [r[key] for r in group]
            row[f"{key}_mean"] = statistics.fmean(values)
            row[f"{key}_std"] = statistics.stdev(values) if len(values) > 1 else 0.0
        row["synthetic"] = round(statistics.fmean(r["synthetic"] for r in group))
        row["real"] = round(statistics.fmean(r["real"] for r in group))
        rows.append(row)
    base = next((r for r in rows if r["ratio"] == 0), None)
    for row in rows:
        row["delta_map"] = row["map_mean"] - base["map_mean"] if base else float("nan")
    return rows


def write_reports(out: Path, runs: list[dict], summary: list[dict], settings: AblationSettings) -> None:
    classes = sorted({c for r in runs for c in r.get("per_class", {})})
    with open(out / "results.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["ratio", "seed", "real", "synthetic", "map", "map_50", "map_75", *[f"map_{c}" for c in classes],
                    "seconds"])
        for r in sorted(runs, key=lambda r: (r["ratio"], r["seed"])):
            w.writerow([r["ratio"], r["seed"], r["real"], r["synthetic"], f"{r['map']:.4f}", f"{r['map_50']:.4f}",
                        f"{r.get('map_75', float('nan')):.4f}",
                        *[f"{r.get('per_class', {}).get(c, float('nan')):.4f}" for c in classes], r["seconds"]])
    what = settings.detector if settings.trainer == "torchvision" else f"ultralytics {settings.ultralytics_model}"
    lines = [
        "# Real/synthetic ratio ablation",
        "",
        f"Detector: {what}, {settings.epochs} epoch(s), batch {settings.batch_size}. mAP is COCO mAP@[.50:.95] on "
        "the real validation set only; mean ± std over seeds. The ratio 0 row (real only) is the baseline.",
        "",
        "| synthetic ratio | real | synthetic | runs | mAP | mAP@50 | Δ mAP vs real only |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for s in summary:
        label = f"{s['ratio']:g}" + (" (baseline)" if s["ratio"] == 0 else "")
        lines.append(f"| {label} | {s['real']} | {s['synthetic']} | {s['runs']} | {s['map_mean']:.4f} ± "
                     f"{s['map_std']:.4f} | {s['map_50_mean']:.4f} ± {s['map_50_std']:.4f} | {s['delta_map']:+.4f} |")
    (out / "results.md").write_text("\n".join(lines) + "\n")
    plot_ablation(summary, out / "ablation.png", what)


def plot_ablation(summary: list[dict], path: Path, title: str) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x = [s["ratio"] for s in summary]
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    for key, label in (("map", "mAP@[.50:.95]"), ("map_50", "mAP@50")):
        ax.errorbar(x, [s[f"{key}_mean"] for s in summary], yerr=[s[f"{key}_std"] for s in summary], marker="o",
                    capsize=4, label=label)
    ax.set_xlabel("fraction of synthetic samples in the training set")
    ax.set_ylabel("mAP on real validation images")
    ax.set_title(f"Synthetic-data ablation ({title})", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
