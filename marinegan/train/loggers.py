"""Metric sinks: the local ``metrics.jsonl`` always, Weights & Biases and TensorBoard on request."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from marinegan.errors import ConfigError

BACKENDS = ("wandb", "tensorboard")


def check_backends(backends: list[str] | tuple[str, ...]) -> None:
    """Refuse unknown backends, or ones that are not installed, before a run starts (nothing is written)."""
    from marinegan.optional import require

    unknown = [b for b in backends if b not in BACKENDS]
    if unknown:
        raise ConfigError(f"unknown logging backends {unknown}; choose from {list(BACKENDS)}")
    for backend in dict.fromkeys(backends):
        require(backend, purpose=f"logging to {backend}")


class MetricLogger:
    """Writes one JSON line per record; forwards scalars to the external backends asked for."""

    def __init__(self, run_dir: Path, backends: list[str], config: dict[str, Any], resume_step: int = 0) -> None:
        unknown = [b for b in backends if b not in BACKENDS]
        if unknown:
            raise ConfigError(f"unknown logging backends {unknown}; choose from {list(BACKENDS)}")
        self.path = run_dir / "metrics.jsonl"
        if resume_step and self.path.is_file():  # drop records of steps that will be redone
            keep = [ln for ln in self.path.read_text().splitlines() if ln.strip() and json.loads(ln)["step"]
                    <= resume_step]
            self.path.write_text("".join(ln + "\n" for ln in keep))
        elif not resume_step:
            self.path.write_text("")
        self._file = open(self.path, "a")  # noqa: SIM115 (kept open for the run)
        self._wandb = self._tb = None
        if "wandb" in backends:
            try:
                import wandb
            except ImportError:
                raise ConfigError("logging to wandb was asked for but wandb is not installed: "
                                  "pip install 'marinegan[wandb]'") from None
            self._wandb = wandb.init(project="marinegan", dir=str(run_dir), config=config, resume="allow")
        if "tensorboard" in backends:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError:
                raise ConfigError("logging to tensorboard was asked for but tensorboard is not installed: "
                                  "pip install 'marinegan[tensorboard]'") from None
            self._tb = SummaryWriter(log_dir=str(run_dir / "tensorboard"))

    def log(self, record: dict[str, Any]) -> None:
        self._file.write(json.dumps(record) + "\n")
        self._file.flush()
        step = record["step"]
        scalars = {k: v for k, v in record.items() if k != "step" and isinstance(v, (int, float))}
        if self._wandb is not None:
            self._wandb.log(scalars, step=step)
        if self._tb is not None:
            for k, v in scalars.items():
                self._tb.add_scalar(k, v, step)

    def log_image(self, name: str, image, step: int) -> None:
        """Send a picture (a PIL image: the fixed-noise sample grid) to the external backends."""
        if self._wandb is not None:
            import wandb

            self._wandb.log({name: wandb.Image(image)}, step=step)
        if self._tb is not None:
            import numpy as np

            self._tb.add_image(name, np.asarray(image.convert("RGB")), step, dataformats="HWC")

    def close(self) -> None:
        self._file.close()
        if self._wandb is not None:
            self._wandb.finish()
        if self._tb is not None:
            self._tb.close()
