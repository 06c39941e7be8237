"""The ablation's ultralytics path: export a mix as YOLO, train ``ultralytics.YOLO``, validate on real images."""

from __future__ import annotations

from pathlib import Path

import torch
import yaml
from torch.utils.data import Dataset

from marinegan.errors import ConfigError
from marinegan.export import export_dataset


def train_and_evaluate_yolo(mix: Dataset, real_val: Dataset, classes: list[str], run_dir: Path, val_dir: Path,
                            settings, seed: int, device: str | torch.device) -> dict:
    try:
        from ultralytics import YOLO
    except ImportError:
        raise ConfigError("trainer='ultralytics' needs ultralytics: pip install 'marinegan[ultralytics]'") from None
    if not (val_dir / "data.yaml").is_file():
        export_dataset(real_val, val_dir, "yolo", classes=classes, progress=False)
    if run_dir.exists():  # a run that was stopped part-way: start it again
        import shutil

        shutil.rmtree(run_dir)
    export_dataset(mix, run_dir / "train", "yolo", classes=classes, progress=False)
    data_yaml = run_dir / "data.yaml"
    names = {i - 1: n for i, n in enumerate(classes) if i > 0}
    data_yaml.write_text(yaml.safe_dump({"train": str((run_dir / "train" / "images").resolve()),
                                         "val": str((val_dir / "images").resolve()), "names": names}))
    dev = "cpu" if str(device) == "cpu" or not torch.cuda.is_available() else 0
    model = YOLO(settings.ultralytics_model)
    model.train(data=str(data_yaml), epochs=settings.epochs, batch=settings.batch_size, imgsz=settings.imgsz,
                seed=seed, deterministic=True, device=dev, workers=0, plots=False, project=str(run_dir),
                name="yolo", exist_ok=True, verbose=False, amp=False)
    metrics = model.val(data=str(data_yaml), split="val", device=dev, plots=False, verbose=False, batch=1)
    per_class = {classes[i + 1]: float(metrics.box.maps[i]) for i in range(len(classes) - 1)}
    return {"map": float(metrics.box.map), "map_50": float(metrics.box.map50), "map_75": float(metrics.box.map75),
            "per_class": per_class}
