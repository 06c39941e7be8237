"""Atomic training checkpoints: written to a temporary file, then renamed over the old one.

A kill at any moment leaves either the previous checkpoint or the new one, never half a file.
Checkpoints are read with ``torch.load(weights_only=True)``: only tensors and plain containers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from marinegan.errors import WeightsError
from marinegan.fileio import atomic_write

CHECKPOINT_NAME = "checkpoint.pt"


def save_checkpoint(run_dir: Path, state: dict[str, Any]) -> Path:
    path = run_dir / CHECKPOINT_NAME
    atomic_write(path, lambda tmp: torch.save(state, tmp))
    return path


def load_checkpoint(run_dir: Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    path = run_dir / CHECKPOINT_NAME
    if not path.is_file():
        raise WeightsError(f"{path} does not exist: there is nothing to resume in {run_dir}")
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # a foreign or damaged file: say which and why
        raise WeightsError(f"{path} is not a readable marinegan checkpoint ({exc})") from None
